"""What a Discord request holds: where it comes from and who makes it (which decides its
conversation and whether the allow-lists let it through), and the file it brings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import discord

from bot.config import Settings
from bot.core.conversation import ConversationKey
from bot.core.errors import FileUnreadable
from bot.frontend.flows import Question

if TYPE_CHECKING:  # the document package loads the format libraries
    from bot.core.documents import ExtractionLimits


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
        return cls(
            guilds=settings.discord_allowed_guilds,
            channels=settings.discord_allowed_channels,
            roles=settings.discord_allowed_roles,
            users=settings.discord_allowed_users,
        )

    def allows(self, origin: Origin) -> bool:
        checks = (
            (self.guilds, {origin.guild}),
            (self.channels, {origin.channel, origin.parent}),
            (self.roles, origin.roles),
            (self.users, {origin.user}),
        )
        return all(not allowed or not allowed.isdisjoint(ids) for allowed, ids in checks)


class AttachedFile:
    """A file attached to a message or a command, as the document flow fetches it."""

    def __init__(self, attachment: discord.Attachment) -> None:
        self.attachment = attachment
        self.name = attachment.filename
        self.declared_size = attachment.size

    async def fetch(self, limits: ExtractionLimits) -> bytes:
        try:
            data = await self.attachment.read()
        except discord.HTTPException:
            raise FileUnreadable(name=self.name) from None
        limits.check_size(data)
        return data
