"""What a Discord request holds: where it comes from and who makes it (which decides its
conversation and whether the allow-lists let it through), and the file it brings, fetched from
Discord's CDN only, never more than the size limit.

discord.py's `Attachment.read()` GETs whatever `url` the attachment object names, loopback and
private addresses included, and reads the whole body: not used here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import discord

from bot.config import DISCORD_CDN_HOSTS, Settings
from bot.core.conversation import ConversationKey
from bot.core.memory.channels import ChannelSettings
from bot.core.usage import Asker
from bot.frontend.downloads import TrustedHosts, WebOrigin, fetch
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
    def asker(self) -> Asker:
        """The server is the team (none in a DM)."""
        return Asker("discord", str(self.guild or ""), str(self.user), str(self.channel))

    @property
    def settings_channel(self) -> str | None:
        """The server channel whose settings apply (a thread's parent); None in a DM."""
        return None if self.guild is None else f"discord:{self.guild}:{self.parent or self.channel}"

    def question(self, text: str, channel: ChannelSettings = ChannelSettings()) -> Question:
        return Question(self.key, text, self.asker, channel=channel)


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


# ------------------------------------------------------------------ files

_DISCORD_CDN = frozenset(WebOrigin("https", host, 443) for host in DISCORD_CDN_HOSTS)


def trusted_hosts(settings: Settings) -> TrustedHosts:
    """DISCORD_CDN_HOSTS over https (an entry written with http:// allows http for that host),
    and DISCORD_API_URL's origin when set (a Discord-compatible server may serve files itself).
    Discord's own CDN hosts must resolve to public addresses; hosts the operator added may not."""
    configured = {WebOrigin.of(entry if "://" in entry else f"https://{entry}") for entry in settings.discord_cdn_hosts}
    if settings.discord_api_url:
        configured.add(WebOrigin.of(settings.discord_api_url))
    origins = frozenset(origin for origin in configured if origin is not None)
    return TrustedHosts(public=origins & _DISCORD_CDN, named=origins - _DISCORD_CDN)


async def download(attachment: discord.Attachment, limits: ExtractionLimits, settings: Settings) -> bytes:
    """The attachment's bytes. Raises DocumentTooLarge (Discord's declared size first, then
    whatever actually arrives), UntrustedSource for a URL off the trusted hosts, FileUnreadable
    (DownloadFailed) when the CDN does not hand the file over."""
    if attachment.size > limits.max_bytes:
        raise limits.too_large()
    fetched = await fetch(attachment.url, trusted_hosts(settings), limits, name=attachment.filename)
    return fetched.data


class AttachedFile:
    """A file attached to a message or a command, as the document flow fetches it
    (`bot.frontend.flows.DocumentSource`)."""

    def __init__(self, attachment: discord.Attachment, settings: Settings) -> None:
        self.attachment = attachment
        self.settings = settings
        self.name = attachment.filename
        self.declared_size = attachment.size

    async def fetch(self, limits: ExtractionLimits) -> bytes:
        return await download(self.attachment, limits, self.settings)
