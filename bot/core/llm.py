"""The LLM backend: Llama 3 on a SageMaker endpoint, through langchain-aws.

LangChain's SageMaker classes are synchronous. Left to defaults they would run in the event
loop's default executor (a handful of threads on a small machine) over a boto3 client that opens
at most 10 connections, silently capping how many people are answered at once. Here both the
thread pool and the connection pool are sized from `LLM_MAX_CONCURRENCY`, and an async semaphore
is the one place that limit is enforced."""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
import weakref
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any, AsyncIterator, Callable, Iterator, Protocol, Sequence

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    EventStreamError,
    NoCredentialsError,
    ReadTimeoutError,
)
from langchain_aws import SagemakerEndpoint
from langchain_aws.chat_models.sagemaker_endpoint import ChatSagemakerEndpoint
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from bot.config import Settings
from bot.core.errors import (
    ConfigError,
    LLMBusy,
    LLMError,
    LLMModelError,
    LLMStreamCut,
    LLMTimeout,
)
from bot.core.payloads import STOP_SEQUENCES, GenerateHandler, MessagesHandler
from bot.core.prompt import Turn, llama3_prompt, neutralize

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
        return LLMModelError(code or str(status))
    if isinstance(error, EventStreamError):
        return LLMModelError("stream error")
    if isinstance(error, ReadTimeoutError):
        return LLMTimeout("read timeout")
    if isinstance(error, (EndpointConnectionError, ConnectTimeoutError)):
        return _Retryable(LLMError("connection"))
    if isinstance(error, NoCredentialsError):
        return LLMError("no AWS credentials")
    if isinstance(error, BotoCoreError):
        return _Retryable(LLMError(type(error).__name__))
    return LLMError(type(error).__name__)


def _client(settings: Settings, pool: int) -> Any:
    config = Config(
        max_pool_connections=pool,
        connect_timeout=settings.llm_connect_timeout_seconds,
        read_timeout=settings.llm_timeout_seconds,
        # Retries live in SagemakerChat, where they know whether text was already shown.
        retries={"total_max_attempts": 1, "mode": "standard"},
        tcp_keepalive=True,
    )
    return boto3.session.Session().client(
        "sagemaker-runtime",
        region_name=settings.aws_region,
        endpoint_url=settings.sagemaker_endpoint_url,
        config=config,
    )


def _to_messages(turns: Sequence[Turn]) -> list[BaseMessage]:
    kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
    return [kinds[turn.role](content=neutralize(turn.content.strip())) for turn in turns]


