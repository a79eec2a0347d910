"""langchain-aws's SageMaker classes with native async calls, over an aiobotocore client.

langchain-aws implements only the synchronous calls; LangChain's async methods run those in a
thread per call, and a streamed answer then costs a thread wake-up and a GIL hand-off per token.
With hundreds of answers streaming at once that, not the model, was the bot's limit (see
BENCHMARKS.md). These subclasses send the very same requests (the same content handlers build and
parse the payloads, the same invocation parameters) through aiobotocore: botocore's serializers,
request signer, credential chain and event-stream parser, with aiohttp as the transport. So an
open answer is a socket on the event loop, not a thread.

`client` must be an aiobotocore `sagemaker-runtime` client: these classes are async only."""

from __future__ import annotations

import io
import re
from importlib.metadata import version
from typing import Any, AsyncIterator, Callable

from botocore.eventstream import EventStreamBuffer
from langchain_aws import SagemakerEndpoint
from langchain_aws.chat_models.sagemaker_endpoint import ChatSagemakerEndpoint
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun
from langchain_core.messages import AIMessageChunk, BaseMessage, merge_message_runs
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult, GenerationChunk

def _release(text: str) -> tuple[int, int]:
    major, minor = (re.findall(r"\d+", text) + ["0", "0"])[:2]
    return int(major), int(minor)


# The aiobotocore releases (from, below) whose private event-stream pieces (`_raw_stream`,
# `_parse_event`) the streaming tests ran against: the same range as in pyproject.toml. Outside
# it, or when either piece has gone, the stream is read through its public iteration instead.
TESTED_AIOBOTOCORE = ((3, 10), (4, 0))
EVENT_STREAM_SHORTCUT = TESTED_AIOBOTOCORE[0] <= _release(version("aiobotocore")) < TESTED_AIOBOTOCORE[1]


def shortcut_fits(stream: Any) -> bool:
    """Whether the fast way of reading `stream` fits it: a tested aiobotocore whose event stream
    still has the pieces that way reads."""
    raw = getattr(stream, "_raw_stream", None)
    return EVENT_STREAM_SHORTCUT and hasattr(raw, "content") and hasattr(stream, "_parse_event")


async def payload_reads(stream: Any) -> AsyncIterator[bytes]:
    """The payload bytes of a response stream (an aiobotocore event stream): as much as each
    network read brought where the shortcut fits, else event by event."""
    reads = _payload_reads_shortcut(stream) if shortcut_fits(stream) else _payload_parts(stream)
    async for data in reads:
        yield data


async def _payload_parts(stream: Any) -> AsyncIterator[bytes]:
    """The public way: botocore parses every event; an error event raises EventStreamError."""
    async for event in stream:
        if part := event.get("PayloadPart"):
            yield part["Bytes"]


async def _payload_reads_shortcut(stream: Any) -> AsyncIterator[bytes]:
    """Two shortcuts over iterating the event stream, both measured (BENCHMARKS.md, fix 13), and
    both on botocore's own pieces: the wire format is decoded by botocore's EventStreamBuffer, but
    a PayloadPart event (every event of an answer but the errors) is taken as decoded, skipping
    botocore's generic shape parser, which cost as much again per token; and the tokens of one
    read travel up together, so a busy process handles fewer, larger chunks instead of falling
    further behind. Every other event goes through the stream's own parser, so an endpoint error
    raises the same EventStreamError as the public way.

    `stream._raw_stream.content` is the aiohttp response body, which aiobotocore's own
    `_create_raw_event_generator` reads, and `stream._parse_event` its per-event parser; the
    streaming tests (tests/test_core_llm.py) run this way and the public one."""
    content = stream._raw_stream.content
    decoder = EventStreamBuffer()
    while data := await content.readany():
        decoder.add_data(data)
        parts = []
        for message in decoder:
            headers = message.headers
            if headers.get(":message-type") == "event" and headers.get(":event-type") == "PayloadPart":
                parts.append(message.payload)
                continue
            if parts:  # the text before an error is shown before the error is
                yield b"".join(parts)
                parts = []
            await stream._parse_event(message)
        if parts:
            yield b"".join(parts)


