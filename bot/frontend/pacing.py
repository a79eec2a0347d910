"""Spending a platform's call limits on purpose. Slack counts each method's calls per workspace
across every process and replica of the app (docs.slack.dev, "Rate limits": Tier 2 20+, Tier 3
50+, Tier 4 100+ a minute); Discord counts every REST call of a bot outside the interaction
endpoints against its global limit of 50 a second (discord.com/developers/docs/topics/rate-limits,
"Global Rate Limit"). Over the limit both answer 429. So the calls that finish answers come first,
the first visible text next, and the edits that only show an answer growing take what is left,
each answer asking at its own pace: the more answers stream at once, the sparser each one's
edits, back to about one a second when the platform is quiet."""

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
    """One app's calls in one scope (a Slack workspace, a Discord bot), per method (or kind of
    call), counted by every process and replica of the app."""

    quotas: Quotas
    scope: str
    allowed: Mapping[str, int]  # method → calls per `window`; methods not listed are not counted
    window: float = WINDOW_SECONDS
    max_wait: float = 60.0

    async def spend(self, method: str, priority: Priority, *, wait: bool = True) -> bool:
        """Take room for one call of `method`: True when taken. A BETWEEN call never waits
        (False: skip it, the next edit carries its text); others wait for room (unless `wait`
        is False), at most `max_wait` seconds (False: send anyway, the platform's own 429
        handling takes over)."""
        limit = self.allowed.get(method)
        if limit is None:
            return True
        allowed = max(1, int(limit * (1 - _KEPT_BACK[priority])))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_wait
        while (left := await self.quotas.take(self._name(method), allowed, self.window)) > 0:
            if not wait or priority is Priority.BETWEEN or loop.time() + left > deadline:
                return False
            await asyncio.sleep(left)
        return True

    async def pause(self, method: str, seconds: float) -> None:
        """After a 429: no call of `method` in this scope, from any process, for `seconds`."""
        await self.quotas.pause(self._name(method), seconds)

    def _name(self, method: str) -> str:
        return f"{self.scope}:{method}"


class PacedMessages:
    """The calls of one answer's messages, spent from a budget: its first message as FIRST,
    later ones and edits as FINAL, except an edit for which `room_for_edit` took room (BETWEEN,
    or FIRST for the first text) beforehand, or that ends a message `reserve_end` took room for
    when it was posted. A method the budget does not list costs nothing. Posts are spent from
    `post_budget` where a platform limits them in another scope than edits (Slack: per channel)."""

    def __init__(self, budget: CallBudget, *, posts: str, edits: str, post_budget: CallBudget | None = None) -> None:
        self.budget = budget
        self._post_budget = budget if post_budget is None else post_budget
        self._posts, self._edits = posts, edits
        self._posted = False
        self._granted = False  # room for the next edit was taken by `room_for_edit`
        self._reserved: list[float] = []  # when `reserve_end` took room for messages' final edits

    async def post(self) -> None:
        await self._post_budget.spend(self._posts, Priority.FINAL if self._posted else Priority.FIRST)
        self._posted = True

    async def room_for_edit(self, *, first: bool = False) -> bool:
        self._granted = await self.budget.spend(self._edits, Priority.FIRST if first else Priority.BETWEEN, wait=False)
        return self._granted

    async def reserve_end(self) -> bool:
        """Room now for the edit that will end a message about to be posted, as its answer's
        first call: a message shown while the workspace's edits are spent would wait minutes
        for its final text, where one posted whole once written needs no edit. The room counts
        from now, the edit comes when the answer ends: for a window of a minute (Slack's tiers)
        and answers of seconds that is the same minute; a reservation older than the window has
        lapsed, and its edit takes room as any other final."""
        if not await self.budget.spend(self._edits, Priority.FIRST, wait=False):
            return False
        self._reserved.append(asyncio.get_running_loop().time())
        return True

    async def edit(self) -> None:
        if self._granted:
            self._granted = False
            return
        reserved_at = self._reserved.pop(0) if self._reserved else None
        if reserved_at is None or asyncio.get_running_loop().time() - reserved_at >= self.budget.window:
            await self.budget.spend(self._edits, Priority.FINAL)


def rate_limited(platform: str, method: str) -> None:
    """A platform answered 429 to `method` (a Slack method, a Discord route): counted, however
    the platform's client learnt it."""
    PLATFORM_429S.labels(platform, method).inc()
