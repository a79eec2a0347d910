"""The one configuration object, read from the environment (which `.env` fills in first).

Variable names are the ones each ecosystem already uses (see `.env.example`): a field named
`slack_bot_token` is read from `SLACK_BOT_TOKEN`, and so on."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import load_dotenv
from pydantic import AliasChoices, Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.core.errors import ConfigError

ENV_FILE = Path(".env")
# python-dotenv's own switch; the tests set it so that a developer's .env never reaches them.
ENV_FILE_DISABLED = "PYTHON_DOTENV_DISABLED"
_REDIS_SCHEMES = ("redis", "rediss", "unix")
# `docker run --env-file` keeps everything after `=`, an inline "# comment" included.
_INLINE_COMMENT = re.compile(r"\s#")


def load_env_file(path: Path = ENV_FILE) -> bool:
    """Put `.env` into the process environment, under what the real environment already sets,
    so that every library reading its own variables sees it too: botocore's credential chain
    (AWS_ACCESS_KEY_ID, AWS_PROFILE, ...), AWS_ENDPOINT_URL_*, HTTPS_PROXY. No `${VAR}`
    expansion, as `docker --env-file` does none. Whether a .env file was read."""
    if env_file_disabled() or not path.is_file():
        return False
    load_dotenv(path, override=False, interpolate=False, encoding="utf-8")
    return True


def env_file_disabled() -> bool:
    return os.environ.get(ENV_FILE_DISABLED, "").casefold() in {"1", "true", "t", "yes", "y"}


DISCORD_CDN_HOSTS = frozenset({"cdn.discordapp.com", "media.discordapp.net"})


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False, populate_by_name=True)

    # --- LLM: which provider serves the model ------------------------------------------------
    # sagemaker: a SageMaker endpoint; bedrock: Amazon Bedrock's Converse API; openai: a server
    # speaking OpenAI's Chat Completions (vLLM, Ollama, LM Studio, TGI's Messages API).
    llm_provider: Literal["sagemaker", "bedrock", "openai"] = "sagemaker"
    # A model id or an inference profile id (us.meta.llama3-3-70b-instruct-v1:0).
    bedrock_model_id: str | None = None
    # boto3 honours this variable by itself; reading it here too lets `doctor` show it.
    bedrock_endpoint_url: str | None = Field(
        default=None, validation_alias=AliasChoices("AWS_ENDPOINT_URL_BEDROCK_RUNTIME")
    )
    openai_base_url: str | None = None
    openai_api_key: SecretStr | None = None
    openai_model: str | None = None
    # Whether the model takes pictures with the text (Llama 3.2 Vision, vision models on
    # OpenAI-compatible servers); a text-only model's users are told it cannot see them.
    llm_accepts_images: bool = False

    # --- LLM: SageMaker endpoint ---------------------------------------------------------
    sagemaker_endpoint_name: str | None = None
    sagemaker_inference_component: str | None = None
    aws_region: str | None = Field(
        default=None, validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION")
    )
    # boto3 honours this variable by itself; reading it here too lets `doctor` show it.
    sagemaker_endpoint_url: str | None = Field(
        default=None, validation_alias=AliasChoices("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME")
    )
    sagemaker_payload_schema: Literal["inputs", "messages"] = "inputs"
    sagemaker_custom_attributes: str = "accept_eula=true"
    llm_max_new_tokens: int = Field(default=1024, ge=1, le=8192)
    llm_top_p: float = Field(default=0.9, gt=0, le=1)
    llm_temperature: float = Field(default=0.1, ge=0, le=2)
    # Unset: what the model is known to hold (bot.core.llm.models), else a conservative 8,192.
    llm_context_tokens: int | None = Field(default=None, ge=512)
    llm_timeout_seconds: float = Field(default=120.0, gt=0)
    llm_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    llm_max_concurrency: int = Field(default=64, ge=1, le=4096)
    llm_max_retries: int = Field(default=3, ge=0, le=10)
    llm_retry_base_seconds: float = Field(default=0.5, ge=0)

    # --- Memory -----------------------------------------------------------------------------
    redis_url: str | None = None
    # A private CA (PEM) for rediss:// (ElastiCache and MemoryDB use public CAs: leave it unset).
    redis_ca_file: Path | None = None
    # REDIS_URL names any node of a Redis Cluster (ElastiCache/MemoryDB cluster mode, Valkey).
    redis_cluster: bool = False
    # Sentinel: the sentinels (host:port, comma-separated) find the master named here; REDIS_URL
    # then gives only the scheme, user, password and database (its host is not used).
    redis_sentinels: Annotated[tuple[str, ...], NoDecode] = ()
    redis_sentinel_master: str | None = None
    redis_sentinel_password: SecretStr | None = None
    redis_key_prefix: str = "koreanbot"
    memory_window: int = Field(default=4, ge=0, le=100)
    memory_ttl_seconds: int = Field(default=2 * 24 * 3600, ge=60)
    # One Redis command's limit: a stalled Redis counts as unreachable after it. Below Slack's 3 s
    # for acknowledging an event, which waits for the question to be recorded.
    redis_timeout_seconds: float = Field(default=2.0, gt=0, le=30)
    # A question a replica took in and stopped answering (it died, or lost Redis) is taken over by
    # another after this long; the conversation's next question keeps its place meanwhile.
    job_takeover_seconds: float = Field(default=10.0, ge=0.5, le=300)
    # How long a question, even first in its conversation, waits for earlier ones still on their
    # way from the platform, counted from when it was asked (0: no wait).
    turn_order_grace_seconds: float = Field(default=0.2, ge=0, le=10)
    # The longest a question waits for the one before it in its conversation to end.
    turn_max_wait_seconds: float = Field(default=600.0, gt=0)

    # --- Usage ledger and budgets (bot.core.memory.ledger) -----------------------------------
    # How long each day's usage is kept in Redis (a month's, for budgets, at least 62 days).
    usage_ttl_days: int = Field(default=90, ge=1, le=3660)
    # The days and months that usage is filed under and budgets reset on (an IANA zone name).
    usage_timezone: str = "Asia/Seoul"
    # Tokens in and out a person may use a day, a team (Slack workspace, Discord server) a
    # month; 0: no budget. A spent budget refuses the next question before the model is called.
    budget_user_daily_tokens: int = Field(default=0, ge=0)
    budget_team_monthly_tokens: int = Field(default=0, ge=0)

    # --- Behaviour --------------------------------------------------------------------------
    bot_language: Literal["ko", "en"] = "ko"
    bot_system_prompt: str | None = None
    user_rate_limit_per_minute: int = Field(default=0, ge=0)
    shutdown_grace_seconds: float = Field(default=30.0, ge=0)
    # Bot processes serving Slack/Discord on this machine (bot.workers): one uses one core at most.
    workers: int = Field(default=1, ge=1, le=64)
    # How long start-up keeps retrying Slack/Discord while the network fails (bot.startup).
    platform_startup_timeout_seconds: float = Field(default=60.0, ge=0)
    # A file the serving bot touches every 10 s; the Docker image's HEALTHCHECK reads its age.
    health_file: Path | None = None

    # --- Operations -------------------------------------------------------------------------
    # Unset: INFO while serving, WARNING for the terminal commands. DEBUG shows the libraries'
    # own output (slack_sdk, botocore, discord.py), secrets redacted as everywhere.
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] | None = None
    # json: one object a line (time, level, logger, message, and the answer's fields).
    log_format: Literal["text", "json"] = "text"
    # When set, a serving bot answers /metrics (Prometheus), /healthz and /readyz on this port;
    # with WORKERS, the supervisor does, for every worker at once.
    metrics_port: int | None = Field(default=None, ge=0, le=65535)

    # --- Documents --------------------------------------------------------------------------
    doc_max_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    doc_max_pages: int = Field(default=1000, ge=1)
    doc_extract_timeout_seconds: float = Field(default=60.0, gt=0)
    doc_max_uncompressed_bytes: int = Field(default=300 * 1024 * 1024, ge=1024)
    doc_max_compression_ratio: int = Field(default=200, ge=2)
    doc_max_stored_chars: int = Field(default=2_000_000, ge=1000)

    # --- Slack ------------------------------------------------------------------------------
    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_mode: Literal["socket", "http"] | None = None
    slack_http_port: int = Field(default=3000, ge=0, le=65535)
    # HTTP mode: a request's headers, and then its body, must each arrive within this time (idle
    # keep-alive connections close after it too); connections beyond the cap get 503 at once.
    slack_http_timeout_seconds: float = Field(default=10.0, gt=0)
    slack_http_max_connections: int = Field(default=500, ge=1)
    # Comma-separated IDs (C…/G… channels, U… users); empty means no restriction.
    slack_allowed_channels: Annotated[frozenset[str], NoDecode] = frozenset()
    slack_allowed_users: Annotated[frozenset[str], NoDecode] = frozenset()
    slack_refusal: Literal["polite", "silent"] = "polite"
    slack_thread_followups: bool = True
    # U… ids who may change a channel's settings (/봇설정) besides the workspace's admins.
    slack_admin_users: Annotated[frozenset[str], NoDecode] = frozenset()
    # Slack's rate tiers, calls a minute per method per workspace, shared by every replica
    # (docs.slack.dev "Rate limits"): Tier 2 chat.startStream/stopStream, Tier 3 chat.update,
    # Tier 4 chat.appendStream. Raise them only if Slack has granted the app more.
    slack_tier2_per_minute: int = Field(default=20, ge=1)
    slack_tier3_per_minute: int = Field(default=50, ge=1)
    slack_tier4_per_minute: int = Field(default=100, ge=1)
    # chat.postMessage is limited per channel, "one message per second per channel" (docs.slack.dev
    # "Rate limits"): the bot posts at most one message per this many seconds in one channel,
    # every replica together (answers starting at once in one channel's threads take turns).
    slack_channel_post_seconds: float = Field(default=1.0, gt=0)

    @field_validator(
        "slack_allowed_channels", "slack_allowed_users", "slack_admin_users", "discord_allowed_guilds",
        "discord_allowed_channels", "discord_allowed_roles", "discord_allowed_users", "discord_admin_users",
        "discord_cdn_hosts",
        mode="before",
    )
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(part.strip() for part in value.split(",") if part.strip())
        return value

    # --- Discord ----------------------------------------------------------------------------
    discord_token: SecretStr | None = None
    discord_guild_id: int | None = None
    discord_api_url: str | None = None
    discord_gateway_url: str | None = None
    # Where attachments may be fetched from: host, host:port, or http://host:port (plain http and
    # private addresses only for hosts written here other than Discord's own).
    discord_cdn_hosts: Annotated[frozenset[str], NoDecode] = DISCORD_CDN_HOSTS
    # Comma-separated IDs; each list that is set must match (so a DM, having no guild, channel
    # or roles, passes only the user list). Empty means no restriction.
    discord_allowed_guilds: Annotated[frozenset[int], NoDecode] = frozenset()
    discord_allowed_channels: Annotated[frozenset[int], NoDecode] = frozenset()  # a thread's parent counts
    discord_allowed_roles: Annotated[frozenset[int], NoDecode] = frozenset()
    discord_allowed_users: Annotated[frozenset[int], NoDecode] = frozenset()
    # User ids who may change a channel's settings (/봇설정) besides members with Manage Server.
    discord_admin_users: Annotated[frozenset[int], NoDecode] = frozenset()
    # Mentions, DMs, replies and bot threads; needs the privileged Message Content intent.
    discord_listen_messages: bool = True
    # REST calls a second the bot's answers may make outside the interaction endpoints, shared by
    # every replica: Discord allows a bot 50 (docs "Rate limits", Global Rate Limit); the rest is
    # room for discord.py's own calls and for network jitter.
    discord_requests_per_second: int = Field(default=40, ge=1)
    # Seconds between gateway IDENTIFYs in one `max_concurrency` bucket, kept by every worker and
    # replica together through Redis: Discord takes one per 5 s (docs "Gateway", Identifying),
    # counted on its side, so half a second more for the IDENTIFY's travel.
    discord_identify_seconds: float = Field(default=5.5, ge=0)
    # Answers to the message menus (요약하기, 번역하기) only the user who chose them sees.
    discord_menu_ephemeral: bool = True
    # A mention in a server's text channel is answered in a thread opened on it.
    discord_mention_threads: bool = True

    @field_validator(
        "sagemaker_endpoint_url", "bedrock_endpoint_url", "bedrock_model_id", "openai_base_url",
        "openai_api_key", "openai_model", "llm_context_tokens",
        "redis_url", "redis_ca_file", "redis_sentinel_master", "redis_sentinel_password", "bot_system_prompt",
        "discord_guild_id",
        "discord_api_url", "discord_gateway_url", "health_file", "log_level", "metrics_port", mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_name(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("*", mode="before")
    @classmethod
    def _no_inline_comment(cls, value: object, info: ValidationInfo) -> object:
        if info.field_name != "bot_system_prompt" and isinstance(value, str) and _INLINE_COMMENT.search(value):
            raise ValueError(
                "a comment follows the value on the same line (docker --env-file keeps it as part of "
                "the value): put comments on their own line"
            )
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in _REDIS_SCHEMES:
            raise ValueError("needs a scheme: redis://host:6379/0 (rediss:// for TLS, unix:// for a socket)")
        return value

    @field_validator("redis_sentinels", mode="before")
    @classmethod
    def _sentinel_addresses(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        addresses = tuple(part.strip() for part in value.split(",") if part.strip())
        for address in addresses:
            host, _, port = address.rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"{address!r}: give host:port (26379 is Sentinel's usual port)")
        return addresses

    @model_validator(mode="after")
    def _redis_mode(self) -> Settings:
        if self.redis_sentinels and not self.redis_sentinel_master:
            raise ValueError("REDIS_SENTINELS needs REDIS_SENTINEL_MASTER: the name the sentinels monitor (SENTINEL MASTERS)")
        if self.redis_sentinels and self.redis_cluster:
            raise ValueError("REDIS_CLUSTER and REDIS_SENTINELS exclude each other: a cluster has no sentinels")
        if (self.redis_sentinels or self.redis_cluster) and not self.redis_url:
            raise ValueError("REDIS_CLUSTER and REDIS_SENTINELS need REDIS_URL (redis://:password@any-host:6379/0)")
        if self.redis_cluster and self.redis_url and urlsplit(self.redis_url).path.strip("/") not in ("", "0"):
            raise ValueError("REDIS_CLUSTER: a cluster has only database 0: end REDIS_URL with /0")
        return self

    @field_validator("usage_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not a time zone name: give one such as Asia/Seoul or UTC") from None
        return value

    @field_validator("discord_cdn_hosts")
    @classmethod
    def _cdn_hosts(cls, hosts: frozenset[str]) -> frozenset[str]:
        for host in hosts:
            url = urlsplit(host if "://" in host else f"https://{host}")
            if url.scheme not in ("http", "https") or not url.hostname or url.path not in ("", "/"):
                raise ValueError(f"{host!r}: give host, host:port or http(s)://host:port")
        return hosts

    def require_llm(self) -> None:
        """Fail fast, naming the variable, when the LLM cannot be reached as configured."""
        if self.llm_provider == "openai":
            if not self.openai_base_url:
                raise ConfigError("OPENAI_BASE_URL is not set: give the server's address (http://localhost:11434/v1 for Ollama).")
            if not self.openai_model:
                raise ConfigError("OPENAI_MODEL is not set: name a model the server serves (GET /v1/models lists them).")
            return
        if self.llm_provider == "bedrock":
            if not self.bedrock_model_id:
                raise ConfigError(
                    "BEDROCK_MODEL_ID is not set: give a model or inference profile id (us.meta.llama3-3-70b-instruct-v1:0)."
                )
            if self.bedrock_model_id.startswith("arn:"):
                raise ConfigError("BEDROCK_MODEL_ID: give the model or inference profile id, not an ARN.")
        elif not self.sagemaker_endpoint_name:
            raise ConfigError("SAGEMAKER_ENDPOINT_NAME is not set: name your SageMaker endpoint.")
        elif self.llm_accepts_images and self.sagemaker_payload_schema == "inputs":
            raise ConfigError("LLM_ACCEPTS_IMAGES=true needs SAGEMAKER_PAYLOAD_SCHEMA=messages: `inputs` carries text only.")
        if not self.aws_region:
            where = "Bedrock model" if self.llm_provider == "bedrock" else "SageMaker endpoint"
            raise ConfigError(f"AWS_REGION is not set: give the region of your {where}.")


def variable_name(field: str) -> str:
    """The environment variable a field is read from (its first alias, if it has any)."""
    info = Settings.model_fields.get(field)
    alias = info.validation_alias if info else None
    if isinstance(alias, AliasChoices) and isinstance(alias.choices[0], str):
        return alias.choices[0]
    return field.upper()


def shown_value(field: str, value: object) -> str:
    """A value as an error message may show it: secrets keep only a hint of their kind (xoxb-,
    xapp-, ...) and Redis URLs lose their password."""
    text = str(value)
    info = Settings.model_fields.get(field)
    if info is not None and "SecretStr" in str(info.annotation):
        return f"'{text[:5]}…' ({len(text)} characters, masked)" if len(text) >= 12 else "'****' (masked)"
    if field == "redis_url":
        text = mask_url(text)
    return repr(text)


def mask_url(url: str) -> str:
    """`url` without the password it may carry."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    return url.replace(f":{parts.password}@", ":****@", 1)


def _describe(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        message = problem["msg"].removeprefix("Value error, ")
        if not problem["loc"]:  # a rule between settings: its input is all of them, secrets too
            lines.append(message)
            continue
        field = str(problem["loc"][0])
        lines.append(f"{variable_name(field)}={shown_value(field, problem['input'])}: {message}")
    return "; ".join(lines)


def load_settings(**overrides: object) -> Settings:
    """Read the settings; a bad value becomes a ConfigError that names the variable and shows
    the value it got."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise ConfigError(f"Invalid configuration: {_describe(error)}") from None
