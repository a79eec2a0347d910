"""The LLM backend: the model behind `LLM_PROVIDER`, and what the AWS providers share.

`sagemaker` (Llama 3 on a SageMaker endpoint, through langchain-aws) is here; `bedrock` and
`openai` are in their own modules. Calls go through LangChain's async API on the event loop
(bot.core.llm.sagemaker and .bedrock: the langchain-aws classes over an aiobotocore client;
langchain-openai is async by itself), so an answer being streamed costs a socket, not a thread.
The AWS clients' connection pool is sized from `LLM_MAX_CONCURRENCY`, and an async semaphore
(bot.core.llm.retrying) is the one place that limit is enforced: left to defaults, botocore
opens at most 10 connections and would silently cap how many people are answered at once."""

from __future__ import annotations

import logging
import platform
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
from langchain_core.messages import BaseMessage

from bot.config import Settings
from bot.core.errors import (
    ConfigError,
    LLMBusy,
    LLMError,
    LLMModelError,
    LLMNoCredentials,
    LLMTimeout,
)
from bot.core.llm.payloads import STOP_SEQUENCES, GenerateHandler, MessagesHandler
from bot.core.llm.retrying import Retryable, RetryingChat, chat_messages
from bot.core.llm.sagemaker import AsyncChatSagemakerEndpoint, AsyncSagemakerEndpoint
from bot.core.pictures import Picture
from bot.core.prompt import Turn, llama3_prompt
from bot.core.usage import Meter

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
    """`pictures` go with the last turn, to a model that sees pictures;
    `meter`, when given, gets each call's turns, text and the provider's token counts."""

    @property
    def queue(self) -> int | None:
        """None when a call would start at once; else how many calls wait for the model already
        (`LLM_MAX_CONCURRENCY` are in flight)."""
        ...

    def stream(
        self, turns: Sequence[Turn], *, max_new_tokens: int | None = None, pictures: Sequence[Picture] = (),
        meter: Meter | None = None,
    ) -> AsyncIterator[str]: ...

    async def complete(
        self, turns: Sequence[Turn], *, max_new_tokens: int | None = None, pictures: Sequence[Picture] = (),
        meter: Meter | None = None,
    ) -> str: ...


def classify_aws_error(error: BaseException) -> LLMError | Retryable:
    """Map a botocore / LangChain failure to the typed error a user message is chosen by."""
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in _BUSY_CODES or status == 429:
            return Retryable(LLMBusy(code))
        if code in _RETRYABLE_CODES or status >= 500:
            return Retryable(LLMError(code))
        # AWS's own words ("Endpoint x of account y not found.") are what `doctor` shows.
        message = error.response.get("Error", {}).get("Message", "")
        return LLMModelError(f"{code or status}: {message}" if message else code or str(status))
    if isinstance(error, EventStreamError):
        return LLMModelError("stream error")
    if isinstance(error, ReadTimeoutError):
        return LLMTimeout("read timeout")
    if isinstance(error, (EndpointConnectionError, ConnectTimeoutError)):
        return Retryable(LLMError(f"connection: {error}"))
    if isinstance(error, NoCredentialsError):
        return LLMNoCredentials("no AWS credentials")
    if isinstance(error, BotoCoreError):
        return Retryable(LLMError(type(error).__name__))
    return LLMError(type(error).__name__)


_USER_AGENT = (
    f"koreanbot/{version('bot')} aiobotocore/{version('aiobotocore')} botocore/{version('botocore')}"
    f" Python/{platform.python_version()}"
)


async def aws_client(settings: Settings, service: str, endpoint_url: str | None) -> Any:
    """An aiobotocore client of `service`, sized and timed from the settings."""
    config = AioConfig(
        max_pool_connections=settings.llm_max_concurrency,
        connect_timeout=settings.llm_connect_timeout_seconds,
        read_timeout=settings.llm_timeout_seconds,
        # Retries live in RetryingChat, where they know whether text was already shown.
        retries={"total_max_attempts": 1, "mode": "standard"},
        tcp_keepalive=True,
        # Fixed, so built once: by default botocore rebuilds the User-Agent twice per request,
        # sanitizing it a character at a time, a fifth of its CPU per call (BENCHMARKS.md, fix 15).
        user_agent=_USER_AGENT,
    )
    creator = get_session().create_client(service, region_name=settings.aws_region, endpoint_url=endpoint_url, config=config)
    try:
        return await creator.__aenter__()
    except Exception as error:
        raise ConfigError(f"{service} client could not be created: {type(error).__name__}") from None


class SagemakerChat(RetryingChat):
    """Streams and completes Llama 3 answers from a SageMaker endpoint."""

    _client: Any = None

    async def _create_model(self) -> Any:
        self._client = await aws_client(self.settings, "sagemaker-runtime", self.settings.sagemaker_endpoint_url)
        return self._build_model(self._client)

    def _classify(self, error: BaseException) -> LLMError | Retryable:
        return classify_aws_error(error)

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

    def _model_input(self, turns: Sequence[Turn], pictures: Sequence[Picture]) -> str | list[BaseMessage]:
        if isinstance(self._model, AsyncChatSagemakerEndpoint):
            return chat_messages(turns, pictures)
        return llama3_prompt(turns)  # Settings refuse pictures with the `inputs` schema

    def _options(self, max_new_tokens: int, *, stream: bool) -> dict[str, Any]:
        return {"max_new_tokens": max_new_tokens, **({"stream": True} if stream else {})}

    async def _close_model(self) -> None:
        await self._client.close()


def build_llm(settings: Settings) -> ChatLLM:
    """The backend `LLM_PROVIDER` names; ConfigError names what is missing. Each provider's
    library is imported only when it is the one chosen."""
    if settings.llm_provider == "bedrock":
        from bot.core.llm.bedrock import BedrockChat

        return BedrockChat(settings)
    if settings.llm_provider == "openai":
        from bot.core.llm.openai_compatible import OpenAICompatibleChat

        return OpenAICompatibleChat(settings)
    return SagemakerChat(settings)
