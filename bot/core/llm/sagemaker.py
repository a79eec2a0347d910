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
from typing import Any, AsyncIterator

from botocore.eventstream import EventStreamBuffer
from langchain_aws import SagemakerEndpoint
from langchain_aws.chat_models.sagemaker_endpoint import ChatSagemakerEndpoint
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult, GenerationChunk


async def payload_reads(stream: Any) -> AsyncIterator[bytes]:
    """The payload bytes of a response stream (an aiobotocore event stream), as much as each
    network read brought.

    Two shortcuts over iterating the event stream, both measured (BENCHMARKS.md, fix 13), and both
    on botocore's own pieces: the wire format is decoded by botocore's EventStreamBuffer, but a
    PayloadPart event (every event of an answer but the errors) is taken as decoded, skipping
    botocore's generic shape parser, which cost as much again per token; and the tokens of one
    read travel up together, so a busy process handles fewer, larger chunks instead of falling
    further behind. Every other event goes through the stream's own parser, so an endpoint error
    raises the same EventStreamError as before."""
    decoder = EventStreamBuffer()
    # aiobotocore exposes neither the raw response nor the per-event parser publicly; the
    # streaming tests (tests/test_core_llm.py, tests/reliability) fail if either moves.
    content = stream._raw_stream.content
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


async def _stream_lines(client: Any, params: dict[str, Any]) -> AsyncIterator[list[bytes]]:
    response = await client.invoke_endpoint_with_response_stream(**params)
    body = response["Body"]
    try:
        async for lines in payload_lines(payload_reads(body)):
            yield lines
    finally:
        # An answer abandoned half-way must give its connection back now, not at garbage collection.
        body.close()


async def _whole_body(client: Any, params: dict[str, Any]) -> io.BytesIO:
    """The response body, as the readable object the content handlers expect from botocore."""
    response = await client.invoke_endpoint(**params)
    async with response["Body"] as body:
        return io.BytesIO(await body.read())


class AsyncSagemakerEndpoint(SagemakerEndpoint):
    """`SagemakerEndpoint` (the `inputs` schema: LMI, TGI) with `astream` and `ainvoke` on the loop."""

    def _invocation(self, prompt: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {
            "EndpointName": self.endpoint_name,
            "Body": self.content_handler.transform_input(prompt, {**(self.model_kwargs or {}), **kwargs}),
            "ContentType": self.content_handler.content_type,
            "Accept": self.content_handler.accepts,
            **(self.endpoint_kwargs or {}),
        }
        if self.inference_component_name:
            params["InferenceComponentName"] = self.inference_component_name
        return params

    async def _astream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[GenerationChunk]:
        async for lines in _stream_lines(self.client, self._invocation(prompt, kwargs)):
            text = "".join(self.content_handler.transform_output(line) for line in lines)
            if text:
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
        body = await _whole_body(self.client, self._invocation(prompt, kwargs))
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
        params = self._format_messages_request(messages=messages, **kwargs)
        async for lines in _stream_lines(self.client, params):
            text = "".join(str(self.content_handler.transform_output(line).content) for line in lines)
            if text:
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
                if run_manager:
                    await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                yield chunk

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        body = await _whole_body(self.client, self._format_messages_request(messages=messages, **kwargs))
        return ChatResult(generations=[ChatGeneration(message=self.content_handler.transform_output(body))])
