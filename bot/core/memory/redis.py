"""Per-conversation memory in Redis: the last N exchanges, the documents, and the turn order of a
conversation, shared by every process.

A conversation's history is one list of JSON exchanges, appended, trimmed to the window and given
a fresh TTL by the script that ends the exchange's turn. An exchange is written only when its turn
ends normally, so a failed or cancelled answer leaves memory as it was.

Questions of one conversation are answered one at a time, in the platform's order: each turn has
a ticket in the conversation's sorted set `turns`, scored by the platform's time of its question
(`bot.core.memory.order`), and starts once no earlier ticket is left. A recorded job's ticket
joins when the job is accepted (`bot.core.memory.jobs`), so an earlier question is in the queue
from the moment it reached any replica. A question that comes after a later one has already
started waits for nothing: it starts at once, with the history as it stands.

Every wait has a deadline (the values are settings; see README "Replicas"):
- an earlier turn that is running: as long as its process keeps its lease alive (renewed every
  third of `lease_seconds`), and never longer than `max_wait_seconds`;
- an earlier turn whose process died: until its lease runs out (`lease_seconds`); a recorded job
  is taken over before that (`JOB_TAKEOVER_SECONDS` < `lease_seconds`) and keeps its place;
- an earlier turn accepted but not yet started: the lease set at acceptance, `lease_seconds`;
- the queue vanished (FLUSHALL, eviction, a failover that lost writes), or the turn's own ticket
  was dropped because its lease lapsed: at once, at the next check (every 20-250 ms);
- at the head, for earlier questions still on their way from the platform: until the job's
  `not_before` (at most `TURN_ORDER_GRACE_SECONDS` after the question was asked);
- Redis unreachable or stalled: one command's socket timeout (`REDIS_TIMEOUT_SECONDS`), after
  which the turn goes on in this process's own order (`LocalMemory`)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from contextlib import asynccontextmanager
from dataclasses import asdict
from typing import AsyncIterator, Collection

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

from bot.core.conversation import ConversationKey
from bot.core.memory.connection import RedisTarget, connect
from bot.core.memory.health import REDIS_DOWN, RedisHealth
from bot.core.memory.local import LocalMemory
from bot.core.memory.model import Context, Exchange, StoredDocument, TurnHandle, keep_within
from bot.core.memory.order import TurnOrder, current_order
from bot.core.memory.signals import RedisSignals

log = logging.getLogger(__name__)

# The milliseconds a turn still has to wait: -1 while an earlier ticket holds a live lease, else
# what is left of its `not_before`, 0 to go. Heads whose lease has lapsed are dropped on the way;
# a ticket no longer in the queue (it vanished, or its lease lapsed) waits for nothing.
_WAIT = """
local function wait_ms(turns, ticket, lease_prefix, not_before)
  if not redis.call('ZSCORE', turns, ticket) then return 0 end
  while true do
    local head = redis.call('ZRANGE', turns, 0, 0)[1]
    if head == ticket then break end
    if redis.call('EXISTS', lease_prefix .. head) == 1 then return -1 end
    redis.call('ZREM', turns, head)
  end
  local now = redis.call('TIME')
  return math.max(0, not_before - (tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)))
