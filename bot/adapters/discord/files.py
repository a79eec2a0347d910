"""Fetching a Discord attachment: from Discord's CDN only, never more than the size limit.

discord.py's `Attachment.read()` GETs whatever `url` the attachment object names, loopback and
private addresses included, and reads the whole body: not used here."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from bot.config import DISCORD_CDN_HOSTS, Settings
from bot.frontend.downloads import WebOrigin, TrustedHosts, fetch

if TYPE_CHECKING:  # the document package loads the format libraries
    from bot.core.documents import ExtractionLimits

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
