"""Building the product's real objects against the test's local endpoint and Redis."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Callable

from bot.config import Settings
from bot.core.engine import ChatEngine
from tests.fakes.sagemaker import FakeSageMaker

ENDPOINT = "llama3-test"


def make_settings(sagemaker: FakeSageMaker, redis_url: str | None, prefix: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "sagemaker_endpoint_name": ENDPOINT,
        "aws_region": "us-east-1",
        "sagemaker_endpoint_url": sagemaker.url,
        "redis_url": redis_url,
        "redis_key_prefix": prefix.rstrip(":"),
        "llm_retry_base_seconds": 0.01,
        "llm_timeout_seconds": 10.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


def make_engine(sagemaker: FakeSageMaker, redis_url: str | None, prefix: str, **overrides: Any) -> ChatEngine:
    return ChatEngine.from_settings(make_settings(sagemaker, redis_url, prefix, **overrides))


async def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def prompts(sagemaker: FakeSageMaker) -> list[str]:
    """The `inputs` strings the endpoint received, in order."""
    return [request.json["inputs"] for request in sagemaker.requests]
