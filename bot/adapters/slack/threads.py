"""Which channel threads the bot takes part in, so that follow-ups there need no mention.

A thread joins when the bot is mentioned in it (root or reply) and stays joined as long as the
conversation's memory lives. One Redis key per thread, shared by every replica; without Redis, or
while it is unreachable, a bounded in-process set stands in."""

from __future__ import annotations

import logging
from collections import OrderedDict

import redis.asyncio as aioredis

from bot.config import Settings
from bot.core.conversation import ConversationKey
from bot.core.memory import REDIS_DOWN

log = logging.getLogger(__name__)

_LOCAL_MAX = 10_000


class ThreadMarks:
    def __init__(self, settings: Settings) -> None:
        self.ttl = settings.memory_ttl_seconds
        self.prefix = f"{settings.redis_key_prefix}:slack:joined:"
        self.redis = (
            aioredis.Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=3)
            if settings.redis_url
            else None
        )
        self._local: OrderedDict[str, None] = OrderedDict()
        self._down = False

    async def join(self, key: ConversationKey) -> None:
        self._remember(key.id)
        if self.redis is not None:
            try:
                await self.redis.set(self.prefix + key.id, 1, ex=self.ttl)
                self._down = False
            except REDIS_DOWN as error:
                self._note_down(error)

    async def joined(self, key: ConversationKey) -> bool:
        if key.id in self._local:
            return True
        if self.redis is None:
            return False
        try:
            found = bool(await self.redis.exists(self.prefix + key.id))
        except REDIS_DOWN as error:
            self._note_down(error)
            return False
        self._down = False
        if found:
            self._remember(key.id)
        return found

    def _note_down(self, error: BaseException) -> None:
        if not self._down:  # once per outage, not once per message
            log.warning("Redis unreachable (%s): thread marks kept in this process", type(error).__name__)
        self._down = True

    def _remember(self, name: str) -> None:
        self._local[name] = None
        self._local.move_to_end(name)
        while len(self._local) > _LOCAL_MAX:
            self._local.popitem(last=False)

    async def aclose(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()
