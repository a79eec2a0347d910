"""Whether Redis answers, as this process last found it: one log line when it is lost, one when
it is back, however many operations fail or succeed in between."""

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
    def __init__(self) -> None:
        self.down = False
        self.back_at = float("-inf")  # monotonic time Redis last came back
        REDIS_UP.set(1)

    def lost(self, error: BaseException) -> None:
        if not self.down:
            log.warning("Redis unreachable (%s): answering without memory until it is back", type(error).__name__)
        self.down = True
        REDIS_UP.set(0)

    def ok(self) -> None:
        if self.down:
            log.warning("Redis is back: memory restored")
            self.back_at = time.monotonic()
            REDIS_UP.set(1)
        self.down = False

    def back_within(self, seconds: float) -> bool:
        """Whether Redis came back less than `seconds` ago (or is down now)."""
        return self.down or time.monotonic() - self.back_at < seconds
