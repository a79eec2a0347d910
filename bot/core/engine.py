"""The one API every adapter calls: stream a reply, get a whole reply, reset a conversation.

Adapters translate platform events into (ConversationKey, text) and render what comes back;
everything else (memory, prompt, token budget, the LLM, ordering) happens here."""

from __future__ import annotations

import logging
from contextlib import aclosing
from dataclasses import dataclass
from typing import AsyncIterator

from bot.config import Settings
from bot.core.budget import Budget
from bot.core.conversation import ConversationKey
from bot.core.llm import ChatLLM, build_llm
from bot.core.memory import Exchange, LocalMemory, Memory, RedisMemory
from bot.core.prompt import system_prompt
from bot.core.tokens import TokenCounter, load_token_counter

log = logging.getLogger(__name__)


@dataclass
class ChatEngine:
    settings: Settings
    llm: ChatLLM
    memory: Memory
    tokens: TokenCounter

    @classmethod
    def from_settings(cls, settings: Settings) -> "ChatEngine":
        return cls(settings, build_llm(settings), build_memory(settings), load_token_counter())

    @property
    def budget(self) -> Budget:
        return Budget(
            self.tokens, self.settings.llm_context_tokens, self.settings.llm_max_new_tokens
        )

    @property
    def system(self) -> str:
        return system_prompt(self.settings.bot_language, self.settings.bot_system_prompt)

    async def stream_reply(self, key: ConversationKey, text: str) -> AsyncIterator[str]:
        """Text deltas of the answer to `text` in conversation `key`.

        Raises BotError subclasses. The exchange is remembered only when the answer completed
        and the caller consumed it to the end; use `contextlib.aclosing` when you may stop early."""
        async with self.memory.turn(key):
            history = await self.memory.history(key)
            turns = self.budget.fit(self.system, history, text)
            parts: list[str] = []
            async for delta in self.llm.stream(turns):
                parts.append(delta)
                yield delta
            answer = "".join(parts).strip()
            if answer:
                await self.memory.append(key, Exchange(text.strip(), answer))

    async def reply(self, key: ConversationKey, text: str) -> str:
        async with aclosing(self.stream_reply(key, text)) as deltas:
            return "".join([delta async for delta in deltas]).strip()

    async def reset(self, key: ConversationKey) -> None:
        await self.memory.clear(key)

    async def claim_event(self, event_id: str, ttl_seconds: int = 3600) -> bool:
        """De-duplicate platform deliveries: True only for the first replica to see `event_id`."""
        return await self.memory.claim(f"event:{event_id}", ttl_seconds)

    async def aclose(self) -> None:
        await self.memory.aclose()
        close = getattr(self.llm, "close", None)
        if close is not None:
            close()


def build_memory(settings: Settings) -> Memory:
    if not settings.redis_url:
        log.warning("REDIS_URL is not set: conversations are kept in this process only")
        return LocalMemory(settings.memory_window)
    return RedisMemory.from_url(
        settings.redis_url,
        prefix=settings.redis_key_prefix,
        window=settings.memory_window,
        ttl_seconds=settings.memory_ttl_seconds,
    )
