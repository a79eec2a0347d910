"""The LLM backend: Llama 3 on a SageMaker endpoint, through langchain-aws.

Calls go through LangChain's async API on the event loop (bot.core.llm.sagemaker: the langchain-aws
classes over an aiobotocore client), so an answer being streamed costs a socket, not a thread.
The client's connection pool is sized from `LLM_MAX_CONCURRENCY`, and an async semaphore is the
one place that limit is enforced: left to defaults, botocore opens at most 10 connections and
would silently cap how many people are answered at once."""

from __future__ import annotations

import asyncio
import logging
import platform
import random
import time
from importlib.metadata import version
from typing import Any, AsyncIterator, Protocol, Sequence

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    EventStreamError,
    NoCredentialsError,
    ReadTimeoutError,
)
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from bot.config import Settings
from bot.core.errors import (
    ConfigError,
    LLMBusy,
    LLMError,
    LLMModelError,
    LLMNoCredentials,
    LLMStreamCut,
    LLMTimeout,
)
from bot.core.llm.payloads import STOP_SEQUENCES, GenerateHandler, MessagesHandler
from bot.core.prompt import Turn, llama3_prompt, neutralize
from bot.core.llm.sagemaker import AsyncChatSagemakerEndpoint, AsyncSagemakerEndpoint

log = logging.getLogger(__name__)

_RETRYABLE_CODES = {
    "ThrottlingException",
    "ModelNotReadyException",
    "InternalFailure",
    "ServiceUnavailable",
    "InternalDependencyException",
}
_BUSY_CODES = {"ThrottlingException", "ModelNotReadyException"}


class ChatLLM(Protocol):
    def stream(self, turns: Sequence[Turn], *, max_new_tokens: int | None = None) -> AsyncIterator[str]: ...

    async def complete(self, turns: Sequence[Turn], *, max_new_tokens: int | None = None) -> str: ...


class _Retryable(Exception):
    """Internal marker: the failure is worth another try (throttled, 5xx, connection)."""

    def __init__(self, final: LLMError) -> None:
        super().__init__(str(final))
        self.final = final


def _classify(error: BaseException) -> LLMError | _Retryable:
    """Map a botocore / LangChain failure to the typed error a user message is chosen by."""
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in _BUSY_CODES or status == 429:
            return _Retryable(LLMBusy(code))
        if code in _RETRYABLE_CODES or status >= 500:
            return _Retryable(LLMError(code))
        # AWS's own words ("Endpoint x of account y not found.") are what `doctor` shows.
        message = error.response.get("Error", {}).get("Message", "")
        return LLMModelError(f"{code or status}: {message}" if message else code or str(status))
    if isinstance(error, EventStreamError):
        return LLMModelError("stream error")
    if isinstance(error, ReadTimeoutError):
        return LLMTimeout("read timeout")
    if isinstance(error, (EndpointConnectionError, ConnectTimeoutError)):
        return _Retryable(LLMError(f"connection: {error}"))
    if isinstance(error, NoCredentialsError):
        return LLMNoCredentials("no AWS credentials")
    if isinstance(error, BotoCoreError):
        return _Retryable(LLMError(type(error).__name__))
    return LLMError(type(error).__name__)


_USER_AGENT = (
    f"koreanbot/{version('bot')} aiobotocore/{version('aiobotocore')} botocore/{version('botocore')}"
    f" Python/{platform.python_version()}"
)


async def _client(settings: Settings) -> Any:
    config = AioConfig(
        max_pool_connections=settings.llm_max_concurrency,
        connect_timeout=settings.llm_connect_timeout_seconds,
        read_timeout=settings.llm_timeout_seconds,
        # Retries live in SagemakerChat, where they know whether text was already shown.
        retries={"total_max_attempts": 1, "mode": "standard"},
        tcp_keepalive=True,
        # Fixed, so built once: by default botocore rebuilds the User-Agent twice per request,
        # sanitizing it a character at a time, a fifth of its CPU per call (BENCHMARKS.md, fix 15).
        user_agent=_USER_AGENT,
    )
    creator = get_session().create_client(
        "sagemaker-runtime",
        region_name=settings.aws_region,
        endpoint_url=settings.sagemaker_endpoint_url,
        config=config,
    )
    return await creator.__aenter__()


def _to_messages(turns: Sequence[Turn]) -> list[BaseMessage]:
    kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
    return [kinds[turn.role](content=neutralize(turn.content.strip())) for turn in turns]