async def payload_lines(reads: AsyncIterator[bytes]) -> AsyncIterator[list[bytes]]:
    """The complete lines of each read of a response stream's payload.

    SageMaker cuts payload parts at arbitrary byte offsets, even inside a Hangul character, so
    bytes are buffered and split on newlines before anything is decoded. A last line without a
    newline is still a line."""
    buffer = b""
    async for data in reads:
        *lines, buffer = (buffer + data).split(b"\n")
        if lines:
            yield lines
    if buffer:
        yield [buffer]


async def _stream_texts(
    client: Any, params: dict[str, Any], text_of: Callable[[bytes], str]
) -> AsyncIterator[str]:
    """The text of each read of a streamed answer, `text_of` reading one line of the stream."""
    response = await client.invoke_endpoint_with_response_stream(**params)
    body = response["Body"]
    try:
        async for lines in payload_lines(payload_reads(body)):
            if text := "".join(text_of(line) for line in lines):
                yield text
    finally:
        # An answer abandoned half-way must give its connection back now, not at garbage collection.
        body.close()


async def _whole_body(client: Any, params: dict[str, Any]) -> io.BytesIO:
    """The response body, as the readable object the content handlers expect from botocore."""
    response = await client.invoke_endpoint(**params)
    async with response["Body"] as body:
        return io.BytesIO(await body.read())


def _invocation(
    model: SagemakerEndpoint | ChatSagemakerEndpoint, model_input: Any, kwargs: dict[str, Any]
) -> dict[str, Any]:
    """The InvokeEndpoint parameters langchain-aws's own calls send, from the model's public fields."""
    params: dict[str, Any] = {
        "EndpointName": model.endpoint_name,
        "Body": model.content_handler.transform_input(model_input, {**(model.model_kwargs or {}), **kwargs}),
        "ContentType": model.content_handler.content_type,
        "Accept": model.content_handler.accepts,
        **(model.endpoint_kwargs or {}),
    }
    if model.inference_component_name:
        params["InferenceComponentName"] = model.inference_component_name
    return params


_ROLES = {"system": "system", "human": "user", "ai": "assistant"}


def _sagemaker_messages(messages: list[BaseMessage]) -> list[dict[str, Any]]:
    """The Messages API `messages` as ChatSagemakerEndpoint sends them (one message per run of a
    role, the system message first), built with langchain-core's public `merge_message_runs`
    rather than langchain-aws's private builder."""
    merged = merge_message_runs(messages)
    turns = [{"role": _ROLES[message.type], "content": message.content} for message in merged]
    return sorted(turns, key=lambda turn: turn["role"] != "system")


class AsyncSagemakerEndpoint(SagemakerEndpoint):
    """`SagemakerEndpoint` (the `inputs` schema: LMI, TGI) with `astream` and `ainvoke` on the loop."""

    async def _astream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[GenerationChunk]:
        params = _invocation(self, prompt, kwargs)
        async for text in _stream_texts(self.client, params, self.content_handler.transform_output):
            chunk = GenerationChunk(text=text)
            if run_manager:
                await run_manager.on_llm_new_token(text, chunk=chunk)
            yield chunk

    async def _acall(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> str:
        body = await _whole_body(self.client, _invocation(self, prompt, kwargs))
        return self.content_handler.transform_output(body)


class AsyncChatSagemakerEndpoint(ChatSagemakerEndpoint):
    """`ChatSagemakerEndpoint` (the OpenAI-style `messages` schema) with native async calls."""

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        params = _invocation(self, _sagemaker_messages(messages), kwargs)
        async for text in _stream_texts(self.client, params, self._line_text):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
            if run_manager:
                await run_manager.on_llm_new_token(text, chunk=chunk)
            yield chunk

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        body = await _whole_body(self.client, _invocation(self, _sagemaker_messages(messages), kwargs))
        return ChatResult(generations=[ChatGeneration(message=self.content_handler.transform_output(body))])

    def _line_text(self, line: bytes) -> str:
        return str(self.content_handler.transform_output(line).content)
