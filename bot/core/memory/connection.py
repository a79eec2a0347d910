"""The one place a Redis client is built from the settings, for each way teams run Redis: one
server (TLS and ACL users in the URL), a Redis Cluster (ElastiCache/MemoryDB cluster mode,
Valkey), or a master found through Sentinel.

Every client the bot uses is built here, so that every command has the same deadline and the
same single retry of a connection a restart or a failover broke. In a cluster every multi-key
command and script keeps its keys in one hash slot (the memory's keys carry hash tags)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

if TYPE_CHECKING:
    from bot.config import Settings


@dataclass(frozen=True)
class RedisTarget:
    """Where Redis is and how to reach it (the settings' REDIS_* values)."""

    url: str
    ca_file: Path | None = None
    cluster: bool = False
    sentinels: tuple[str, ...] = ()
    sentinel_master: str | None = None
    sentinel_password: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> RedisTarget:
        assert settings.redis_url, "Redis is not configured"
        password = settings.redis_sentinel_password
        return cls(
            settings.redis_url, settings.redis_ca_file, settings.redis_cluster, settings.redis_sentinels,
            settings.redis_sentinel_master, password.get_secret_value() if password else None,
        )  # fmt: skip

    @property
    def tls(self) -> bool:
        return urlsplit(self.url).scheme == "rediss"


class _BlockingSentinelPool(SentinelConnectionPool, aioredis.BlockingConnectionPool):
    """Sentinel's pool (the master's address asked of the sentinels on each new connection, a
    connection to a demoted master closed) that waits for a free connection, as `connect`'s
    other pools do."""


def connect(
    target: RedisTarget | str, *, max_connections: int, timeout_seconds: float, connect_seconds: float | None = None
) -> aioredis.Redis:
    """A client whose commands give up after `timeout_seconds`, and whose connection broken by a
    Redis restart or failover is retried once before the command counts as failed.

    Past `max_connections` commands wait for a free connection (a blocking pool): redis-py's
    default pool raises MaxConnectionsError instead (a ConnectionError), which would read as
    "Redis is down" whenever more turns touch Redis at once than it has connections; the wait is
    long because running out of connections only happens under load (a Redis that is down
    refuses connections at once). A timeout is not retried: a stalled Redis would only be waited
    for twice. A connection is given `connect_seconds` (at most 3 s unless said). A bare URL is
    one plain server. (A cluster client keeps a pool per node and has no blocking one: its limit is per
    node, and set high.)"""
    target = RedisTarget(target) if isinstance(target, str) else target
    options: dict[str, Any] = dict(
        decode_responses=True,
        socket_timeout=timeout_seconds,
        socket_connect_timeout=connect_seconds or min(timeout_seconds, 3.0),
        # redis-py retries through `retry` only the errors it lists (redis/asyncio/retry.py):
        # a pooled connection that a restart closed fails once with a ConnectionError, then the
        # retry reconnects (to the new master after a Sentinel failover).
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
    )
    if target.tls and target.ca_file:
        options["ssl_ca_certs"] = str(target.ca_file)
    if target.cluster:
        return RedisCluster.from_url(target.url, max_connections=max(max_connections, 1000), **options)  # type: ignore[return-value]
    options["health_check_interval"] = 30
    if target.sentinels:
        return _through_sentinels(target, max_connections, options)
    pool = aioredis.BlockingConnectionPool.from_url(target.url, max_connections=max_connections, timeout=30, **options)
    return aioredis.Redis.from_pool(pool)


def _through_sentinels(target: RedisTarget, max_connections: int, options: dict[str, Any]) -> aioredis.Redis:
    """The master that the sentinels name, found again after a failover: redis-py asks the
    sentinels for the master's address on every new connection, and closes a connection that
    finds a demoted master (READONLY), which the retry then replaces."""
    url = urlsplit(target.url)
    auth = {
        "username": unquote(url.username) if url.username else None,
        "password": unquote(url.password) if url.password else None,
        "db": int(url.path.strip("/") or 0),
    }
    # rediss://: TLS to the master and to the sentinels alike (options carry the CA file, if any).
    tls = {"ssl": True} if target.tls else {}
    # The sentinels are asked with the same deadline, TLS and CA as the master, and their own password.
    sentinel_options = {
        key: options[key] for key in ("socket_timeout", "socket_connect_timeout", "ssl_ca_certs") if key in options
    } | tls | ({"password": target.sentinel_password} if target.sentinel_password else {})
    addresses = [(host, int(port)) for host, _, port in (a.rpartition(":") for a in target.sentinels)]
    sentinel = Sentinel(addresses, sentinel_kwargs=sentinel_options)
    return sentinel.master_for(
        target.sentinel_master or "", connection_pool_class=_BlockingSentinelPool,
        max_connections=max_connections, timeout=30, **auth, **tls, **options,
    )  # fmt: skip