class SagemakerChat:
    """Streams and completes Llama 3 answers from a SageMaker endpoint."""

    def __init__(self, settings: Settings) -> None:
        settings.require_llm()
        self.settings = settings
        self._slots = asyncio.Semaphore(settings.llm_max_concurrency)
        # The aiobotocore client belongs to the event loop that creates it, so it is made on
        # first use, inside the loop that serves the bot.
        self._client: Any = None
        self._model: Any = None
        self._creating = asyncio.Lock()

    async def _langchain_model(self) -> Any:
        if self._model is not None:
            return self._model
        async with self._creating:
            if self._model is None:
                try:
                    self._client = await _client(self.settings)
                except Exception as error:
                    raise ConfigError(f"SageMaker client could not be created: {type(error).__name__}") from None
                self._model = self._build_model(self._client)
        return self._model

    def _build_model(self, client: Any) -> Any:
        common: dict[str, Any] = {
            "client": client,
            "endpoint_name": self.settings.sagemaker_endpoint_name,
            "inference_component_name": self.settings.sagemaker_inference_component,
            "model_kwargs": self._parameters(self.settings.llm_max_new_tokens),
            "endpoint_kwargs": self._endpoint_kwargs(self.settings),
        }
        if self.settings.sagemaker_payload_schema == "messages":
            return AsyncChatSagemakerEndpoint(content_handler=MessagesHandler(), **common)
        return AsyncSagemakerEndpoint(content_handler=GenerateHandler(), **common)

    def _parameters(self, max_new_tokens: int) -> dict[str, Any]:
        return {
            "max_new_tokens": max_new_tokens,
            "top_p": self.settings.llm_top_p,
            "temperature": self.settings.llm_temperature,
            "stop": list(STOP_SEQUENCES),
        }

    @staticmethod
    def _endpoint_kwargs(settings: Settings) -> dict[str, Any]:
        if settings.sagemaker_custom_attributes:
            return {"CustomAttributes": settings.sagemaker_custom_attributes}
        return {}

    def _model_input(self, turns: Sequence[Turn]) -> str | list[BaseMessage]:
        if isinstance(self._model, AsyncChatSagemakerEndpoint):
            return _to_messages(turns)
        return llama3_prompt(turns)

    @staticmethod
    def _text(output: Any) -> str:
        """LLMs answer a str, chat models a message (streaming: a message chunk)."""
        return output if isinstance(output, str) else str(output.content)

    async def stream(
        self, turns: Sequence[Turn], *, max_new_tokens: int | None = None
    ) -> AsyncIterator[str]:
        """Text deltas of the answer. Retries only while nothing has been yielded."""
        tokens = max_new_tokens or self.settings.llm_max_new_tokens
        deadline = time.monotonic() + self.settings.llm_timeout_seconds
        for attempt in range(self.settings.llm_max_retries + 1):
            shown = False
            try:
                async for delta in self._attempt_stream(turns, tokens, deadline):
                    shown = True
                    yield delta
                return
            except _Retryable as retry:
                if shown:
                    raise LLMStreamCut(str(retry)) from None
                await self._backoff(attempt, retry.final, deadline)
            except LLMError as error:
                if shown and not isinstance(error, LLMTimeout):
                    raise LLMStreamCut(str(error)) from None
                raise

    async def complete(self, turns: Sequence[Turn], *, max_new_tokens: int | None = None) -> str:
        tokens = max_new_tokens or self.settings.llm_max_new_tokens
        deadline = time.monotonic() + self.settings.llm_timeout_seconds
        model = await self._langchain_model()
        for attempt in range(self.settings.llm_max_retries + 1):
            try:
                async with self._slots, asyncio.timeout(deadline - time.monotonic()):
                    answer = await model.ainvoke(self._model_input(turns), max_new_tokens=tokens)
                    return self._text(answer).strip()
            except TimeoutError:
                raise LLMTimeout("deadline") from None
            except Exception as error:
                verdict = _classify(error)
                if not isinstance(verdict, _Retryable):
                    raise verdict from None
                await self._backoff(attempt, verdict.final, deadline)
        raise AssertionError("unreachable: _backoff raises after the last attempt")

    async def _attempt_stream(
        self, turns: Sequence[Turn], tokens: int, deadline: float
    ) -> AsyncIterator[str]:
        model = await self._langchain_model()
        try:
            async with self._slots, asyncio.timeout(deadline - time.monotonic()):
                chunks = model.astream(self._model_input(turns), stream=True, max_new_tokens=tokens)
                async for chunk in chunks:
                    if text := self._text(chunk):
                        yield text
        except TimeoutError:
            raise LLMTimeout("deadline") from None
        except Exception as error:
            raise _classify(error) from None

    async def _backoff(self, attempt: int, final: LLMError, deadline: float) -> None:
        if attempt >= self.settings.llm_max_retries:
            raise final
        # Full jitter: replicas that were throttled together should not retry together.
        delay = random.uniform(0, self.settings.llm_retry_base_seconds * 2**attempt)
        if time.monotonic() + delay >= deadline:
            raise final
        log.info("LLM call failed (%s); retry %d in %.2fs", final, attempt + 1, delay)
        await asyncio.sleep(delay)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = self._model = None


def build_llm(settings: Settings) -> SagemakerChat:
    """The configured backend; ConfigError names what is missing."""
    return SagemakerChat(settings)
