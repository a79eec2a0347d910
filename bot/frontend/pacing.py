"""Spending a platform's call limits on purpose. Slack counts each method's calls per workspace
across every process and replica of the app (docs.slack.dev, "Rate limits": Tier 2 20+, Tier 3
50+, Tier 4 100+ a minute); over the limit it answers 429. So the calls that finish answers come
first, the first visible text next, and the edits that only show an answer growing take what is
left, each answer asking at its own pace: the more answers stream at once, the sparser each one's
edits, back to about one a second when the workspace is quiet."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum

from bot.core.memory.quota import Quotas
from bot.core.metrics import PLATFORM_429S

WINDOW_SECONDS = 60.0  # Slack's tiers are calls per minute


class Priority(IntEnum):
    FINAL = 0  # the text an answer ends with (or a part that is full): must reach the user
    FIRST = 1  # an answer's first visible message: a placeholder, a stream's start
    BETWEEN = 2  # an edit that only shows the answer growing: skipped when there is no room


# The share of each method's limit kept back from lower priorities, so that growing answers can
# never starve a final text, nor new answers the ends of the ones already running.
_KEPT_BACK = {Priority.FINAL: 0.0, Priority.FIRST: 0.1, Priority.BETWEEN: 0.3}


@dataclass(frozen=True)
class CallBudget:
    """One app's calls in one scope (a Slack workspace), per method."""

    quotas: Quotas
    scope: str
    per_minute: Mapping[str, int]  # method → calls a minute; methods not listed are not counted
    max_wait: float = 60.0

    async def spend(self, method: str, priority: Priority, *, wait: bool = True) -> bool:
        """Take room for one call of `method`: True when taken. A BETWEEN call never waits
        (False: skip it, the next edit carries its text); others wait for room (unless `wait`
        is False), at most `max_wait` seconds (False: send anyway, the platform's own 429
        handling takes over)."""
        limit = self.per_minute.get(method)
        if limit is None:
            return True
        allowed = max(1, int(limit * (1 - _KEPT_BACK[priority])))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_wait
        while (left := await self.quotas.take(self._name(method), allowed, WINDOW_SECONDS)) > 0:
            if not wait or priority is Priority.BETWEEN or loop.time() + left > deadline:
                return False
            await asyncio.sleep(left)
        return True

    async def pause(self, method: str, seconds: float) -> None:
        """After a 429: no call of `method` in this scope, from any process, for `seconds`."""
        await self.quotas.pause(self._name(method), seconds)

    def _name(self, method: str) -> str:
        return f"{self.scope}:{method}"


def rate_limited(platform: str, method: str) -> None:
    """A platform answered 429 to `method` (a Slack method, a Discord route): counted, however
    the platform's client learnt it."""
    PLATFORM_429S.labels(platform, method).inc()