class _Waker:
    """Wakes the event loop for every pump with new items, with one loop callback for all.

    Each wake-up from a worker thread is a write to the loop's self-pipe and a pass of the loop;
    with hundreds of streams a token each, one per stream per token was the bulk of the bridging
    cost. Pumps that fill while a wake-up is pending ride on it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._ready: list[_Pump] = []

    def wake(self, pump: "_Pump") -> None:
        with self._lock:
            self._ready.append(pump)
            if len(self._ready) > 1:
                return  # a wake-up is already on its way
        try:
            self._loop.call_soon_threadsafe(self._drain)
        except RuntimeError:  # the loop closed while the thread was still reading
            pump.cancelled.set()

    def _drain(self) -> None:
        with self._lock:
            ready, self._ready = self._ready, []
        for pump in ready:
            pump._wake.set()


class _Pump:
    """Runs a blocking iterator in a worker thread and hands its items to the event loop.

    Items are batched in a deque with at most one pending wake-up, so a fast token stream costs
    the loop one callback per batch rather than one per token."""

    def __init__(self, waker: _Waker) -> None:
        self._waker = waker
        self._items: deque[str] = deque()
        self._lock = threading.Lock()
        self._wake = asyncio.Event()
        self._scheduled = False
        self.done = False
        self.error: BaseException | None = None
        self.cancelled = threading.Event()

    def run(self, source: Callable[[], Iterator[str]]) -> None:
        try:
            for item in source():
                if self.cancelled.is_set():
                    return
                with self._lock:
                    self._items.append(item)
                self._signal()
        except BaseException as error:  # handed to the async side, which classifies it
            self.error = error
        finally:
            self.done = True
            self._signal()

    def _signal(self) -> None:
        with self._lock:
            if self._scheduled:
                return
            self._scheduled = True
        self._waker.wake(self)

    async def items(self) -> AsyncIterator[str]:
        while True:
            await self._wake.wait()
            with self._lock:
                self._wake.clear()
                self._scheduled = False
                batch = list(self._items)
                self._items.clear()
            for item in batch:
                yield item
            if self.done and not self._items:
                return


class SagemakerChat:
    """Streams and completes Llama 3 answers from a SageMaker endpoint."""

    def __init__(self, settings: Settings) -> None:
        settings.require_llm()
        self.settings = settings
        self._slots = asyncio.Semaphore(settings.llm_max_concurrency)
        # Threads abandoned by a timed-out call keep a socket until botocore's read timeout;
        # spare workers keep them from delaying the next caller.
        workers = settings.llm_max_concurrency * 2
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="llm")
        self._wakers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Waker] = weakref.WeakKeyDictionary()
        client = _client(settings, pool=workers)
        common: dict[str, Any] = {
            "client": client,
            "endpoint_name": settings.sagemaker_endpoint_name,
            "inference_component_name": settings.sagemaker_inference_component,
            "model_kwargs": self._parameters(settings.llm_max_new_tokens),
            "endpoint_kwargs": self._endpoint_kwargs(settings),
        }
        if settings.sagemaker_payload_schema == "messages":
            self._chat = ChatSagemakerEndpoint(content_handler=MessagesHandler(), **common)
            self._llm = None
        else:
            self._llm = SagemakerEndpoint(content_handler=GenerateHandler(), **common)
            self._chat = None

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

    def _blocking_stream(self, turns: Sequence[Turn], max_new_tokens: int) -> Iterator[str]:
        overrides = {"stream": True, "max_new_tokens": max_new_tokens}
        if self._chat is not None:
            for chunk in self._chat.stream(_to_messages(turns), **overrides):
                if chunk.content:
                    yield str(chunk.content)
        else:
            assert self._llm is not None
            yield from self._llm.stream(llama3_prompt(turns), **overrides)

    def _blocking_complete(self, turns: Sequence[Turn], max_new_tokens: int) -> str:
        overrides = {"max_new_tokens": max_new_tokens}
        if self._chat is not None:
            return str(self._chat.invoke(_to_messages(turns), **overrides).content)
        assert self._llm is not None
        return self._llm.invoke(llama3_prompt(turns), **overrides)

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
        loop = asyncio.get_running_loop()
        for attempt in range(self.settings.llm_max_retries + 1):
            try:
                async with self._slots, asyncio.timeout(deadline - time.monotonic()):
                    call = loop.run_in_executor(
                        self._executor, self._blocking_complete, turns, tokens
                    )
                    return (await call).strip()
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
        loop = asyncio.get_running_loop()
        waker = self._wakers.get(loop)
        if waker is None:
            waker = self._wakers[loop] = _Waker(loop)
        pump = _Pump(waker)
        try:
            async with self._slots, asyncio.timeout(deadline - time.monotonic()):
                worker = loop.run_in_executor(
                    self._executor, pump.run, lambda: self._blocking_stream(turns, tokens)
                )
                async for delta in pump.items():
                    yield delta
                await worker
        except TimeoutError:
            raise LLMTimeout("deadline") from None
        finally:
            pump.cancelled.set()
        if pump.error is not None:
            verdict = _classify(pump.error)
            raise verdict

    async def _backoff(self, attempt: int, final: LLMError, deadline: float) -> None:
        if attempt >= self.settings.llm_max_retries:
            raise final
        # Full jitter: replicas that were throttled together should not retry together.
        delay = random.uniform(0, self.settings.llm_retry_base_seconds * 2**attempt)
        if time.monotonic() + delay >= deadline:
            raise final
        log.info("LLM call failed (%s); retry %d in %.2fs", final, attempt + 1, delay)
        await asyncio.sleep(delay)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def build_llm(settings: Settings) -> SagemakerChat:
    try:
        return SagemakerChat(settings)
    except ConfigError:
        raise
    except Exception as error:
        raise ConfigError(f"SageMaker client could not be created: {type(error).__name__}") from None
