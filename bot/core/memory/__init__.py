"""Per-conversation memory: the last N exchanges, the documents, and the turn order of a
conversation; in Redis (shared by every process) or, without it, in this process. With Redis,
accepted questions are also kept there as jobs any replica can answer (`jobs`)."""

from bot.core.memory.health import REDIS_DOWN, RedisHealth
from bot.core.memory.local import LocalMemory
from bot.core.memory.model import Context, Exchange, Memory, StoredDocument, TurnHandle, keep_within
from bot.core.memory.order import TurnOrder, current_order, in_order
from bot.core.memory.redis import RedisMemory

__all__ = [
    "Context", "Exchange", "LocalMemory", "Memory", "REDIS_DOWN", "RedisHealth", "RedisMemory", "StoredDocument",
    "TurnHandle", "TurnOrder", "current_order", "in_order", "keep_within",
]
