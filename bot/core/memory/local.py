"""Memory in one process, for running without Redis (and for a process while Redis is down).

Everything here that grows with traffic is bounded: claims, marks and rate counters keep at most
`LOCAL_CAP` names each (the oldest go first), and a conversation's turn queue exists only while a
turn is running or waiting in it."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
from collections import OrderedDict, defaultdict
from contextlib import asynccontextmanager
from typing import AsyncIterator, Collection

from bot.core.conversation import ConversationKey
from bot.core.memory.model import Context, Exchange, StoredDocument, TurnHandle, keep_within
from bot.core.memory.order import current_order
from bot.core.memory.signals import LocalSignals

log = logging.getLogger(__name__)

# Names remembered per kind (claims, marks, counters): about 250 bytes each, so 2.5 MB a kind at
# most. A claim older than the last LOCAL_CAP ones is forgotten before its TTL: platforms
# redeliver within minutes (Slack: at once, after 1 and after 5 minutes), and 10,000 events are 7
# minutes of a process answering 20 a second.
LOCAL_CAP = 10_000


class Expiring:
    """Names that hold until their own deadline, each with a value, at most `cap` at once (the
    oldest set go first)."""

    def __init__(self, cap: int = LOCAL_CAP) -> None:
        self.cap = cap
        self._until: OrderedDict[str, tuple[float, str]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._until)

    def add(self, name: str, ttl_seconds: float, value: str = "1") -> None:
        self._until[name] = (time.monotonic() + ttl_seconds, value)
        self._until.move_to_end(name)
        now = time.monotonic()
        while self._until and (len(self._until) > self.cap or next(iter(self._until.values()))[0] <= now):
            self._until.popitem(last=False)

    def get(self, name: str) -> str | None:
        """The value `name` holds, or None once it has expired (or was never set)."""
        until, value = self._until.get(name, (None, ""))
        if until is not None and until <= time.monotonic():
            del self._until[name]
            until = None
        return value if until is not None else None

    def holds(self, name: str) -> bool:
        return self.get(name) is not None


class OrderedTurns:
    """One turn at a time per conversation; of those waiting, the one the platform got first goes
    next. A waiter gives up waiting after `max_wait` seconds (a turn that never ends cannot stop
    its conversation), and goes on beside the running one."""

    def __init__(self, max_wait: float) -> None:
        self.max_wait = max_wait
        self._busy: set[str] = set()
        self._waiting: dict[str, list[tuple[float, int, asyncio.Future[None]]]] = {}
        self._arrivals = itertools.count()

    @asynccontextmanager
    async def turn(self, name: str, position: float) -> AsyncIterator[None]:
        held = await self._enter(name, position)
        try:
            yield
        finally:
            if held:
                self._release(name)

    async def _enter(self, name: str, position: float) -> bool:
        """Wait for the turn; True once holding it, False when the wait ran out."""
        if name not in self._busy:
            self._busy.add(name)
            return True
        handed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting.setdefault(name, []), (position, next(self._arrivals), handed))
        try:
            await asyncio.wait_for(asyncio.shield(handed), self.max_wait)
            return True
        except TimeoutError:
            log.warning("a turn waited %.0f s for the one before it: going on beside it", self.max_wait)
        except asyncio.CancelledError:
            if handed.done():  # handed the turn as it was cancelled: pass it on
                self._release(name)
            raise
        finally:
            handed.cancel()  # a no-op once handed; otherwise `_release` skips it
        return False

    def _release(self, name: str) -> None:
        waiting = self._waiting.get(name, [])
        while waiting:
            _, _, handed = heapq.heappop(waiting)
            if not handed.done():
                handed.set_result(None)
                return
        self._waiting.pop(name, None)
        self._busy.discard(name)


class LocalMemory:
    """Same contract in one process, for running without Redis."""

    def __init__(
        self, window: int, max_document_chars: int = 2_000_000, *, max_wait: float = 600.0, cap: int = LOCAL_CAP
    ) -> None:
        self.window = window
        self.max_document_chars = max_document_chars
        self._histories: dict[str, list[Exchange]] = defaultdict(list)
        self._documents: dict[str, list[StoredDocument]] = {}
        self._turns = OrderedTurns(max_wait)
        self._claims = Expiring(cap)
        self._marks = Expiring(cap)
        self._hits: OrderedDict[str, tuple[int, int]] = OrderedDict()
        self._cap = cap
        self._signals: dict[str, LocalSignals] = {}

    async def context(self, key: ConversationKey) -> Context:
        return Context(list(self._histories.get(key.id, ())), list(self._documents.get(key.id, ())))

    async def clear(self, key: ConversationKey) -> None:
        self._histories.pop(key.id, None)
        self._documents.pop(key.id, None)

    async def save_document(self, key: ConversationKey, document: StoredDocument) -> None:
        existing = self._documents.get(key.id, [])
        self._documents[key.id] = keep_within([*existing, document], self.max_document_chars)

    @asynccontextmanager
    async def turn(self, key: ConversationKey) -> AsyncIterator[TurnHandle]:
        async with self._turns.turn(key.id, current_order().position):
            turn = TurnHandle(await self.context(key))
            yield turn
            # Not reached when the turn raised: a failed answer is not remembered.
            if turn.exchange is not None and self.window:
                items = self._histories[key.id]
                if turn.replaces_last and items:
                    items.pop()
                items.append(turn.exchange)
                del items[: -self.window]

    async def claim(self, name: str, ttl_seconds: int) -> bool:
        if self._claims.holds(name):
            return False
        self._claims.add(name, ttl_seconds)
        return True

    async def mark(self, name: str, ttl_seconds: int, value: str = "1") -> None:
        self._marks.add(name, ttl_seconds, value)

    async def is_marked(self, name: str) -> bool:
        return self._marks.holds(name)

    async def marked(self, name: str) -> str | None:
        return self._marks.get(name)

    async def marked_among(self, names: Collection[str]) -> set[str]:
        return {name for name in names if self._marks.holds(name)}

    def signals(self, topic: str) -> LocalSignals:
        if topic not in self._signals:
            self._signals[topic] = LocalSignals()
        return self._signals[topic]

    async def hit(self, name: str, window_seconds: int) -> int:
        window = int(time.time() // window_seconds)
        seen_window, count = self._hits.pop(name, (window, 0))
        count = count + 1 if seen_window == window else 1
        self._hits[name] = (window, count)
        if len(self._hits) > self._cap:
            self._hits.popitem(last=False)
        return count

    async def ping(self) -> bool:
        return True

    async def aclose(self) -> None:
        return None
