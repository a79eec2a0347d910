"""Accepted questions as jobs in a Redis stream, so that any replica may answer them and none is
lost with the process that took it in. The payload is opaque here: whatever the front end needs
to answer from any replica.

Redis's own machinery does the work (https://redis.io/docs/latest/develop/data-types/streams/):
a stream per front end with one consumer group; a replica reads new entries with XREADGROUP as
it has room for them, and an entry stays in the group's pending list, owned by that replica,
until it is acknowledged. The owner keeps the entries it runs fresh (XCLAIM of its own entries,
which resets their idle time); an entry idle for `takeover_seconds` belongs to a replica that
stopped, and XAUTOCLAIM hands it to a survivor.

Accepting a question takes two scripts, before the platform is told "received": the question's
ticket joins its conversation's turn queue with a lease (bot.core.memory.redis), then one script
de-duplicates the platform's event and adds the entry (the claim key holds the job's ticket, so a
retry of the script by redis-py after a broken connection finds its own claim and records nothing
twice). Two, because a Redis Cluster runs a script on one hash slot: the conversation's keys
carry the conversation's hash tag, the stream and its claims the stream's. A duplicate takes its
ticket out of the queue again; a process that dies between the two leaves a ticket whose lease
runs out, and the platform, not told "received", delivers the event again."""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import os
import socket
import uuid
from dataclasses import dataclass, replace
from typing import Any

from redis.exceptions import RedisError, ResponseError

from bot.core.conversation import ConversationKey
from bot.core.memory.health import REDIS_DOWN
from bot.core.memory.order import TurnOrder
from bot.core.memory.redis import RedisMemory

log = logging.getLogger(__name__)

GROUP = "answerers"
STREAM_CAP = 100_000  # entries; finished ones are deleted, so this only bounds a runaway backlog
OPENED_TTL = 24 * 3600  # the messages a job opened are of use only while it may be taken over
CLAIM_TTL = 3600  # platforms redeliver an event within minutes

# KEYS[1] turns, KEYS[2] the ticket's lease. ARGV[1] ticket, ARGV[2] position (s), ARGV[3] lease
# ms, ARGV[4] turns TTL ms.
_JOIN = """
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
"""

# KEYS[1] claim, KEYS[2] stream. ARGV[1] ticket, ARGV[2] claim TTL s, ARGV[3] payload, ARGV[4]
# position (s), ARGV[5] stream cap, ARGV[6] grace ms, ARGV[7] event, ARGV[8] conversation key.
# 1: recorded (now or by an earlier try of this same call), 0: the event is another's.
_ACCEPT = """
local held = redis.call('GET', KEYS[1])
if held then return held == ARGV[1] and 1 or 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local not_before = math.min(now_ms, math.floor(tonumber(ARGV[4]) * 1000)) + tonumber(ARGV[6])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'ticket', ARGV[1], 'event', ARGV[7],
  'key', ARGV[8], 'position', ARGV[4], 'not_before', string.format('%d', not_before), 'payload', ARGV[3])
return 1
"""

# KEYS[1] stream; ARGV[1] group, ARGV[2] consumer, ARGV[3] min idle ms, ARGV[4] count, ARGV[5]
# prefix of the opened-lists. Each entry taken over, with its delivery count and the messages
# opened for it (its answer, kept in its conversation's slot, is read after).
_TAKE_OVER = """
local claimed = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], '0-0', 'COUNT', ARGV[4])
local out = {}
for _, entry in ipairs(claimed[2]) do
  -- (Redis 6.2 lists an entry deleted meanwhile as nil; 7 leaves it out)
  if entry then
    local id = entry[1]
    local pending = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)
    local runs = pending[1] and pending[1][4] or 1
    table.insert(out, {id, entry[2], runs, redis.call('LRANGE', ARGV[5] .. id, 0, -1)})
  end
end
return out
"""

