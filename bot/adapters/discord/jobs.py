"""Answers in flight: held (the event loop keeps only weak references to tasks), bounded, and
stopped on shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.core.errors import BotError

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]


class Jobs:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.stopped = False
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, job: Job) -> bool:
        """Run `job` in the background; False, without running it, when `limit` are running
        (a flood then gets quick "busy" replies instead of an ever longer queue) or after `stop`."""
        if self.stopped or len(self._tasks) >= self.limit:
            return False
        task = asyncio.create_task(_logged(job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def stop(self, timeout: float = 5.0) -> None:
        """Cancel every job; each marks its answer as cut off on the way out."""
        self.stopped = True
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=timeout)


async def _logged(job: Job) -> None:
    try:
        await job()
    except BotError as error:  # already shown to the user where the answer was to appear
        log.info("answer ended with %s", error.code)
    except Exception:
        log.exception("answer failed")
