"""Per-channel settings an admin chose: the channel's persona (added to the system prompt), the
language answers are in, and whether thread follow-ups need a mention. In Redis (every replica
reads the same, kept until changed) or, without it, in this process.

A channel is named by the front end ("slack:T1:C1", "discord:G1:C1"); an unset field means the
bot's own setting applies."""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Literal, Protocol

import redis.asyncio as aioredis

from bot.core.memory.health import REDIS_DOWN
from bot.core.memory.local import LOCAL_CAP
from bot.core.memory.signals import Signals

AnswerLanguage = Literal["ko", "en"]
MAX_PERSONA_CHARS = 1_000  # a persona is a few sentences: longer would eat the prompt's budget


@dataclass(frozen=True, slots=True)
class ChannelSettings:
    persona: str = ""
    language: AnswerLanguage | None = None
    followups_need_mention: bool | None = None

    def with_changes(self, changes: Changes) -> ChannelSettings:
        return replace(self, **cleaned(changes))  # type: ignore[arg-type]

    def language_or(self, default: str) -> str:
        return self.language or default

    @classmethod
    def parsed(cls, stored: Mapping[str, str]) -> ChannelSettings:
        """From the fields as stored (each a JSON value); unknown fields are left out."""
        names = {f.name for f in fields(cls)}
        return cls(**{name: json.loads(value) for name, value in stored.items() if name in names})


Changes = Mapping[str, object]  # setting name → new value (None: back to the bot's own)


def cleaned(changes: Changes) -> dict[str, object]:
    changes = dict(changes)
    if isinstance(persona := changes.get("persona"), str):
        changes["persona"] = persona.strip()[:MAX_PERSONA_CHARS]
    return changes


class ChannelSettingsStore(Protocol):
    async def get(self, channel: str) -> ChannelSettings: ...

    async def change(self, channel: str, changes: Changes) -> ChannelSettings:
        """Apply `changes` (only those fields: two admins changing two settings at once both
        stick) and return the channel's settings after them."""
        ...

    async def reset(self, channel: str) -> None: ...


class LocalChannelSettings:
    def __init__(self, cap: int = LOCAL_CAP) -> None:
        self.cap = cap
        self._settings: OrderedDict[str, ChannelSettings] = OrderedDict()

    async def get(self, channel: str) -> ChannelSettings:
        return self._settings.get(channel, ChannelSettings())

    async def change(self, channel: str, changes: Changes) -> ChannelSettings:
        self.keep(channel, (await self.get(channel)).with_changes(changes))
        return self._settings[channel]

    async def reset(self, channel: str) -> None:
        self.forget(channel)

    def cached(self, channel: str) -> ChannelSettings | None:
        return self._settings.get(channel)

    def forget(self, channel: str) -> None:
        self._settings.pop(channel, None)

    def keep(self, channel: str, settings: ChannelSettings) -> None:
        self._settings[channel] = settings
        self._settings.move_to_end(channel)
        while len(self._settings) > self.cap:
            self._settings.popitem(last=False)


class RedisChannelSettings:
    """The hash `{prefix}:channel-settings:{channel}`, a field per setting (a JSON value). While
    Redis is unreachable, reads give what this process last read (else the defaults), and
    changes raise: the admin is told.

    Every question reads its channel's settings, and they change a few times a year: what was
    read is kept in this process until a change is announced on `signals` (every replica hears it
    at once) or the signals' next recheck (a change announced while this process's subscription
    was down is seen within bot.core.memory.signals.SAFETY_SECONDS)."""

    def __init__(self, client: aioredis.Redis, prefix: str, signals: Signals) -> None:
        self.client = client
        self.prefix = prefix
        self.signals = signals
        self._seen = LocalChannelSettings()  # the last read of each channel, for Redis outages
        self._fresh = LocalChannelSettings()  # reads no change has been announced since
        self._generation = 0  # a read that a change overtook is not kept
        self._listening = False

    def key(self, channel: str) -> str:
        return f"{self.prefix}:channel-settings:{channel}"

    async def get(self, channel: str) -> ChannelSettings:
        self._listen()
        if (fresh := self._fresh.cached(channel)) is not None:
            return fresh
        generation = self._generation
        try:
            settings = ChannelSettings.parsed(await self.client.hgetall(self.key(channel)))
        except REDIS_DOWN:
            return await self._seen.get(channel)
        self._seen.keep(channel, settings)
        if generation == self._generation:
            self._fresh.keep(channel, settings)
        return settings

    async def change(self, channel: str, changes: Changes) -> ChannelSettings:
        values = {name: json.dumps(value, ensure_ascii=False) for name, value in cleaned(changes).items()}
        # One key: in order on one node, without MULTI (which Redis Cluster refuses across nodes).
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.hset(self.key(channel), mapping=values)
            pipe.hgetall(self.key(channel))
            _, stored = await pipe.execute()
        settings = ChannelSettings.parsed(stored)
        self._seen.keep(channel, settings)
        await self._changed(channel)
        return settings

    async def reset(self, channel: str) -> None:
        await self.client.delete(self.key(channel))
        await self._seen.reset(channel)
        await self._changed(channel)

    async def _changed(self, channel: str) -> None:
        self._forget(channel)
        await self.signals.send(channel)

    def _listen(self) -> None:
        if not self._listening:
            self.signals.listen(self._forget, self._forget_all)
            self._listening = True

    def _forget(self, channel: str) -> None:
        self._generation += 1
        self._fresh.forget(channel)

    async def _forget_all(self) -> None:
        self._generation += 1
        self._fresh = LocalChannelSettings()
