"""Memory in one process, for running without Redis (and for a process while Redis is down)."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from contextlib import asynccontextmanager
from typing import AsyncIterator

from bot.core.conversation import ConversationKey
from bot.core.memory.model import Context, Exchange, StoredDocument, TurnHandle, keep_within


class LocalMemory:
    """Same contract in one process, for running without Redis."""

    def __init__(self, window: int, max_document_chars: int = 2_000_000) -> None:
        self.window = window
        self.max_document_chars = max_document_chars
        self._histories: dict[str, list[Exchange]] = defaultdict(list)
        self._documents: dict[str, list[StoredDocument]] = {}
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._claims: dict[str, float] = {}
        self._hits: dict[str, tuple[int, int]] = {}

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
        # asyncio.Lock wakes waiters first-in first-out, which is the ordering we promise.
        async with self._locks[key.id]:
            turn = TurnHandle(await self.context(key))
            yield turn
            # Not reached when the turn raised: a failed answer is not remembered.
            if turn.exchange is not None and self.window:
                items = self._histories[key.id]
                items.append(turn.exchange)
                del items[: -self.window]

    async def claim(self, name: str, ttl_seconds: int) -> bool:
        now = time.monotonic()
        if self._claims.get(name, 0) > now:
            return False
        self._claims[name] = now + ttl_seconds
        return True

    async def mark(self, name: str, ttl_seconds: int) -> None:
        self._claims[name] = time.monotonic() + ttl_seconds

    async def is_marked(self, name: str) -> bool:
        return self._claims.get(name, 0) > time.monotonic()

    async def hit(self, name: str, window_seconds: int) -> int:
        window = int(time.time() // window_seconds)
        seen_window, count = self._hits.get(name, (window, 0))
        count = count + 1 if seen_window == window else 1
        self._hits[name] = (window, count)
        return count

    async def ping(self) -> bool:
        return True

    async def aclose(self) -> None:
        return None
