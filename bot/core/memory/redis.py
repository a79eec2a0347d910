"""Per-conversation memory: the last N exchanges, and the turn order of a conversation.

In Redis, a conversation's history is one list of JSON exchanges, appended, trimmed to the window
and given a fresh TTL by the script that ends the exchange's turn. An exchange is written only when
its turn ends normally, so a failed or cancelled answer leaves memory as it was.

Messages of one conversation are answered one at a time, in arrival order, across every process
sharing the Redis: each turn takes a ticket in a per-conversation queue and waits until it is at
the head. Every waiting or running turn keeps a short lease alive, so a crashed process's tickets
are skipped instead of blocking the conversation forever."""


from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from contextlib import asynccontextmanager
from dataclasses import asdict
from typing import AsyncIterator

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.core.conversation import ConversationKey
from bot.core.memory.local import LocalMemory
from bot.core.memory.model import Context, Exchange, StoredDocument, TurnHandle, keep_within

log = logging.getLogger(__name__)

REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)


_HEAD_CHECK = """
local function at_head(queue, ticket, lease_prefix)
  while true do
    local head = redis.call('LINDEX', queue, 0)
    if not head then return false end
    if head == ticket then return true end
    if redis.call('EXISTS', lease_prefix .. head) == 1 then return false end
    redis.call('LPOP', queue)
  end
end
"""

# KEYS[1] queue; ARGV[1] own ticket; ARGV[2] lease key prefix.
_AT_HEAD = _HEAD_CHECK + "return at_head(KEYS[1], ARGV[1], ARGV[2]) and 1 or 0"

# Joining the queue, the first head check and, at the head, reading the context, in one round
# trip: most turns find the queue empty. KEYS[1] queue, KEYS[2] own lease, KEYS[3] history,
# KEYS[4] documents; ARGV[1] ticket, ARGV[2] lease prefix, ARGV[3] lease ms, ARGV[4] queue TTL ms.
_ENTER = _HEAD_CHECK + """
redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
if not at_head(KEYS[1], ARGV[1], ARGV[2]) then return {0} end
return {1, redis.call('LRANGE', KEYS[3], 0, -1), redis.call('LRANGE', KEYS[4], 0, -1)}
"""

