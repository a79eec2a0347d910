"""Whether Redis answers, as this process last found it: one log line when it is lost, one when
it is back, however many operations fail or succeed in between; the `bot_redis_up` metric and
`down` follow every change.

The end of a stall (DEBUG SLEEP, a slow fork for a save, a failover) flaps: Redis answers one
command, and the next, sent before it woke or caught in a last hiccup, times out (a blocking
XREADGROUP it takes up on waking answers only after its block, past the client's timeout). That
is the outage just said to be over, not a new one: a failure within `settle_seconds` of the
"back" line is not said, nor is Redis answering again after it; should Redis still be away past
that time, the next failure says so."""

from __future__ import annotations

import logging
import time

from redis.exceptions import ClusterDownError, RedisClusterException
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.core.metrics import REDIS_UP

log = logging.getLogger("bot.core.memory")

# What "Redis is unreachable" looks like through redis-py (a refused or broken connection, a
# command that outlived its socket timeout; a cluster that has lost a master or reaches no node
# at all); other Redis errors are bugs and are raised. (A cluster client's own errors, keys of
# one command in several slots among them, are RedisClusterExceptions too: the cluster tests
# keep those out.)
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError, ClusterDownError, RedisClusterException)


class RedisHealth:
    def __init__(self, settle_seconds: float = 4.0) -> None:
        """`settle_seconds`: how long after Redis came back a failure is still taken for the
        outage's tail (RedisMemory.connected: twice the client's timeout, one for a command
        sent before Redis woke, one for a loaded event loop)."""
        self.down = False
        self.back_at = float("-inf")  # monotonic time Redis last came back
        self.settle = settle_seconds
        self._said_lost = False  # the outage under way has had its "unreachable" line
        self._said_back_at = float("-inf")  # when the last "back" line was said
        REDIS_UP.set(1)

    def lost(self, error: BaseException) -> None:
        self.down = True
        REDIS_UP.set(0)
        if self._said_lost or time.monotonic() - self._said_back_at < self.settle:
            return
        self._said_lost = True
        log.warning("Redis unreachable (%s): answering without memory until it is back", type(error).__name__)

    def ok(self) -> None:
        if not self.down:
            return
        self.down = False
        self.back_at = time.monotonic()
        REDIS_UP.set(1)
        if self._said_lost:  # not after a failure of the outage's tail, which was not said
            self._said_lost = False
            self._said_back_at = self.back_at
            log.warning("Redis is back: memory restored")

    def back_within(self, seconds: float) -> bool:
        """Whether Redis came back less than `seconds` ago (or is down now)."""
        return self.down or time.monotonic() - self.back_at < seconds
