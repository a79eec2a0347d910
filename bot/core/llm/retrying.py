"""What every model provider shares: a bounded number of calls in flight, one deadline per
answer, retries with backoff on throttling and outages (only while no text has been shown), and
one more try with the oldest history dropped when the server says the prompt is too long.

A provider supplies the LangChain chat model (created on first use, inside the serving event
loop), what it is given for a list of turns, its per-call options, and how its library's errors
map onto `bot.core.errors`."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from abc import ABC, abstractmethod
from typing import Any, AsyncIterator, Sequence

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from bot.config import Settings
from bot.core.errors import BotError, ConfigError, LLMError, LLMModelError, LLMStreamCut, LLMTimeout, MessageTooLong
from bot.core.llm.line import Line
from bot.core.metrics import MODEL_ERRORS, MODEL_REACHABLE, WAITING
from bot.core.pictures import Picture
from bot.core.prompt import Turn, neutralize
from bot.core.usage import Meter, ModelCall

log = logging.getLogger(__name__)

# How servers say the prompt does not fit (vLLM, TGI, llama.cpp, OpenAI, Bedrock's Llama and
# others; langchain-aws and langchain-openai match the same words), lowercased.
_TOO_LONG_WORDS = (
    "maximum context length",
    "context_length_exceeded",
    "context length",
    "context size",
    "context window",
    "too many input tokens",
    "input is too long",
    "prompt is too long",
)


class Retryable(Exception):
    """The failure is worth another try (throttled, 5xx, connection); `final` if none is left."""

    def __init__(self, final: LLMError) -> None:
        super().__init__(str(final))
        self.final = final


class ContextTooLong(LLMModelError):
    """The server refused the prompt as longer than its context."""


def says_too_long(message: str) -> bool:
    lowered = message.lower()
    return any(words in lowered for words in _TOO_LONG_WORDS)


def chat_messages(turns: Sequence[Turn], pictures: Sequence[Picture] = ()) -> list[BaseMessage]:
    """Turns as LangChain messages, special-token text neutralized (servers apply the chat
    template and tokenize it as real special tokens, too); pictures go with the last user turn,
    before its text, in the OpenAI `image_url` form that every provider here reads."""
    kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
    messages = [kinds[turn.role](content=neutralize(turn.content.strip())) for turn in turns]
    if pictures:
        last = messages[-1]
        parts: list[str | dict[str, Any]] = [picture.content_block() for picture in pictures]
        messages[-1] = HumanMessage(content=[*parts, {"type": "text", "text": last.text}])
    return messages


def without_oldest_history(turns: Sequence[Turn]) -> list[Turn] | None:
    """`turns` with the older half of its past exchanges dropped (the system prompt and the new
    message stay); None when there is no history left to drop."""
    history = [i for i, turn in enumerate(turns) if turn.role == "assistant"]
    if not history:
        return None
    cut = history[(len(history) - 1) // 2]  # the answer ending the older half
    return [turns[0], *turns[cut + 1 :]] if turns[0].role == "system" else list(turns[cut + 1 :])


def _shorter(turns: Sequence[Turn], trimmed: bool) -> list[Turn]:
    """After the server refused `turns` as too long: the same without the oldest history, once
    (the count of the prompt was wrong for this model, or LLM_CONTEXT_TOKENS is set too high)."""
    shorter = None if trimmed else without_oldest_history(turns)
    if shorter is None:
        raise MessageTooLong("the model's server refused the prompt as too long")
    log.info("The model's server found the prompt too long; trying again without the oldest history")
    return shorter


class Slots:
    """The model's calls in flight, at most `size`; the ones past it wait in the order they came
    (asyncio's Semaphore wakes its waiters first come, first served)."""

    def __init__(self, size: int) -> None:
        self._semaphore = asyncio.Semaphore(size)
        self._line = Line()

    @property
    def queue(self) -> int | None:
        """None when a new call would start at once; else how many calls wait already."""
        return len(self._line) if self._semaphore.locked() else None

    async def __aenter__(self) -> None:
        if not self._semaphore.locked():  # a slot is free: no line to stand in
            await self._semaphore.acquire()
            return
        waiting = self._line.join()
        try:
            with WAITING.track_inprogress():
                await self._semaphore.acquire()
        finally:
            self._line.leave(waiting)

    async def __aexit__(self, *exc: object) -> None:
        self._semaphore.release()


def text_of(output: Any) -> str:
    """LLMs answer a str, chat models a message (streaming: a message chunk)."""
    return output if isinstance(output, str) else str(output.text)


class RetryingChat(ABC):
    """A `ChatLLM` over one LangChain model, with the loop every provider shares."""

    def __init__(self, settings: Settings) -> None:
        settings.require_llm()
        self.settings = settings
        self._slots = Slots(settings.llm_max_concurrency)
        # Clients belong to the event loop that creates them, so the model is made on first
        # use, inside the loop that serves the bot.
        self._model: Any = None
        self._creating = asyncio.Lock()

    @property
    def queue(self) -> int | None:
        return self._slots.queue

    @abstractmethod
    async def _create_model(self) -> Any:
        """The LangChain model; ConfigError when its client cannot be made."""

    @abstractmethod
    def _model_input(self, turns: Sequence[Turn], pictures: Sequence[Picture]) -> Any: ...

    @abstractmethod
    def _options(self, max_new_tokens: int, *, stream: bool) -> dict[str, Any]:
        """Keyword arguments of one call (the answer's length, streaming)."""

    @abstractmethod
    def _classify(self, error: BaseException) -> LLMError | ConfigError | Retryable:
        """The typed error a user message is chosen by, or Retryable."""

    async def _close_model(self) -> None:
        """Give back what `_create_model` opened."""

    def _ends_answer(self, chunk: Any) -> bool | None:
        """Whether streamed `chunk` says the answer is complete (a stream that closes without
        saying so was cut); None where the provider's stream says nothing of the kind."""
        return None

    def _judge(self, error: BaseException) -> LLMError | ConfigError | Retryable:
        """`_classify`, with the failure counted and what it says of the endpoint noted."""
        verdict = LLMTimeout("deadline") if isinstance(error, TimeoutError) else self._classify(error)
        _failed(verdict.final if isinstance(verdict, Retryable) else verdict)
        return verdict

    async def _langchain_model(self) -> Any:
        if self._model is not None:
            return self._model
        async with self._creating:
            if self._model is None:
                self._model = await self._create_model()
        return self._model

    async def stream(
        self, turns: Sequence[Turn], *, max_new_tokens: int | None = None, pictures: Sequence[Picture] = (),
        meter: Meter | None = None,
    ) -> AsyncIterator[str]:
        """Text deltas of the answer. Retries only while nothing has been yielded."""
        tokens = max_new_tokens or self.settings.llm_max_new_tokens
        deadline = time.monotonic() + self.settings.llm_timeout_seconds
        call = (meter or Meter()).call(turns)
        attempt, trimmed = 0, False
        while True:
            shown = False
            call.turns = turns
            try:
                async for delta in self._attempt_stream(turns, pictures, tokens, deadline, call):
                    shown = True
                    yield delta
                return
            except ContextTooLong:
                turns, trimmed = _shorter(turns, trimmed), True
            except Retryable as retry:
                if shown:
                    raise LLMStreamCut(str(retry)) from None
                await self._backoff(attempt, retry.final, deadline)
                attempt += 1
            except LLMError as error:
                if shown and not isinstance(error, LLMTimeout):
                    raise LLMStreamCut(str(error)) from None
                raise

    async def complete(
        self, turns: Sequence[Turn], *, max_new_tokens: int | None = None, pictures: Sequence[Picture] = (),
        meter: Meter | None = None,
    ) -> str:
        tokens = max_new_tokens or self.settings.llm_max_new_tokens
        deadline = time.monotonic() + self.settings.llm_timeout_seconds
        model = await self._langchain_model()
        call = (meter or Meter()).call(turns)
        attempt, trimmed = 0, False
        while True:
            try:
                async with self._slots, asyncio.timeout(deadline - time.monotonic()):
                    answer = await model.ainvoke(self._model_input(turns, pictures), **self._options(tokens, stream=False))
                MODEL_REACHABLE.set(1)
                call.turns = turns
                call.text.append(text := text_of(answer).strip())
                call.report(getattr(answer, "usage_metadata", None))
                return text
            except Exception as error:
                verdict = self._judge(error)
                if isinstance(verdict, ContextTooLong):
                    turns, trimmed = _shorter(turns, trimmed), True
                elif isinstance(verdict, Retryable):
                    await self._backoff(attempt, verdict.final, deadline)
                    attempt += 1
                else:
                    raise verdict from None

    async def _attempt_stream(
        self, turns: Sequence[Turn], pictures: Sequence[Picture], tokens: int, deadline: float, call: ModelCall
    ) -> AsyncIterator[str]:
        model = await self._langchain_model()
        ended: bool | None = None
        try:
            async with self._slots, asyncio.timeout(deadline - time.monotonic()):
                chunks = model.astream(self._model_input(turns, pictures), **self._options(tokens, stream=True))
                async for chunk in chunks:
                    MODEL_REACHABLE.set(1)
                    ended = ended or self._ends_answer(chunk)
                    call.report(getattr(chunk, "usage_metadata", None))
                    if text := text_of(chunk):
                        call.text.append(text)
                        yield text
        except Exception as error:
            raise self._judge(error) from None
        if ended is False:
            cut = LLMError("the stream closed before the answer ended")
            _failed(cut)
            raise Retryable(cut)

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
        if self._model is not None:
            await self._close_model()
            self._model = None


def _failed(failure: BotError) -> None:
    MODEL_ERRORS.labels(failure.code).inc()
    if type(failure) is LLMError:  # no answer at all: refused connection, 5xx, a cut stream
        MODEL_REACHABLE.set(0)
