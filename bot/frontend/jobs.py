"""Answers running in the background of an adapter: recorded before the platform is told
"received", held (the event loop keeps only weak references to tasks), bounded, and stopped on
shutdown.

Platforms want an event acknowledged at once, so adapters answer in background jobs. With Redis,
`accept` records the question as a job there first (bot.core.memory.jobs), and every replica's
reader takes jobs as it has room: the ones it accepted, the ones other replicas accepted, and the
ones a replica stopped answering (it died, or lost Redis for `JOB_TAKEOVER_SECONDS`), whose open
messages the adapter then closes with a note before answering. Without Redis, or while it is
unreachable, a question runs in the process that accepted it, de-duplicated there.

The waits here, and their bounds: the reader blocks in Redis for a new job 1 s at most (half of
`REDIS_TIMEOUT_SECONDS` if that is less, so that no reply is lost to the client's own timeout),
then looks again, or stops when asked to; after a Redis error it waits `_RETRY` before trying
again; a job another replica has taken over is stopped here at the next keeping round (every
quarter of `JOB_TAKEOVER_SECONDS`); a job of a replica that died is taken over within a takeover
time and a quarter."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError

from bot.config import Settings
from bot.core.conversation import ConversationKey
from bot.core.errors import BotError
from bot.core.memory import REDIS_DOWN, LocalMemory, Memory, RedisMemory, TurnOrder, in_order
from bot.core.memory.jobs import CLAIM_TTL, Accepted, JobRecord, RedisJobs
from bot.core.memory.local import Expiring

log = logging.getLogger(__name__)

# What a Redis call of this module may fail with: Redis unreachable (REDIS_DOWN), or refusing
# (a full Redis under `maxmemory`, a read-only replica after a failover): never fatal to a loop.
_TROUBLE = (RedisError, OSError)
MAX_RUNS = 3  # a job that took down this many replicas is not run again
_RETRY = 1.0  # seconds between tries while Redis is unreachable


async def _nowhere(_: str) -> None:
    return None


@dataclass(frozen=True)
class Job:
    """What an adapter gets to answer: the payload it recorded, the messages a replica that
    stopped had opened for it (to close with a note first), where to note each message it opens
    as soon as it exists, and, when that replica had the whole answer already (it is in the
    conversation's memory), that answer: to be shown, not asked for again. `taken_over`: a
    replica ran it before and stopped (its user may have stopped the answer meanwhile)."""

    payload: Any
    opened: tuple[str, ...] = ()
    note_opened: Callable[[str], Awaitable[None]] = _nowhere
    answered: str | None = None
    taken_over: bool = False


Runner = Callable[[Job], Coroutine[Any, Any, object]]


class Jobs:
    def __init__(
        self, limit: int, store: RedisJobs | None = None, memory: Memory | None = None, *,
        takeover_seconds: float = 10.0, block_seconds: float = 1.0,
    ) -> None:  # fmt: skip
        self.limit = limit
        self.stopped = False
        self._tasks: set[asyncio.Task[object]] = set()
        self._store = store
        self._memory: Memory = memory or LocalMemory(0)
        self._takeover = takeover_seconds
        self._block_ms = int(block_seconds * 1000)
        self._runner: Runner | None = None
        self._running: dict[str, asyncio.Task[object]] = {}  # stream entry → its task
        self._unacked: dict[str, JobRecord] = {}  # answered while Redis was away: acknowledged later
        self._answered_here = Expiring()  # events answered by this process while Redis was away
        self._finished_here = Expiring()  # jobs this process has finished (for a late claim of its own)
        self._room = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        self._keeper: asyncio.Task[None] | None = None
        self._next_takeover = 0.0

    @classmethod
    def for_settings(cls, settings: Settings, memory: Memory | None = None, queue: str = "") -> Jobs:
        """The same limit on every front end: answers past the model's concurrency wait in the
        engine, in order; far past it they would only pile up. With a Redis memory and a `queue`
        name (the front end's), accepted questions are recorded as jobs in Redis."""
        store = None
        if isinstance(memory, RedisMemory) and queue:
            store = RedisJobs(
                memory, queue, takeover_seconds=settings.job_takeover_seconds,
                grace_seconds=settings.turn_order_grace_seconds,
            )  # fmt: skip
        return cls(
            4 * settings.llm_max_concurrency, store, memory, takeover_seconds=settings.job_takeover_seconds,
            block_seconds=min(1.0, settings.redis_timeout_seconds / 2),
        )  # fmt: skip

    def __len__(self) -> int:
        return len(self._tasks)

    # ------------------------------------------------------------------ questions as jobs

    def serve(self, runner: Runner) -> None:
        """Answer accepted questions with `runner`; with Redis, start taking jobs from it."""
        self._runner = runner
        if self._store is not None and self._reader is None:
            self._reader = asyncio.create_task(self._read())
            self._keeper = asyncio.create_task(self._keep())

    async def accept(
        self, event: str | None, key: ConversationKey, position: float, payload: Any,
        refuse: Callable[[], Awaitable[object]],
    ) -> bool:  # fmt: skip
        """Take in a question before its event is acknowledged: True if it is to be answered
        (recorded in Redis, or run here), False for another delivery of an event already taken.
        `event` de-duplicates deliveries (None: done already); `position` is the platform's time
        of the question (its place in the conversation); `payload` (JSON) is what the runner
        needs to answer it from any replica. `refuse` tells the user the bot is busy, when a job
        run here finds no room."""
        if self._store is not None:
            accepted = await self._store.accept(event, key, position, payload)
            if accepted is not Accepted.HERE:
                return accepted is Accepted.RECORDED
            if event:  # should Redis record it after all (it was stalled), this process skips it
                self._answered_here.add(event, CLAIM_TTL)
        elif self.stopped or (event and not await self._memory.claim(f"event:{event}", CLAIM_TTL)):
            return False  # when stopping, left unclaimed: another replica answers it
        assert self._runner is not None, "serve() first"
        ran = await self.spawn_or_refuse(self._run_here(self._runner, payload, position), refuse)
        return ran or not self.stopped  # turned away as busy, the user was told

    @staticmethod
    async def _run_here(runner: Runner, payload: Any, position: float) -> None:
        with in_order(TurnOrder(uuid.uuid4().hex, position)):
            await runner(Job(payload))

    async def _read(self) -> None:
        assert self._store is not None
        while not self.stopped:
            room = self.limit - len(self._tasks)
            if room <= 0:
                self._room.clear()
                await self._room.wait()
                continue
            try:
                # Jobs taken over start before the reader blocks for new ones: kept from then on.
                records = await self._take_over(room) or await self._store.take(room, self._block_ms)
            except _TROUBLE as error:
                self._failed(error, "reading jobs")
                await asyncio.sleep(_RETRY)
                continue
            self._store.health.ok()
            for record in records:
                self._start(record)

    async def _take_over(self, room: int) -> list[JobRecord]:
        """Jobs other replicas stopped keeping, looked for every quarter of the takeover time;
        not for a while after Redis was away, when the replicas that own them have not yet been
        able to say they still do."""
        assert self._store is not None
        now = time.monotonic()
        if now < self._next_takeover or self._store.health.back_within(self._takeover):
            return []
        self._next_takeover = now + self._takeover / 4
        return await self._store.take_over(room)

    def _start(self, record: JobRecord) -> None:
        assert self._runner is not None
        # Its keeping was late (a stalled loop) and this process claimed it back: it runs here
        # already, or finished while the claim was on its way (then a second run would close
        # the answer shown with the "taken over" note and ask the model again).
        if record.id in self._running or self._finished_here.holds(record.id):
            return
        if (record.event and self._answered_here.holds(record.event)) or record.runs > MAX_RUNS:
            if record.runs > MAX_RUNS:
                log.error("job %s was taken over %d times: dropped", record.id, record.runs - 1)
            self._track(asyncio.create_task(self._finish(record)))
            return
        if record.runs > 1:
            log.warning("taking over job %s from a replica that stopped answering it", record.id)
        task = self._track(asyncio.create_task(self._run_recorded(self._runner, record)))
        self._running[record.id] = task

    async def _run_recorded(self, runner: Runner, record: JobRecord) -> None:
        assert self._store is not None
        note = functools.partial(self._note_opened, record.id)
        job = Job(record.payload, record.opened, note, record.answered, taken_over=record.runs > 1)
        try:
            with in_order(record.order):
                await runner(job)
        except asyncio.CancelledError:
            # Stopped before its end (shutdown past the grace period, or taken over): left in
            # Redis for a replica to take over, which closes what this one opened.
            raise
        except Exception:
            await self._finish(record)  # the user has been told what went wrong
            raise
        else:
            await self._finish(record)
        finally:
            self._running.pop(record.id, None)

    async def _note_opened(self, entry: str, handle: str) -> None:
        assert self._store is not None
        try:
            await self._store.opened(entry, handle)
        except _TROUBLE as error:
            self._failed(error, "noting a message")

    async def _finish(self, record: JobRecord) -> None:
        assert self._store is not None
        self._finished_here.add(record.id, CLAIM_TTL)
        try:
            await self._store.done(record)
        except _TROUBLE as error:
            self._failed(error, "finishing a job")
            self._unacked[record.id] = record

    async def _keep(self) -> None:
        """Every quarter of the takeover time: acknowledge jobs answered while Redis was away,
        and say that the running ones are still being answered; stop those another replica
        took over meanwhile (it answers them)."""
        assert self._store is not None
        while True:
            await asyncio.sleep(self._takeover / 4)
            await self._acknowledge()
            if not self._running:
                continue
            try:
                taken = await self._store.keep(list(self._running))
            except _TROUBLE as error:
                self._failed(error, "keeping jobs")
                continue
            self._store.health.ok()
            for entry in taken:
                if task := self._running.get(entry):
                    log.warning("job %s was taken over by another replica: stopping it here", entry)
                    task.cancel()

    async def _acknowledge(self) -> None:
        """Acknowledge the jobs answered while Redis was away (all, or none while it still is)."""
        assert self._store is not None
        try:
            for entry, record in list(self._unacked.items()):
                await self._store.done(record)
                del self._unacked[entry]
        except _TROUBLE as error:
            self._failed(error, "finishing jobs")

    def _failed(self, error: BaseException, what: str) -> None:
        """Redis unreachable is said once (until it is back); a refusal each time."""
        assert self._store is not None
        if isinstance(error, REDIS_DOWN):
            self._store.health.lost(error)
        else:
            log.warning("%s: Redis refused (%s)", what, error)

    # ------------------------------------------------------------------ background work

    def spawn(self, work: Coroutine[Any, Any, object]) -> bool:
        """Run `work` in the background; False, without running it, when `limit` jobs are
        running (a flood then gets quick "busy" replies instead of an ever longer queue) or
        after `stop`."""
        if self.stopped or len(self._tasks) >= self.limit:
            work.close()
            return False
        self._track(asyncio.create_task(work))
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

    def _track(self, task: asyncio.Task[Any]) -> asyncio.Task[Any]:
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[object]) -> None:
        self._tasks.discard(task)
        self._room.set()
        if not task.cancelled() and (error := task.exception()) is not None:
            log_outcome(error)

    @property
    def accepting(self) -> bool:
        """False once shutting down: without Redis, events must then be left unclaimed, so that
        another replica answers them (with Redis they are recorded for any replica)."""
        return not self.stopped

    async def drain(self, grace: float) -> None:
        """Take no new work, let what runs finish for up to `grace` seconds, then stop the rest
        (with Redis, left there for another replica, or this one's successor, to take over)."""
        self.stopped = True
        await _cancel(self._reader)  # what it was reading stays in Redis, for a replica to take
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
        await _cancel(self._reader)
        if self._unacked:  # one last try
            await asyncio.wait({asyncio.create_task(self._acknowledge())}, timeout=timeout)
        await _cancel(self._keeper)


async def _cancel(task: asyncio.Task[None] | None) -> None:
    if task is not None and not task.done():
        task.cancel()
        await asyncio.wait({task})


def log_outcome(error: BaseException, fields: Mapping[str, object] | None = None) -> None:
    """Log a failure whose user message has already been shown where the answer was to be;
    `fields` say whose answer it was (bot.frontend.flows)."""
    if isinstance(error, BotError):
        log.info("answered with the %s message", error.code, extra=fields)
    else:
        log.error("unexpected failure (reported to the user where the platform allowed it)", exc_info=error, extra=fields)
