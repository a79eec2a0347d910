"""Conversation identity: which memory a message belongs to."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True, slots=True)
class ConversationKey:
    """`platform` plus the scopes that make a conversation unique there, outermost first:
    `("T123", "C456", "1700000000.0001")` for a Slack thread, the guild id first on Discord."""

    platform: str
    scope: tuple[str, ...]

    @property
    def id(self) -> str:
        # Colons separate key parts in Redis; a scope must never be able to forge another key.
        parts = (self.platform, *self.scope)
        return ":".join(quote(str(part), safe="._-@") for part in parts)
