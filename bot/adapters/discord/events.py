"""Where a Discord request comes from and who makes it: what decides its conversation and
whether the allow-lists let it through."""

from __future__ import annotations

from dataclasses import dataclass

import discord

from bot.config import Settings
from bot.core.conversation import ConversationKey
from bot.frontend.flows import Question


@dataclass(frozen=True)
class Origin:
    user: int
    guild: int | None  # None: a DM
    channel: int
    parent: int | None  # the channel a thread belongs to; None outside threads
    roles: frozenset[int]

    @classmethod
    def of(cls, user: discord.abc.User, guild_id: int | None, channel: object) -> Origin:
        thread = channel if isinstance(channel, discord.Thread) else None
        return cls(
            user=user.id,
            guild=guild_id,
            channel=getattr(channel, "id", 0),
            parent=thread.parent_id if thread else None,
            roles=frozenset(role.id for role in getattr(user, "roles", ())),  # a Member's, in a guild
        )

    @property
    def key(self) -> ConversationKey:
        """Per thread, else per user per channel, else per user in DMs; the guild comes first so
        two servers never share a conversation."""
        if self.guild is None:
            return ConversationKey("discord", ("dm", str(self.user)))
        if self.parent is not None:
            return ConversationKey("discord", (str(self.guild), str(self.channel)))
        return ConversationKey("discord", (str(self.guild), str(self.channel), str(self.user)))

    @property
    def asker(self) -> str:
        """The user as the engine's per-user rate limit knows them."""
        return f"discord:{self.user}"

    def question(self, text: str) -> Question:
        return Question(self.key, text, self.asker)


@dataclass(frozen=True)
class AllowList:
    """Every list that is set must match; an empty list restricts nothing."""

    guilds: frozenset[int]
    channels: frozenset[int]
    roles: frozenset[int]
    users: frozenset[int]

    @classmethod
    def from_settings(cls, settings: Settings) -> AllowList:
        """DISCORD_ALLOWED_GUILDS, _CHANNELS, _ROLES and _USERS, in the fields' order."""
        return cls(*(getattr(settings, f"discord_allowed_{kind}") for kind in ("guilds", "channels", "roles", "users")))

    def allows(self, origin: Origin) -> bool:
        checks = (
            (self.guilds, {origin.guild}),
            (self.channels, {origin.channel, origin.parent}),
            (self.roles, origin.roles),
            (self.users, {origin.user}),
        )
        return all(not allowed or not allowed.isdisjoint(ids) for allowed, ids in checks)