end
"""

# KEYS[1] turns; ARGV[1] ticket, ARGV[2] lease prefix, ARGV[3] not_before (Redis ms).
_AT_HEAD = _WAIT + "return wait_ms(KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3]))"

# Taking (or keeping: a job joined at acceptance) its place, the first check and, when it may go,
# the context, in one round trip: most turns find nothing before them. KEYS[1] turns, KEYS[2] own
# lease, KEYS[3] history, KEYS[4] documents; ARGV[1] ticket, ARGV[2] lease prefix, ARGV[3] lease
# ms, ARGV[4] queue TTL ms, ARGV[5] position, ARGV[6] not_before.
_ENTER = _WAIT + """
redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[5], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
local wait = wait_ms(KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[6]))
if wait ~= 0 then return {wait} end
return {0, redis.call('LRANGE', KEYS[3], 0, -1), redis.call('LRANGE', KEYS[4], 0, -1)}
"""

# Appending the turn's exchange (if any) and leaving the queue in one step: the next turn, in any
# process, starts only once the exchange is in the history it reads. A recorded job's answer is
# kept beside it too, in the same step: whoever takes the job over finds it there and shows it
# rather than answering again (the job store deletes it with the job).
# KEYS[1] turns, KEYS[2] own lease, KEYS[3] history, KEYS[4] the answer kept; ARGV[1] ticket,
# ARGV[2] exchange (JSON, or '' for none), ARGV[3] window, ARGV[4] history TTL seconds, ARGV[5]
# the answer to keep ('' for none), ARGV[6] how long it is kept (seconds), ARGV[7] '1' when the
# exchange replaces the history's last one (a regenerated answer).
_LEAVE = """
if ARGV[2] ~= '' then
  if ARGV[7] == '1' then redis.call('RPOP', KEYS[3]) end
  redis.call('RPUSH', KEYS[3], ARGV[2])
  redis.call('LTRIM', KEYS[3], -tonumber(ARGV[3]), -1)
  redis.call('EXPIRE', KEYS[3], ARGV[4])
