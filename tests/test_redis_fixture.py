"""Self-tests of the Redis fixtures."""

from __future__ import annotations

import redis
import redis.asyncio as aioredis

from fakes.redis_server import ping

_seen: dict[str, str] = {}


def test_redis_url_answers(redis_url):
    assert ping(redis_url)


async def test_prefix_first(redis_client, redis_prefix):
    _seen["first"] = redis_prefix
    await redis_client.set(f"{redis_prefix}k", "한글")
    assert await redis_client.get(f"{redis_prefix}k") == "한글".encode()


async def test_prefix_second_is_isolated_and_first_was_cleaned(redis_client, redis_prefix):
    first = _seen.get("first")
    assert first and first != redis_prefix
    assert await redis_client.get(f"{redis_prefix}k") is None
    assert [k async for k in redis_client.scan_iter(match=f"{first}*")] == []


async def test_fresh_server_stop_and_start_on_same_port(fresh_redis_server):
    url = fresh_redis_server.url
    r = aioredis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        await r.set("k", "v")
        fresh_redis_server.stop()
        assert not fresh_redis_server.running
        try:
            await r.get("k")
        except (redis.ConnectionError, OSError):
            pass
        else:
            raise AssertionError("Redis still answered after stop()")
        fresh_redis_server.start()
        assert fresh_redis_server.url == url
        assert await r.get("k") is None  # back, empty (no persistence)
        assert await r.ping()
    finally:
        await r.aclose()
