"""Shared fixtures: a real Redis for the session, a fake SageMaker runtime and a fake Slack per
test; the product's Slack and Discord adapters started against them come from the two plugins."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from fakes.redis_server import Certificate, RedisClusterServers, RedisSentinelSet, RedisServer, ping
from fakes.sagemaker import FakeSageMaker, run_in_thread
from fakes.slack import FakeSlack

if TYPE_CHECKING:
    from bot.core.documents import ExtractionPool

T = TypeVar("T", RedisServer, RedisClusterServers, RedisSentinelSet)

# provider_support first: the other two import from it.
pytest_plugins = ["tests.provider_support", "tests.slack_support", "tests.discord_support"]


@pytest.fixture(autouse=True)
def _aws_test_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy AWS credentials for boto3, and no developer .env or AWS profile leaking in (python-
    dotenv's own switch, which `python -m bot` subprocesses inherit, keeps .env unread)."""
    for name, value in {
        "PYTHON_DOTENV_DISABLED": "1",
        "AWS_ACCESS_KEY_ID": "AKIATESTTESTTESTTEST",
        "AWS_SECRET_ACCESS_KEY": "test-secret-key-for-local-fakes",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }.items():
        monkeypatch.setenv(name, value)
    for name in (
        "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
        "LLM_PROVIDER", "OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL",
    ):
        monkeypatch.delenv(name, raising=False)


# ------------------------------------------------------------------ Redis

@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """`REDIS_URL` if it answers PING, else a redis-server started for the session. Never skips."""
    env = os.environ.get("REDIS_URL")
    if env and ping(env):
        yield env
        return
    try:
        server = RedisServer().start()
    except RuntimeError as e:
        pytest.fail(
            f"No Redis for the tests: REDIS_URL={env!r} does not answer and starting "
            f"redis-server failed: {e}", pytrace=False)
    try:
        yield server.url
    finally:
        server.__exit__()


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix unique to this test, e.g. 'test:3f2a...:'."""
    return f"test:{uuid.uuid4().hex}:"


@pytest_asyncio.fixture
async def redis_client(redis_url: str, redis_prefix: str) -> AsyncIterator[aioredis.Redis]:
    """redis.asyncio client on `redis_url`; keys under `redis_prefix` are deleted afterwards."""
    client = aioredis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        try:
            keys = [k async for k in client.scan_iter(match=f"{redis_prefix}*", count=500)]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()


@contextmanager
def _started(make: Callable[[], T]) -> Iterator[T]:
    """`make()` started, or the test failed (never skipped) saying why it could not start; stopped
    afterwards."""
    try:
        servers = make().__enter__()
    except (RuntimeError, OSError) as e:
        pytest.fail(f"cannot start redis-server: {e}", pytrace=False)
    try:
        yield servers
    finally:
        servers.__exit__()


@pytest.fixture
def fresh_redis_server() -> Iterator[RedisServer]:
    """A dedicated, started redis-server this test may `.stop()` and `.start()` (same port)."""
    with _started(RedisServer) as server:
        yield server


@pytest.fixture
def tls_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server that speaks only TLS, with a self-signed certificate made for the test
    (`.tls.cert` is its CA file)."""
    with _started(lambda: RedisServer(tls=Certificate.make(tmp_path))) as server:
        yield server


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisClusterServers]:
    """A Redis Cluster of three masters for the session (tests keep apart by key prefix)."""
    with _started(RedisClusterServers) as cluster:
        yield cluster


@pytest.fixture
def redis_sentinel_set() -> Iterator[RedisSentinelSet]:
    """A master, its replica and a Sentinel, for one test (it may fail them over)."""
    with _started(RedisSentinelSet) as servers:
        yield servers


# ------------------------------------------------------------------ SageMaker

@pytest_asyncio.fixture
async def sagemaker() -> AsyncIterator[FakeSageMaker]:
    """A FakeSageMaker running in the test's event loop. Blocking boto3 calls from an async test
    must go through a thread (asyncio.to_thread / run_in_executor) or they stall the fake."""
    async with FakeSageMaker() as fake:
        yield fake


@pytest.fixture
def sagemaker_thread() -> Iterator[FakeSageMaker]:
    """A FakeSageMaker on its own loop in a background thread (sync tests, subprocesses)."""
    with run_in_thread() as fake:
        yield fake


# ------------------------------------------------------------------ documents

@pytest.fixture(scope="session")
def extraction_pool() -> Iterator[ExtractionPool]:
    """The pool of extraction processes the engine would start, shared by the session's tests
    (each process costs 0.4 s to start); closed at the end, as the engine closes its own."""
    from bot.core.documents import ExtractionPool  # the format libraries load only when needed

    pool = ExtractionPool()
    yield pool
    pool.close()


# ------------------------------------------------------------------ Slack

@pytest_asyncio.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    """A started FakeSlack, closed after the test."""
    async with FakeSlack() as fake:
        yield fake