end
if ARGV[5] ~= '' then redis.call('SET', KEYS[4], ARGV[5], 'EX', ARGV[6]) end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
return 1
"""
ANSWER_TTL = 24 * 3600  # seconds: an answer is of use only until its job is done or taken over


def _parsed(history: list[str], documents: list[str]) -> Context:
    return Context(
        [Exchange(**json.loads(item)) for item in history],
        [StoredDocument(**json.loads(item)) for item in documents],
    )


class RedisMemory:
    def __init__(
        self,
        client: aioredis.Redis,
        *,
        prefix: str,
        window: int,
        ttl_seconds: int,
        max_document_chars: int = 2_000_000,
        lease_seconds: float = 15.0,
        wait_poll_seconds: float = 0.02,
        max_wait_seconds: float = 600.0,
        health: RedisHealth | None = None,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.window = window
        self.ttl = ttl_seconds
        self.max_document_chars = max_document_chars
        self.lease_ms = int(lease_seconds * 1000)
        self.poll = wait_poll_seconds
        self.max_wait = max_wait_seconds
        self.health = health or RedisHealth()
        self._at_head = client.register_script(_AT_HEAD)
        self._enter = client.register_script(_ENTER)
        self._leave = client.register_script(_LEAVE)
        self._local = LocalMemory(window, max_document_chars, max_wait=max_wait_seconds)
        self._signals: dict[str, RedisSignals] = {}

    @classmethod
    def connected(
        cls, target: RedisTarget | str, *, max_connections: int = 100, timeout_seconds: float = 2.0, **kwargs: object
    ) -> "RedisMemory":
        client = connect(target, max_connections=max_connections, timeout_seconds=timeout_seconds)
        # A failure within two timeouts of Redis coming back is taken for the outage's tail.
        return cls(client, health=RedisHealth(2 * timeout_seconds), **kwargs)  # type: ignore[arg-type]

    # A conversation's keys share its hash tag, so that the scripts that take several of them run
    # on one slot of a Redis Cluster (https://redis.io/docs/latest/operate/oss_and_stack/reference/
    # cluster-spec/#hash-tags); conversations spread over the cluster's slots.
    def _conversation(self, key_id: str) -> str:
        return f"{self.prefix}:{{{key_id}}}"

    def history_key(self, key: ConversationKey) -> str:
        return f"{self._conversation(key.id)}:history"

    def documents_key(self, key: ConversationKey) -> str:
        return f"{self._conversation(key.id)}:documents"

    def turn_keys(self, key_id: str, ticket: str) -> tuple[str, str]:
        """A conversation's turn queue, and the lease that keeps `ticket`'s place in it."""
        return f"{self._conversation(key_id)}:turns", f"{self._lease_prefix(key_id)}{ticket}"

    def answer_key(self, key_id: str, ticket: str) -> str:
        """Where a recorded job's complete answer waits until the job is done."""
        return f"{self._conversation(key_id)}:answer:{ticket}"

    def _lease_prefix(self, key_id: str) -> str:
        return f"{self._conversation(key_id)}:lease:"

    async def context(self, key: ConversationKey) -> Context:
        try:
            # One round trip for both lists. No MULTI: the caller's turn keeps other turns from
            # writing the history in between, and a document saved in between could as well have
            # come just after.
            async with self.client.pipeline(transaction=False) as pipe:
                pipe.lrange(self.history_key(key), 0, -1)
                pipe.lrange(self.documents_key(key), 0, -1)
                history, documents = await pipe.execute()
        except REDIS_DOWN as error:
            self.health.lost(error)
            return Context([], [])
        self.health.ok()
        return _parsed(history, documents)

    async def clear(self, key: ConversationKey) -> None:
        try:
            await self.client.delete(self.history_key(key), self.documents_key(key))
        except REDIS_DOWN as error:
            self.health.lost(error)
            return
        self.health.ok()

    async def save_document(self, key: ConversationKey, document: StoredDocument) -> None:
        """Keep the document with the conversation (same TTL), newest first within the size cap."""
        kept = keep_within([*(await self.context(key)).documents, document], self.max_document_chars)
        name = self.documents_key(key)
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.delete(name)
                pipe.rpush(name, *(json.dumps(asdict(d), ensure_ascii=False) for d in kept))
                pipe.expire(name, self.ttl)
                await pipe.execute()
        except REDIS_DOWN as error:
            self.health.lost(error)
            return
        self.health.ok()

    async def claim(self, name: str, ttl_seconds: int) -> bool:
        """True for the first caller (any process) to claim `name` within the TTL. While Redis is
        unreachable, the first in this process: every claim is also remembered here."""
        if not await self._local.claim(name, ttl_seconds):
            return False
        try:
            taken = await self.client.set(self.claim_key(name), "1", nx=True, ex=ttl_seconds)
        except REDIS_DOWN as error:
            self.health.lost(error)
            return True
        self.health.ok()
        return bool(taken)

    async def claim_here(self, name: str, ttl_seconds: int) -> bool:
        """Claim `name` in this process only (the job store claims it in Redis itself)."""
        return await self._local.claim(name, ttl_seconds)

    def claim_key(self, name: str) -> str:
        return f"{self.prefix}:claim:{name}"

    async def mark(self, name: str, ttl_seconds: int, value: str = "1") -> None:
        """Remember that `name` holds (e.g. "the bot takes part in this thread"), with `value`,
        for a while, for every replica."""
        await self._local.mark(name, ttl_seconds, value)
        try:
            await self.client.set(self._mark_key(name), value, ex=ttl_seconds)
        except REDIS_DOWN as error:
            self.health.lost(error)
            return
        self.health.ok()

    def _mark_key(self, name: str) -> str:
        return f"{self.prefix}:mark:{name}"

    async def is_marked(self, name: str) -> bool:
        try:
            marked = bool(await self.client.exists(self._mark_key(name)))
        except REDIS_DOWN as error:
            self.health.lost(error)
            return await self._local.is_marked(name)
        self.health.ok()
        return marked

    async def marked(self, name: str) -> str | None:
        """The value `name` was marked with, while the mark holds."""
        try:
            value = await self.client.get(self._mark_key(name))
        except REDIS_DOWN as error:
            self.health.lost(error)
            return await self._local.marked(name)
        self.health.ok()
        return value

    async def marked_among(self, names: Collection[str]) -> set[str]:
        """Which of `names` are marked, in one round trip (a Redis Cluster's: one per node, at
        once: mget_nonatomic sends one MGET per slot through a pipeline)."""
        if not names:
            return set()
        names = list(names)
        keys = [self._mark_key(name) for name in names]
        try:
            if isinstance(self.client, RedisCluster):
                values = await self.client.mget_nonatomic(keys)
            else:
                values = await self.client.mget(keys)
        except REDIS_DOWN as error:
            self.health.lost(error)
            return await self._local.marked_among(names)
        self.health.ok()
        return {name for name, value in zip(names, values) if value is not None}

    def signals(self, topic: str) -> RedisSignals:
        """Messages on `topic` for every process (one subscription per process and topic)."""
        if topic not in self._signals:
            self._signals[topic] = RedisSignals(self.client, f"{self.prefix}:signals:{topic}", self.health)
        return self._signals[topic]

    async def hit(self, name: str, window_seconds: int) -> int:
        """How many times `name` was hit in the current fixed window, this hit included."""
        window = int(time.time() // window_seconds)
        counter = f"{self.prefix}:hits:{name}:{window}"
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.incr(counter)
                pipe.expire(counter, window_seconds * 2)
                count, _ = await pipe.execute()
        except REDIS_DOWN as error:
            self.health.lost(error)
            return await self._local.hit(name, window_seconds)
        self.health.ok()
        return int(count)

    async def ping(self) -> bool:
        try:
            return bool(await self.client.ping())
        except REDIS_DOWN:
            return False

    @asynccontextmanager
    async def turn(self, key: ConversationKey) -> AsyncIterator[TurnHandle]:
        order = current_order()
        queue, lease = self.turn_keys(key.id, order.ticket)
        try:
            entered = await self._enter(
                keys=[queue, lease, self.history_key(key), self.documents_key(key)],
                args=[order.ticket, self._lease_prefix(key.id), self.lease_ms, self.ttl * 1000, repr(order.position),
                      order.not_before_ms],
            )  # fmt: skip
        except REDIS_DOWN as error:
            self.health.lost(error)
            # Ordered within this process only; the exchange is dropped, as there is no memory to
            # keep it in until Redis is back.
            async with self._local.turn(key):
                yield TurnHandle()
            return
        self.health.ok()
        turn = TurnHandle()
        finished: TurnHandle | None = None
        done = asyncio.Event()
        keeper = asyncio.create_task(self._keep_lease(lease, done))
        try:
            if entered[0] == 0:
                turn.context = _parsed(entered[1], entered[2])
            else:
                await self._wait_for_head(queue, order, self._lease_prefix(key.id), int(entered[0]))
                turn.context = await self.context(key)
            yield turn
            finished = turn  # not reached when the turn raised
        finally:
            # Stopped, not cancelled: a cancel landing while its PEXPIRE hands the connection back
            # to redis-py's pool loses that connection for good, and under load they all go.
            done.set()
            # The keeper winds down while the turn ends: a PEXPIRE of its racing the DEL of the
            # lease is harmless either way round.
            await self._end_turn(key, queue, lease, order, finished)
            await asyncio.shield(keeper)

    async def _end_turn(
        self, key: ConversationKey, queue: str, lease: str, order: TurnOrder, finished: TurnHandle | None
    ) -> None:
        exchange = finished.exchange if finished else None
        item = json.dumps(asdict(exchange), ensure_ascii=False) if exchange and self.window else ""
        answer = exchange.assistant if exchange and order.recorded else ""
        replaces = "1" if finished and finished.replaces_last else ""
        try:
            await self._leave(
                keys=[queue, lease, self.history_key(key), self.answer_key(key.id, order.ticket)],
                args=[order.ticket, item, self.window, self.ttl, answer, ANSWER_TTL, replaces],
            )
        except REDIS_DOWN as error:
            self.health.lost(error)
            return
        self.health.ok()

    async def _wait_for_head(self, queue: str, order: TurnOrder, lease_prefix: str, wait: int) -> None:
        """Wait while `wait` says so (see `_WAIT`), asking again; bounded by `max_wait`."""
        delay = self.poll
        deadline = time.monotonic() + self.max_wait
        while wait != 0:
            if time.monotonic() >= deadline:
                log.warning("a turn waited %.0f s for the one before it: going on beside it", self.max_wait)
                return
            await asyncio.sleep(wait / 1000 if wait > 0 else delay)
            delay = min(delay * 1.5, 0.25)
            try:
                wait = int(await self._at_head(keys=[queue], args=[order.ticket, lease_prefix, order.not_before_ms]))
            except REDIS_DOWN as error:
                self.health.lost(error)
                return
            self.health.ok()

    async def _keep_lease(self, lease: str, done: asyncio.Event) -> None:
        while True:
            try:
                await asyncio.wait_for(done.wait(), self.lease_ms / 3000)
                return
            except TimeoutError:
                pass
            try:
                await self.client.pexpire(lease, self.lease_ms)
            except REDIS_DOWN as error:
                self.health.lost(error)

    async def aclose(self) -> None:
        for signals in self._signals.values():
            await signals.aclose()
        await self.client.aclose()

