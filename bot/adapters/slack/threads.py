"""Which channel threads the bot takes part in, so that follow-ups there need no mention.

A thread joins when the bot is mentioned in it (root or reply) and stays joined as long as the
conversation's memory lives; the mark is kept in the engine's memory, shared by every replica."""

from __future__ import annotations

from bot.core.conversation import ConversationKey
from bot.core.engine import ChatEngine


class ThreadMarks:
    def __init__(self, engine: ChatEngine) -> None:
        self.memory = engine.memory
        self.ttl = engine.settings.memory_ttl_seconds

    async def join(self, key: ConversationKey) -> None:
        await self.memory.mark(f"slack-thread:{key.id}", self.ttl)

    async def joined(self, key: ConversationKey) -> bool:
        return await self.memory.is_marked(f"slack-thread:{key.id}")
