"""A server speaking OpenAI's Chat Completions (vLLM, Ollama, LM Studio, llama.cpp, TGI's Messages
API), through langchain-openai's `ChatOpenAI`: the openai client over httpx, async by itself, so
an answer being streamed is a socket on the event loop. The openai client's own retries are off:
RetryingChat retries, knowing whether text was already shown."""

from __future__ import annotations

from typing import Any, Sequence

import openai
from langchain_core.exceptions import ContextOverflowError
from langchain_core.messages import BaseMessage
from langchain_openai import ChatOpenAI

from bot.config import Settings
from bot.core.errors import ConfigError, LLMBusy, LLMError, LLMModelError, LLMTimeout
from bot.core.llm.retrying import ContextTooLong, Retryable, RetryingChat, chat_messages, says_too_long
from bot.core.pictures import Picture
from bot.core.prompt import Turn

# Servers that need no key (Ollama, a local vLLM) still get one: the openai client refuses to
# start without it, and they ignore the header.
NO_KEY = "unused"


def classify_openai_error(error: BaseException) -> LLMError | ConfigError | Retryable:
    """The openai client's errors (langchain-openai raises subclasses of them) as ours."""
    if isinstance(error, openai.APITimeoutError):  # before APIConnectionError: it is one
        return LLMTimeout("read timeout")
    if isinstance(error, openai.APIConnectionError):
        return Retryable(LLMError(f"connection: {error}"))
    if isinstance(error, ContextOverflowError) or (
        isinstance(error, openai.BadRequestError) and says_too_long(error.message)
    ):
        return ContextTooLong(str(error))
    if isinstance(error, openai.RateLimitError):
        return Retryable(LLMBusy("429"))
    if isinstance(error, (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError)):
        # The server's own words ("Error code: 404 - model 'x' not found"): a key or a model to fix.
        return ConfigError(error.message)
    if isinstance(error, openai.APIStatusError):
        if error.status_code >= 500:
            return Retryable(LLMError(str(error.status_code)))
        return LLMModelError(error.message)
    if isinstance(error, openai.APIError):  # an error event inside the stream
        return LLMModelError(error.message)
    return LLMError(type(error).__name__)


def _timeout(settings: Settings) -> openai.Timeout:
    return openai.Timeout(settings.llm_timeout_seconds, connect=settings.llm_connect_timeout_seconds)


def _key(settings: Settings) -> str:
    return settings.openai_api_key.get_secret_value() if settings.openai_api_key else NO_KEY


async def served_models(settings: Settings) -> list[str]:
    """The model names the server lists (GET /v1/models), through the openai client; the
    failures as `classify_openai_error` names them."""
    client = openai.AsyncOpenAI(
        base_url=settings.openai_base_url, api_key=_key(settings), timeout=_timeout(settings), max_retries=0
    )
    try:
        return [model.id async for model in client.models.list()]
    except Exception as error:
        verdict = classify_openai_error(error)
        raise verdict.final if isinstance(verdict, Retryable) else verdict from None
    finally:
        await client.close()


def serves(served: list[str], model: str) -> bool:
    """Whether `model` is among `served`; Ollama lists `llama3.1` as `llama3.1:latest`."""
    return model in served or f"{model}:latest" in served


class OpenAICompatibleChat(RetryingChat):
    """Streams and completes answers from `OPENAI_MODEL` at `OPENAI_BASE_URL`."""

    _http: Any = None

    async def _create_model(self) -> Any:
        settings = self.settings
        timeout = _timeout(settings)
        # Made here, in the serving loop, and closed with the model; its pool (1,000 connections)
        # is far above LLM_MAX_CONCURRENCY, which the semaphore enforces.
        self._http = openai.DefaultAsyncHttpxClient(timeout=timeout)
        return ChatOpenAI(
            model=settings.openai_model,
            base_url=settings.openai_base_url,
            api_key=_key(settings),
            temperature=settings.llm_temperature,
            top_p=settings.llm_top_p,
            timeout=timeout,
            max_retries=0,
            http_async_client=self._http,
            # Chat Completions, which every compatible server speaks (not OpenAI's Responses API).
            use_responses_api=False,
        )

    def _model_input(self, turns: Sequence[Turn], pictures: Sequence[Picture]) -> list[BaseMessage]:
        return chat_messages(turns, pictures)

    def _options(self, max_new_tokens: int, *, stream: bool) -> dict[str, Any]:
        # ChatOpenAI renames `max_tokens` to OpenAI's newer `max_completion_tokens`, which Ollama,
        # llama.cpp and LM Studio do not read; every compatible server reads `max_tokens`.
        return {"extra_body": {"max_tokens": max_new_tokens}}

    def _ends_answer(self, chunk: Any) -> bool:
        # The last chunk carries `finish_reason`; `data: [DONE]` alone is not checked by the client.
        return bool(chunk.response_metadata.get("finish_reason"))

    def _classify(self, error: BaseException) -> LLMError | ConfigError | Retryable:
        return classify_openai_error(error)

    async def _close_model(self) -> None:
        await self._http.aclose()