# KEYS[1] stream; ARGV[1] group, ARGV[2] consumer, ARGV[3..] entry ids. Refreshes the entries
# still this consumer's; returns those another consumer has taken over (none when the stream or
# its group has vanished: nobody else has them either).
_KEEP = """
local taken = {}
for i = 3, #ARGV do
  local reply = redis.pcall('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if reply.err then return taken end
  local pending = reply[1]
  if pending and pending[2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
  elseif pending then
    table.insert(taken, ARGV[i])
  end
end
return taken
"""


class Accepted(enum.Enum):
    RECORDED = "recorded"  # in Redis: some replica will answer it
    DUPLICATE = "duplicate"  # another delivery of an event already accepted
    HERE = "here"  # Redis unreachable: claimed in this process only, to be answered here


@dataclass(frozen=True)
class JobRecord:
    id: str  # the stream entry
    event: str  # the platform event it came from ('' when the platform de-duplicates itself)
    key: str  # its conversation (ConversationKey.id)
    order: TurnOrder
    payload: Any  # what the front end recorded (JSON)
    runs: int = 1  # deliveries so far: more than one when taken over
    opened: tuple[str, ...] = ()  # messages opened for it by the runs before
    answered: str | None = None  # its complete answer, if a run before got that far


def consumer_name() -> str:
    """This process's name in the consumer group: unique, and readable in XINFO CONSUMERS."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class RedisJobs:
    def __init__(
        self, memory: RedisMemory, queue: str, *, takeover_seconds: float, grace_seconds: float,
        consumer: str | None = None,
    ) -> None:  # fmt: skip
        self.memory = memory
        self.client = memory.client
        self.health = memory.health
        # The stream's own hash tag: its claims and opened-lists live in its slot.
        self.stream = f"{memory.prefix}:{{jobs:{queue}}}"
        self.consumer = consumer or consumer_name()
        self.takeover_ms = int(takeover_seconds * 1000)
        self.grace_ms = int(grace_seconds * 1000)
        self._join = self.client.register_script(_JOIN)
        self._accept = self.client.register_script(_ACCEPT)
        self._take_over = self.client.register_script(_TAKE_OVER)
        self._keep = self.client.register_script(_KEEP)
        self._forgetting: set[asyncio.Task[None]] = set()

    def _opened_key(self, entry: str) -> str:
        return f"{self.stream}:opened:{entry}"

    def claim_key(self, claim: str) -> str:
        return f"{self.stream}:claim:{claim}"

    async def accept(self, event: str | None, key: ConversationKey, position: float, payload: Any) -> Accepted:
        """Record a question (before its event is acknowledged). `event`: the platform's id of
        the delivery, to de-duplicate; None when that was done already."""
        ticket = uuid.uuid4().hex
        claim = f"event:{event}" if event else f"job:{ticket}"
        if not await self.memory.claim_here(claim, CLAIM_TTL):
            return Accepted.DUPLICATE
        turns, lease = self.memory.turn_keys(key.id, ticket)
        try:
            await self._join(keys=[turns, lease], args=[ticket, repr(position), self.memory.lease_ms, self.memory.ttl * 1000])
            recorded = await self._accept(
                keys=[self.claim_key(claim), self.stream],
                # ASCII JSON: a lone surrogate in a message (which cannot be encoded for Redis)
                # travels as its escape, to be replaced where the engine reads the text.
                args=[ticket, CLAIM_TTL, json.dumps(payload), repr(position), STREAM_CAP, self.grace_ms, event or "",
                      key.id],
            )  # fmt: skip
            if not recorded:
                await self._leave_queue(turns, lease, ticket)
        except REDIS_DOWN as error:
            self.health.lost(error)
            self._forget_soon(turns, lease, ticket)
            return Accepted.HERE
        except RedisError as error:  # refused (a full Redis under `maxmemory noeviction`, say)
            log.warning("Redis refused to record a question (%s): answering it here", error)
            return Accepted.HERE
        self.health.ok()
        return Accepted.RECORDED if recorded else Accepted.DUPLICATE

    def _forget_soon(self, turns: str, lease: str, ticket: str) -> None:
        """A stalled Redis runs the join it was sent after the client has given up on it: the
        ticket would then hold the conversation's turns (answered here) until its lease ran
        out. Taken out again as soon as Redis answers, within the lease."""
        task = asyncio.create_task(self._forget(turns, lease, ticket))
        self._forgetting.add(task)
        task.add_done_callback(self._forgetting.discard)

    async def _forget(self, turns: str, lease: str, ticket: str) -> None:
        deadline = asyncio.get_running_loop().time() + self.memory.lease_ms / 1000
        while asyncio.get_running_loop().time() < deadline:
            try:
                await self._leave_queue(turns, lease, ticket)
                return
            except REDIS_DOWN:
                await asyncio.sleep(0.5)

    async def _leave_queue(self, turns: str, lease: str, ticket: str) -> None:
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.zrem(turns, ticket)
            pipe.delete(lease)
            await pipe.execute()

    async def take(self, count: int, block_ms: int) -> list[JobRecord]:
        """Up to `count` jobs nobody has taken yet, waiting up to `block_ms` for one."""
        try:
            reply = await self.client.xreadgroup(GROUP, self.consumer, {self.stream: ">"}, count=count, block=block_ms)
        except ResponseError as error:
            if "NOGROUP" not in str(error):
                raise
            # The stream or its group is gone (first start, FLUSHALL, a Redis without
            # persistence restarted): made again, from the start of what the stream holds.
            await self._create_group()
            return []
        return [_record(entry, fields) for _, entries in reply or () for entry, fields in entries]

    async def _create_group(self) -> None:
        try:
            await self.client.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    async def take_over(self, count: int) -> list[JobRecord]:
        """Up to `count` jobs whose replica has not kept them for `takeover_seconds`."""
        try:
            reply = await self._take_over(
                keys=[self.stream], args=[GROUP, self.consumer, self.takeover_ms, count, self._opened_key("")]
            )
        except ResponseError as error:
            if "NOGROUP" not in str(error):
                raise
            return []
        records = [_record(entry, _pairs(fields), int(runs), tuple(opened)) for entry, fields, runs, opened in reply]
        if not records:
            return []
        async with self.client.pipeline(transaction=False) as pipe:
            for record in records:
                pipe.get(self.memory.answer_key(record.key, record.order.ticket))
            answers = await pipe.execute()
        return [replace(record, answered=answer or None) for record, answer in zip(records, answers)]

    async def keep(self, entries: list[str]) -> list[str]:
        """Refresh the jobs this replica runs; return those another replica has taken over."""
        return list(await self._keep(keys=[self.stream], args=[GROUP, self.consumer, *entries]))

    async def opened(self, entry: str, handle: str) -> None:
        """Note a message opened for the job, for whoever may have to take it over."""
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.rpush(self._opened_key(entry), handle)
            pipe.expire(self._opened_key(entry), OPENED_TTL)
            await pipe.execute()

    async def done(self, record: JobRecord) -> None:
        """The job is answered: out of the stream, and its ticket out of its conversation's queue
        (it may have ended before taking its turn: a refusal, an error)."""
        turns, lease = self.memory.turn_keys(record.key, record.order.ticket)
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.xack(self.stream, GROUP, record.id)
            pipe.xdel(self.stream, record.id)
            pipe.delete(self._opened_key(record.id))
            pipe.delete(lease, self.memory.answer_key(record.key, record.order.ticket))
            pipe.zrem(turns, record.order.ticket)
            await pipe.execute()


def _pairs(flat: list[str]) -> dict[str, str]:
    return dict(zip(flat[::2], flat[1::2]))


def _record(entry: str, fields: dict[str, str], runs: int = 1, opened: tuple[str, ...] = ()) -> JobRecord:
    order = TurnOrder(fields["ticket"], float(fields["position"]), int(fields["not_before"]), recorded=True)
    payload = json.loads(fields["payload"])
    return JobRecord(entry, fields["event"], fields["key"], order, payload, runs, opened)
