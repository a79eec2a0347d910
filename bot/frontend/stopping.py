"""Stopping an answer while it is written, by its answer id, from any replica.

A stop is a mark in the shared memory (Redis: every replica sees it, and a replica taking the
job over finds it: `stopped_while_away`) and a signal to every process (bot.core.memory.signals:
one pub/sub subscription per process); the process that got the request sets the answer's event at
once, the one writing the answer when it hears the signal. The mark stays the source of truth: it
is read once as an answer starts (a stop that came first), and for every answer of this process
together, in one read, whenever the subscription is made again (signals sent while it was down
are lost) and every few seconds (every half second while there is no subscription): never once
per answer and interval, which at a thousand answers at once were 2,000 Redis reads a second.
Without Redis, or while it is unreachable, a stop asked in this process still stops its answer.
A platform's stop that names a thread (Slack's) finds the answer written there from the start of
its job (`watching`): before its model's call, while it waits in line for one too.

Stopping cancels the model's call (its HTTP stream is closed, so the endpoint stops generating)
and raises AnswerStopped where the next text would have come: the flows then end the answer with
what was shown and a note that it was stopped."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from bot.core.errors import AnswerStopped
from bot.core.memory import REDIS_DOWN, Memory
from bot.frontend.jobs import Job

log = logging.getLogger(__name__)

STOP_TTL = 24 * 3600  # seconds a stop is remembered: longer than any answer or its takeover
TOPIC = "stops"  # the signals' topic: its messages are answer ids
# Answers starting within this many seconds have their marks read together: a burst of answers
# costs one read, not one each.
CHECK_SECONDS = 0.05


class Stops:
    def __init__(self, memory: Memory) -> None:
        self.memory = memory
        self._here: dict[str, asyncio.Event] = {}  # answers running in this process
        self._unchecked: set[str] = set()  # answers started whose mark has not been read yet
        self._checking: asyncio.Task[None] | None = None
        self._listening = False

    def _mark(self, answer_id: str) -> str:
        return f"answer-stopped:{answer_id}"

    async def request(self, answer_id: str) -> None:
        """Stop answer `answer_id`, wherever it runs (or when a replica takes its job over). The
        mark is written before the signal is sent: a process that subscribes in between reads it."""
        if event := self._here.get(answer_id):
            event.set()
        await self.memory.mark(self._mark(answer_id), STOP_TTL)
        await self.memory.signals(TOPIC).send(answer_id)

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
        """Whether the answer's stop is marked (read from the memory)."""
        return await self.memory.is_marked(self._mark(answer_id))

    async def stopped_while_away(self, job: Job, answer_id: str) -> bool:
        """Whether `job` was taken over from a replica that went away with its answer stopped
        by the user (the stop reached Redis, not the answer): then it is ended as stopped, not
        asked for again, whether or not a word of it had been shown. Only a job taken over is
        looked up."""
        return job.taken_over and bool(answer_id) and await self.is_stopped(answer_id)

    async def was_stopped(self, answer_id: str) -> bool:
        """Whether the answer was stopped: for one running in this process, what this process has
        heard (no read), else the mark."""
        event = self._here.get(answer_id)
        return event.is_set() if event is not None else await self.is_stopped(answer_id)

    @asynccontextmanager
    async def watching(self, answer_id: str, place: str = "") -> AsyncIterator[None]:
        """Around an answer's whole job, from its start: a stop asked for it from then on (by
        its id, or with `place` by where it is written: `request_in`), or before, stops it
        wherever it is (its model's call not started, waiting in line for it, or streaming).
        Without it an answer is watched from the start of `until_stopped` on."""
        stopped = self._register(answer_id)
        try:
            if place:  # after registering: a stop that finds the answer by its place is heard
                await self.memory.mark(self._place(place), STOP_TTL, answer_id)
            yield
        finally:
            self._forget(answer_id, stopped)

    async def until_stopped(self, answer_id: str, deltas: AsyncIterator[str]) -> AsyncIterator[str]:
        """`deltas` until the answer is stopped: then the model's call is cancelled (never made,
        for an answer stopped before it) and AnswerStopped raised. Closing this iterator closes
        `deltas`."""
        watched = self._here.get(answer_id)
        stopped = watched if watched is not None else self._register(answer_id)
        waiting = asyncio.create_task(stopped.wait())
        iterator = aiter(deltas)
        try:
            while True:
                if stopped.is_set():
                    raise AnswerStopped(answer_id)
                step = asyncio.ensure_future(anext(iterator))
                await asyncio.wait({step, waiting}, return_when=asyncio.FIRST_COMPLETED)
                if not step.done():
                    # Cancelled inside the model's stream: its connection is closed on the way out.
                    step.cancel()
                    await asyncio.wait({step})
                    if not step.cancelled() and (error := step.exception()) is not None:
                        log.debug("the stopped answer's stream ended with %r", error)  # read: not logged as lost
                    raise AnswerStopped(answer_id)
                try:
                    delta = step.result()
                except StopAsyncIteration:
                    return
                yield delta
        finally:
            waiting.cancel()
            if watched is None:
                self._forget(answer_id, stopped)
            close = getattr(iterator, "aclose", None)
            if close is not None:
                await close()

    def _register(self, answer_id: str) -> asyncio.Event:
        """The answer's event, set by a stop asked here or heard from now on; a stop asked before
        is read from its mark, for the answers starting within CHECK_SECONDS together."""
        self._listen()
        stopped = self._here.setdefault(answer_id, asyncio.Event())
        self._unchecked.add(answer_id)
        if self._checking is None or self._checking.done():
            self._checking = asyncio.create_task(self._check_new())
        return stopped

    def _forget(self, answer_id: str, stopped: asyncio.Event) -> None:
        if self._here.get(answer_id) is stopped:
            del self._here[answer_id]

    async def _check_new(self) -> None:
        while self._unchecked:  # answers that started during the last read are read next
            await asyncio.sleep(CHECK_SECONDS)
            started, self._unchecked = self._unchecked, set()
            await self._look_up(started)

    def _listen(self) -> None:
        if not self._listening:
            self.memory.signals(TOPIC).listen(self._heard, self._recheck)
            self._listening = True

    def _heard(self, answer_id: str) -> None:
        if event := self._here.get(answer_id):
            event.set()

    async def _recheck(self) -> None:
        await self._look_up(self._here.keys())

    async def _look_up(self, answer_ids: Iterable[str]) -> None:
        """The stops of these answers (those still running here), read in one go."""
        running = {self._mark(a): event for a in answer_ids if (event := self._here.get(a)) and not event.is_set()}
        if not running:
            return
        try:
            marked = await self.memory.marked_among(running.keys())
        except REDIS_DOWN:  # the memory falls back by itself; a stop asked here still works
            log.debug("could not look for stops of %d answers", len(running))
            return
        for name in marked:
            running[name].set()
