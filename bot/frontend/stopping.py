"""Stopping an answer while it is written, by its answer id, from any replica.

A stop is a mark in the shared memory (Redis: every replica sees it) and, on the replica that
got the request, an event set at once. The answer running elsewhere looks for the mark every
`poll` seconds. Stopping cancels the model's call (its HTTP stream is closed, so the endpoint
stops generating) and raises AnswerStopped where the next text would have come: the flows then
end the answer with what was shown and a note that it was stopped. A job whose answer was stopped
is not run again by a replica taking it over (`stopped_while_away`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from bot.core.errors import AnswerStopped
from bot.core.memory import REDIS_DOWN, Memory
from bot.frontend.jobs import Job

log = logging.getLogger(__name__)

STOP_TTL = 24 * 3600  # seconds a stop is remembered: longer than any answer or its takeover
POLL_SECONDS = 0.5


class Stops:
    def __init__(self, memory: Memory, *, poll: float = POLL_SECONDS) -> None:
        self.memory = memory
        self.poll = poll
        self._here: dict[str, asyncio.Event] = {}  # answers running in this process

    def _mark(self, answer_id: str) -> str:
        return f"answer-stopped:{answer_id}"

    async def request(self, answer_id: str) -> None:
        """Stop answer `answer_id`, wherever it runs (or when a replica takes its job over)."""
        if event := self._here.get(answer_id):
            event.set()
        await self.memory.mark(self._mark(answer_id), STOP_TTL)

    async def request_in(self, place: str) -> str | None:
        """Stop the answer being written in `place` (a platform's thread: its native stop button
        names the thread, not the answer); its id, or None when none is."""
        answer_id = await self.memory.marked(self._place(place))
        if answer_id:
            await self.request(answer_id)
        return answer_id

    def _place(self, place: str) -> str:
        return f"answer-in:{place}"

    async def is_stopped(self, answer_id: str) -> bool:
        return await self.memory.is_marked(self._mark(answer_id))

    async def stopped_while_away(self, job: Job, answer_id: str) -> bool:
        """Whether `job` was taken over from a replica that went away with its answer stopped
        by the user (the stop reached Redis, not the answer): then it is ended as stopped, not
        asked for again, whether or not a word of it had been shown. Only a job taken over is
        looked up."""
        return job.taken_over and bool(answer_id) and await self.is_stopped(answer_id)

    async def until_stopped(self, answer_id: str, deltas: AsyncIterator[str], place: str = "") -> AsyncIterator[str]:
        """`deltas` until the answer is stopped: then the model's call is cancelled and
        AnswerStopped raised. Closing this iterator closes `deltas`. With `place`, the answer
        can also be stopped by naming where it is written (`request_in`)."""
        if place:
            await self.memory.mark(self._place(place), STOP_TTL, answer_id)
        stopped = self._here.setdefault(answer_id, asyncio.Event())
        watcher = asyncio.create_task(self._watch(answer_id, stopped))
        waiting = asyncio.create_task(stopped.wait())
        iterator = aiter(deltas)
        try:
            while True:
                step = asyncio.ensure_future(anext(iterator))
                await asyncio.wait({step, waiting}, return_when=asyncio.FIRST_COMPLETED)
                if not step.done():
                    # Cancelled inside the model's stream: its connection is closed on the way out.
                    step.cancel()
                    await asyncio.wait({step})
                    raise AnswerStopped(answer_id)
                try:
                    delta = step.result()
                except StopAsyncIteration:
                    return
                yield delta
        finally:
            for task in (watcher, waiting):
                task.cancel()
            if self._here.get(answer_id) is stopped:
                del self._here[answer_id]
            close = getattr(iterator, "aclose", None)
            if close is not None:
                await close()

    async def _watch(self, answer_id: str, stopped: asyncio.Event) -> None:
        """Look for a stop requested on another replica."""
        while not stopped.is_set():
            await asyncio.sleep(self.poll)
            try:
                if await self.is_stopped(answer_id):
                    stopped.set()
            except REDIS_DOWN:  # the memory falls back by itself; a stop asked here still works
                log.debug("could not look for a stop of %s", answer_id)
