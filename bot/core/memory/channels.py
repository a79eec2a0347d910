"""Per-channel settings an admin chose: the channel's persona (added to the system prompt), the
language answers are in, and whether thread follow-ups need a mention. In Redis (every replica
reads the same, kept until changed) or, without it, in this process.

A channel is named by the front end ("slack:T1:C1", "discord:G1:C1"); an unset field means the
bot's own setting applies."""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import asdict, dataclass, fields, replace
from typing import Literal, Protocol

import redis.asyncio as aioredis

from bot.core.memory.health import REDIS_DOWN
from bot.core.memory.local import LOCAL_CAP

AnswerLanguage = Literal["ko", "en"]
MAX_PERSONA_CHARS = 1_000  # a persona is a few sentences: longer would eat the prompt's budget


@dataclass(frozen=True, slots=True)
class ChannelSettings:
    persona: str = ""
    language: AnswerLanguage | None = None
    followups_need_mention: bool | None = None

    def with_changes(self, **changes: object) -> ChannelSettings:
        if isinstance(persona := changes.get("persona"), str):
            changes["persona"] = persona.strip()[:MAX_PERSONA_CHARS]
        return replace(self, **changes)  # type: ignore[arg-type]

    def language_or(self, default: str) -> str:
        return self.language or default

    @classmethod
    def parsed(cls, raw: str | None) -> ChannelSettings:
        if not raw:
            return cls()
        data = json.loads(raw)
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})

    def dumps(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)


class ChannelSettingsStore(Protocol):
    async def get(self, channel: str) -> ChannelSettings: ...

    async def put(self, channel: str, settings: ChannelSettings) -> None: ...


class LocalChannelSettings:
    def __init__(self, cap: int = LOCAL_CAP) -> None:
        self.cap = cap
        self._settings: OrderedDict[str, ChannelSettings] = OrderedDict()

    async def get(self, channel: str) -> ChannelSettings:
        return self._settings.get(channel, ChannelSettings())

    async def put(self, channel: str, settings: ChannelSettings) -> None:
        self._settings[channel] = settings
        self._settings.move_to_end(channel)
        while len(self._settings) > self.cap:
            self._settings.popitem(last=False)


class RedisChannelSettings:
    """`{prefix}:channel-settings:{channel}` as JSON. While Redis is unreachable, reads give what
    this process last read or wrote (else the defaults), and writes raise: an admin is told."""

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self._seen = LocalChannelSettings()

    def key(self, channel: str) -> str:
        return f"{self.prefix}:channel-settings:{channel}"

    async def get(self, channel: str) -> ChannelSettings:
        try:
            settings = ChannelSettings.parsed(await self.client.get(self.key(channel)))
        except REDIS_DOWN:
            return await self._seen.get(channel)
        await self._seen.put(channel, settings)
        return settings

    async def put(self, channel: str, settings: ChannelSettings) -> None:
        await self.client.set(self.key(channel), settings.dumps())
        await self._seen.put(channel, settings)
