"""Per-conversation memory: the last N exchanges, the documents, and the turn order of a
conversation; in Redis (shared by every process) or, without it, in this process."""

from bot.core.memory.local import LocalMemory
from bot.core.memory.model import Context, Exchange, Memory, StoredDocument, TurnHandle, keep_within
from bot.core.memory.redis import REDIS_DOWN, RedisMemory

__all__ = [
    "Context", "Exchange", "LocalMemory", "Memory", "REDIS_DOWN", "RedisMemory", "StoredDocument",
    "TurnHandle", "keep_within",
]
