"""Call quotas shared by every process: how many calls of one kind (one platform method in one
workspace, say) may go out in a sliding window, and pauses that every process honours (after a
429's Retry-After). In Redis when there is one, else in this process."""

from __future__ import annotations

import time
import uuid
from collections import defaultdict, deque
from typing import Protocol

import redis.asyncio as aioredis

from bot.core.memory.health import REDIS_DOWN

# KEYS[1] the window (a sorted set of call times), KEYS[2] the pause; ARGV[1] window ms,
# ARGV[2] calls allowed, ARGV[3] a unique member. Returns 0 when the call is taken, else the ms
# to wait. Redis's own clock: replicas' clocks may disagree, Redis's is one.
_TAKE = """
local paused = redis.call('PTTL', KEYS[2])
if paused > 0 then return paused end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
"""


class Quotas(Protocol):
    async def take(self, name: str, allowed: int, window_seconds: float) -> float:
        """Take one call of `name` if fewer than `allowed` went out in the last `window_seconds`
        and it is not paused: 0.0; else the seconds until one may go, without taking it."""
        ...

    async def pause(self, name: str, seconds: float) -> None:
        """No call of `name` goes out, from any process, for `seconds`."""
        ...


class LocalQuotas:
    def __init__(self) -> None:
        self._calls: dict[str, deque[float]] = defaultdict(deque)
        self._paused: dict[str, float] = {}

    async def take(self, name: str, allowed: int, window_seconds: float) -> float:
        now = time.monotonic()
        if (until := self._paused.get(name, 0.0)) > now:
            return until - now
        calls = self._calls[name]
        while calls and calls[0] <= now - window_seconds:
            calls.popleft()
        if len(calls) < allowed:
            calls.append(now)
            return 0.0
        return max(0.001, calls[0] + window_seconds - now)

    async def pause(self, name: str, seconds: float) -> None:
        self._paused[name] = max(self._paused.get(name, 0.0), time.monotonic() + seconds)


class RedisQuotas:
    """In Redis, shared by every replica; while Redis is unreachable, counted in this process."""

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self._take = client.register_script(_TAKE)
        self._local = LocalQuotas()

    def _keys(self, name: str) -> list[str]:
        # one hash slot for both keys (Redis Cluster)
        return [f"{self.prefix}:quota:{{{name}}}:calls", f"{self.prefix}:quota:{{{name}}}:paused"]

    async def take(self, name: str, allowed: int, window_seconds: float) -> float:
        try:
            wait_ms = await self._take(
                keys=self._keys(name), args=[int(window_seconds * 1000), allowed, uuid.uuid4().hex]
            )
        except REDIS_DOWN:
            return await self._local.take(name, allowed, window_seconds)
        return int(wait_ms) / 1000

    async def pause(self, name: str, seconds: float) -> None:
        await self._local.pause(name, seconds)
        try:
            await self.client.set(self._keys(name)[1], "1", px=max(1, int(seconds * 1000)))
        except REDIS_DOWN:
            pass