# Appending the turn's exchange (if any) and leaving the queue in one step: the next turn, in any
# process, starts only once the exchange is in the history it reads.
# KEYS[1] queue, KEYS[2] own lease, KEYS[3] history; ARGV[1] ticket, ARGV[2] exchange (JSON, or ''
# for none), ARGV[3] window, ARGV[4] history TTL seconds.
_LEAVE = """
if ARGV[2] ~= '' then
  redis.call('RPUSH', KEYS[3], ARGV[2])
  redis.call('LTRIM', KEYS[3], -tonumber(ARGV[3]), -1)
  redis.call('EXPIRE', KEYS[3], ARGV[4])
end
redis.call('LREM', KEYS[1], 1, ARGV[1])
redis.call('DEL', KEYS[2])
return 1
"""


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
        lease_seconds: float = 10.0,
        wait_poll_seconds: float = 0.02,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.window = window
        self.ttl = ttl_seconds
        self.max_document_chars = max_document_chars
        self.lease_ms = int(lease_seconds * 1000)
        self.poll = wait_poll_seconds
        self._at_head = client.register_script(_AT_HEAD)
        self._enter = client.register_script(_ENTER)
        self._leave = client.register_script(_LEAVE)
        self._degraded = False
        self._local = LocalMemory(window, max_document_chars)

    @classmethod
    def from_url(cls, url: str, *, max_connections: int = 100, **kwargs: object) -> "RedisMemory":
        # A blocking pool: past `max_connections` commands wait for a free connection. redis-py's
        # default pool raises MaxConnectionsError instead (a ConnectionError), which would read as
        # "Redis is down" and drop memory whenever more turns touch Redis at once than it has
        # connections. The wait is long because running out of connections only happens under
        # load (a Redis that is down refuses connections at once), and memory must outlast load.
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=30,
            decode_responses=True,
            socket_timeout=5,
            socket_connect_timeout=3,
            health_check_interval=30,
        )
        return cls(aioredis.Redis.from_pool(pool), **kwargs)  # type: ignore[arg-type]

    def history_key(self, key: ConversationKey) -> str:
        return f"{self.prefix}:{key.id}:history"

    def documents_key(self, key: ConversationKey) -> str:
        return f"{self.prefix}:{key.id}:documents"

    def _queue_key(self, key: ConversationKey) -> str:
        return f"{self.prefix}:{key.id}:turns"

    def _lease_prefix(self, key: ConversationKey) -> str:
        return f"{self.prefix}:{key.id}:lease:"

    def _down(self, error: BaseException) -> None:
        if not self._degraded:
            log.warning("Redis unreachable (%s): answering without memory until it is back", type(error).__name__)
        self._degraded = True

    def _up(self) -> None:
        if self._degraded:
            log.warning("Redis is back: memory restored")
        self._degraded = False

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
            self._down(error)
            return Context([], [])
        self._up()
        return _parsed(history, documents)

    async def clear(self, key: ConversationKey) -> None:
        try:
            await self.client.delete(self.history_key(key), self.documents_key(key))
        except REDIS_DOWN as error:
            self._down(error)

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
            self._down(error)

    async def claim(self, name: str, ttl_seconds: int) -> bool:
        """True for the first caller (any process) to claim `name` within the TTL."""
        try:
            return bool(await self.client.set(f"{self.prefix}:claim:{name}", "1", nx=True, ex=ttl_seconds))
        except REDIS_DOWN as error:
            self._down(error)
            return await self._local.claim(name, ttl_seconds)

    async def mark(self, name: str, ttl_seconds: int) -> None:
        """Remember that `name` holds (e.g. "the bot takes part in this thread") for a while,
        for every replica."""
        await self._local.mark(name, ttl_seconds)
        try:
            await self.client.set(f"{self.prefix}:mark:{name}", "1", ex=ttl_seconds)
        except REDIS_DOWN as error:
            self._down(error)

    async def is_marked(self, name: str) -> bool:
        try:
            return bool(await self.client.exists(f"{self.prefix}:mark:{name}"))
        except REDIS_DOWN as error:
            self._down(error)
            return await self._local.is_marked(name)

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
            self._down(error)
            return await self._local.hit(name, window_seconds)
        return int(count)

    async def ping(self) -> bool:
        try:
            return bool(await self.client.ping())
        except REDIS_DOWN:
            return False

    @asynccontextmanager
    async def turn(self, key: ConversationKey) -> AsyncIterator[TurnHandle]:
        ticket = uuid.uuid4().hex
        queue, lease = self._queue_key(key), self._lease_prefix(key) + ticket
        try:
            entered = await self._enter(
                keys=[queue, lease, self.history_key(key), self.documents_key(key)],
                args=[ticket, lease[: -len(ticket)], self.lease_ms, self.ttl * 1000],
            )
        except REDIS_DOWN as error:
            self._down(error)
            # Ordered within this process only; the exchange is dropped, as there is no memory to
            # keep it in until Redis is back.
            async with self._local.turn(key):
                yield TurnHandle()
            return
        self._up()
        turn = TurnHandle()
        finished: Exchange | None = None
        done = asyncio.Event()
        keeper = asyncio.create_task(self._keep_lease(lease, done))
        try:
            if entered[0]:
                turn.context = _parsed(entered[1], entered[2])
            else:
                await self._wait_for_head(queue, lease, ticket)
                turn.context = await self.context(key)
            yield turn
            finished = turn.exchange  # not reached when the turn raised
        finally:
            # Stopped, not cancelled: a cancel landing while its PEXPIRE hands the connection back
            # to redis-py's pool loses that connection for good, and under load they all go.
            done.set()
            # The keeper winds down while the turn ends: a PEXPIRE of its racing the DEL of the
            # lease is harmless either way round.
            await self._end_turn(queue, lease, ticket, self.history_key(key), finished)
            await asyncio.shield(keeper)

    async def _end_turn(self, queue: str, lease: str, ticket: str, history: str, exchange: Exchange | None) -> None:
        item = json.dumps(asdict(exchange), ensure_ascii=False) if exchange and self.window else ""
        try:
            await self._leave(keys=[queue, lease, history], args=[ticket, item, self.window, self.ttl])
        except REDIS_DOWN as error:
            self._down(error)
            return
        self._up()

    async def _wait_for_head(self, queue: str, lease: str, ticket: str) -> None:
        delay = self.poll
        lease_prefix = lease[: -len(ticket)]
        while True:
            try:
                if await self._at_head(keys=[queue], args=[ticket, lease_prefix]):
                    return
            except REDIS_DOWN as error:
                self._down(error)
                return
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 0.25)

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
                self._down(error)

    async def aclose(self) -> None:
        await self.client.aclose()
