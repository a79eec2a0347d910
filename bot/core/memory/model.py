"""What a conversation's memory holds, and the contract every memory keeps."""

from __future__ import annotations

from collections.abc import Collection
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Protocol

from bot.core.conversation import ConversationKey
from bot.core.memory.signals import Signals


@dataclass(frozen=True, slots=True)
class Exchange:
    user: str
    assistant: str


@dataclass(frozen=True, slots=True)
class StoredDocument:
    filename: str
    text: str


@dataclass(frozen=True, slots=True)
class Context:
    """What a conversation holds for its next answer."""

    history: list[Exchange]
    documents: list[StoredDocument]


@dataclass(slots=True)
class TurnHandle:
    """The turn being answered, with what the conversation held when it started. The exchange
    given to `remember` joins the history only if the turn then ends without an error, in the
    same step that lets the next turn start."""

    context: Context = field(default_factory=lambda: Context([], []))
    exchange: Exchange | None = None
    replaces_last: bool = False  # the exchange takes the place of the history's last one

    def remember(self, exchange: Exchange) -> None:
        self.exchange = exchange

    def replace_last(self, exchange: Exchange) -> None:
        """Remember `exchange` instead of the history's last one (a regenerated answer)."""
        self.exchange, self.replaces_last = exchange, True


def keep_within(documents: list[StoredDocument], max_chars: int) -> list[StoredDocument]:
    """The newest documents whose text fits `max_chars` together; the newest is cut to fit."""
    kept: list[StoredDocument] = []
    room = max_chars
    for document in reversed(documents):
        if room <= 0:
            break
        kept.insert(0, StoredDocument(document.filename, document.text[:room]))
        room -= len(document.text)
    return kept


class Memory(Protocol):
    async def context(self, key: ConversationKey) -> Context: ...

    # The handle's `context` is read once the turn is the conversation's to answer; where it stands
    # in the conversation's queue, the caller's context says (bot.core.memory.order.in_order).
    def turn(self, key: ConversationKey) -> AbstractAsyncContextManager[TurnHandle]: ...

    async def clear(self, key: ConversationKey) -> None: ...

    async def save_document(self, key: ConversationKey, document: StoredDocument) -> None: ...

    async def claim(self, name: str, ttl_seconds: int) -> bool: ...

    async def hit(self, name: str, window_seconds: int) -> int: ...

    async def mark(self, name: str, ttl_seconds: int, value: str = "1") -> None: ...

    async def is_marked(self, name: str) -> bool: ...

    async def marked(self, name: str) -> str | None: ...

    async def marked_among(self, names: Collection[str]) -> set[str]: ...

    # Messages on `topic` heard by every process (each process's one subscription); what a
    # message announces must also be marked: one sent while a process was not listening is lost.
    def signals(self, topic: str) -> Signals: ...

    async def ping(self) -> bool: ...

    async def aclose(self) -> None: ...
