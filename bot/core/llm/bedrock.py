"""Amazon Bedrock through langchain-aws's `ChatBedrockConverse`, on the event loop.

`ChatBedrockConverse` is synchronous: LangChain would run each answer in a thread, the very cost
bot.core.llm.sagemaker removes for SageMaker. So the request is built by ChatBedrockConverse
itself (its message conversion, system blocks, inference parameters, image blocks: everything it
would hand boto3's `converse_stream`) and sent by an aiobotocore `bedrock-runtime` client, whose
event stream botocore parses. The request is taken at the one place ChatBedrockConverse hands it
over, its public `client` field: a stand-in client that keeps the arguments instead of sending
them. The tests assert the exact request that reaches the server, so a langchain-aws release that
builds it differently is caught there."""

from __future__ import annotations

from typing import Any, AsyncIterator, Sequence

from botocore.exceptions import ClientError
from langchain_aws import ChatBedrockConverse
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field

from bot.core.errors import ConfigError, LLMBusy, LLMError, LLMTimeout
from bot.core.llm.client import aws_client, classify_aws_error
from bot.core.llm.retrying import ContextTooLong, Retryable, RetryingChat, chat_messages, says_too_long
from bot.core.pictures import Picture
from bot.core.prompt import Turn

# Bedrock runtime error codes (API reference, Converse and ConverseStream "Errors"); inside an
# event stream they arrive with a lowercase first letter (throttlingException).
_BUSY = {"ThrottlingException", "ServiceQuotaExceededException", "ModelNotReadyException"}
_OUTAGE = {"InternalServerException", "ServiceUnavailableException", "ModelStreamErrorException"}
# No access to the model (not enabled in the console, IAM) or no such model in the region: the
# operator's to fix, which the user is told as a configuration problem.
_SETUP = {"AccessDeniedException", "ResourceNotFoundException"}


class _Captured(Exception):
    def __init__(self, request: dict[str, Any]) -> None:
        super().__init__("request captured")
        self.request = request


class _RequestTaker:
    """Stands where ChatBedrockConverse expects its boto3 client: takes the request instead of
    sending it."""

    def converse_stream(self, **request: Any) -> Any:
        raise _Captured(request)


class StreamEndedEarly(ConnectionError):
    """The event stream closed before `messageStop`."""


class AsyncChatBedrockConverse(ChatBedrockConverse):
    """`ChatBedrockConverse` with `astream` and `ainvoke` sent by the aiobotocore client `aclient`."""

    aclient: Any = Field(default=None, exclude=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(client=_RequestTaker(), bedrock_client=_RequestTaker(), **kwargs)

    def request(self, messages: list[BaseMessage], stop: list[str] | None = None, **kwargs: Any) -> dict[str, Any]:
        """The ConverseStream (and Converse: the same members) request for `messages`."""
        try:
            next(self._stream(messages, stop=stop, **kwargs))
        except _Captured as captured:
            return captured.request
        raise AssertionError("ChatBedrockConverse sent no request")

    async def _astream(
        self, messages: list[BaseMessage], stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None, **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:  # fmt: skip
        response = await self.aclient.converse_stream(**self.request(messages, stop, **kwargs))
        stream = response["stream"]
        finished = False
        try:
            async for event in stream:
                if "messageStop" in event:
                    finished = True
                chunk = _chunk(event)
                if chunk is None:
                    continue
                if run_manager and chunk.text:
                    await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                yield chunk
        finally:
            # An answer abandoned half-way gives its connection back now, not at garbage collection.
            stream.close()
        if not finished:
            raise StreamEndedEarly("the event stream ended before messageStop")

    async def _agenerate(
        self, messages: list[BaseMessage], stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None, **kwargs: Any,
    ) -> ChatResult:  # fmt: skip
        response = await self.aclient.converse(**self.request(messages, stop, **kwargs))
        blocks = response["output"]["message"]["content"]
        text = "".join(block.get("text", "") for block in blocks)
        message = AIMessage(content=text, usage_metadata=_usage(response.get("usage")))
        return ChatResult(generations=[ChatGeneration(message=message)])


def _chunk(event: dict[str, Any]) -> ChatGenerationChunk | None:
    """The text of a `contentBlockDelta`, or the token counts of `metadata`; other events
    (messageStart, contentBlockStart/Stop, messageStop) carry nothing to show."""
    if delta := event.get("contentBlockDelta"):
        text = delta.get("delta", {}).get("text")
        return ChatGenerationChunk(message=AIMessageChunk(content=text)) if text else None
    if metadata := event.get("metadata"):
        usage = _usage(metadata.get("usage"))
        return ChatGenerationChunk(message=AIMessageChunk(content="", usage_metadata=usage)) if usage else None
    return None


def _usage(usage: dict[str, int] | None) -> UsageMetadata | None:
    if not usage:
        return None
    return UsageMetadata(
        input_tokens=usage.get("inputTokens", 0),
        output_tokens=usage.get("outputTokens", 0),
        total_tokens=usage.get("totalTokens", 0),
    )


def classify_bedrock_error(error: BaseException) -> LLMError | ConfigError | Retryable:
    if isinstance(error, StreamEndedEarly):
        return Retryable(LLMError("stream ended early"))
    if not isinstance(error, ClientError):
        return classify_aws_error(error)
    details = error.response.get("Error", {})
    code = str(details.get("Code", ""))
    code = code[:1].upper() + code[1:]
    message = str(details.get("Message", ""))
    if code in _BUSY:
        return Retryable(LLMBusy(code))
    if code == "ModelTimeoutException":
        return Retryable(LLMTimeout(code))
    if code in _OUTAGE:
        return Retryable(LLMError(code))
    if code == "ValidationException" and says_too_long(message):
        return ContextTooLong(message)
    if code in _SETUP:
        # AWS's own words ("You don't have access to the model with the specified model ID.")
        return ConfigError(f"{code}: {message}")
    return classify_aws_error(error)


class BedrockChat(RetryingChat):
    """Streams and completes answers from a Bedrock model or inference profile (Converse API)."""

    _client: Any = None

    async def _create_model(self) -> Any:
        self._client = await aws_client(self.settings, "bedrock-runtime", self.settings.bedrock_endpoint_url)
        return AsyncChatBedrockConverse(
            aclient=self._client,
            model_id=self.settings.bedrock_model_id,
            region_name=self.settings.aws_region,
            temperature=self.settings.llm_temperature,
            top_p=self.settings.llm_top_p,
            max_tokens=self.settings.llm_max_new_tokens,
            # Every Converse model streams text; langchain-aws's table of which do is for tools.
            disable_streaming=False,
        )

    def _model_input(self, turns: Sequence[Turn], pictures: Sequence[Picture]) -> list[BaseMessage]:
        return chat_messages(turns, pictures)

    def _options(self, max_new_tokens: int, *, stream: bool) -> dict[str, Any]:
        return {"max_tokens": max_new_tokens}

    def _classify(self, error: BaseException) -> LLMError | ConfigError | Retryable:
        return classify_bedrock_error(error)

    async def _close_model(self) -> None:
        await self._client.close()
