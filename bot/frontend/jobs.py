"""Answers running in the background of an adapter: held (the event loop keeps only weak
references to tasks), bounded, and stopped on shutdown.

Platforms want an event acknowledged at once, so adapters answer in background tasks; this is
where every adapter keeps them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from bot.config import Settings
from bot.core.errors import BotError

log = logging.getLogger(__name__)


class Jobs:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.stopped = False
        self._tasks: set[asyncio.Task[object]] = set()

    @classmethod
    def for_settings(cls, settings: Settings) -> Jobs:
        """The same limit on every front end: answers past the model's concurrency wait in the
        engine, in order; far past it they would only pile up."""
        return cls(limit=4 * settings.llm_max_concurrency)

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, work: Coroutine[Any, Any, object]) -> bool:
        """Run `work` in the background; False, without running it, when `limit` jobs are
        running (a flood then gets quick "busy" replies instead of an ever longer queue) or
        after `stop`."""
        if self.stopped or len(self._tasks) >= self.limit:
            work.close()
            return False
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return True

    async def spawn_or_refuse(self, work: Coroutine[Any, Any, object], refuse: Callable[[], Awaitable[object]]) -> bool:
        """`spawn`, and when too many jobs run (not when shutting down), `refuse()`: tell the
        user the bot is busy rather than drop the question silently."""
        if self.spawn(work):
            return True
        if not self.stopped:
            log.warning("%d answers in progress: turning one away", len(self))
            await refuse()
        return False

    def _done(self, task: asyncio.Task[object]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log_outcome(error)

    @property
    def accepting(self) -> bool:
        """False once shutting down: events must then be left unclaimed, so that another replica
        answers them."""
        return not self.stopped

    async def drain(self, grace: float) -> None:
        """Take no new work, let what runs finish for up to `grace` seconds, then stop the rest."""
        self.stopped = True
        if self._tasks:
            log.info("finishing %d answers (up to %.0f s)", len(self._tasks), grace)
            await asyncio.wait(self._tasks, timeout=grace)
        await self.stop()

    async def stop(self, timeout: float = 5.0) -> None:
        """Cancel every job; each marks its answer as cut off on the way out."""
        self.stopped = True
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=timeout)


def log_outcome(error: BaseException) -> None:
    """Log a failure whose user message has already been shown where the answer was to be."""
    if isinstance(error, BotError):
        log.info("answered with the %s message", error.code)
    else:
        log.error("unexpected failure (reported to the user where the platform allowed it)", exc_info=error)
