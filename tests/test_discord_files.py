"""Discord attachments are fetched from Discord's CDN (or the hosts the operator configured) only,
and never more of them than the size limit, whatever they declare."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import discord
import pytest

from bot.adapters.discord.events import download, trusted_hosts
from bot.config import Settings
from bot.core.documents import ExtractionLimits
from bot.core.errors import DocumentTooLarge
from bot.frontend.downloads import UntrustedSource
from fakes.discord import FakeDiscord, running_fake_discord
from fakes.file_host import FileHost
from fakes.sagemaker import FakeSageMaker
from tests.discord_support import StartDiscordBot
from tests.support import KOREAN

LIMITS = ExtractionLimits(max_bytes=200_000)


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with running_fake_discord() as fake:
        yield fake


def attachment(payload: dict[str, Any]) -> discord.Attachment:
    """discord.py's Attachment, parsed from an attachment object as Discord sends it (the state
    is only kept for `Attachment.read`, which the bot does not use)."""
    return discord.Attachment(data=payload, state=SimpleNamespace(http=None))  # type: ignore[arg-type]


async def test_attachments_come_from_the_configured_discord_server(fake: FakeDiscord) -> None:
    file = fake.add_attachment("회의록: 예산안 승인".encode(), "회의록.txt", "text/plain")
    data = await download(attachment(file), LIMITS, Settings(discord_api_url=fake.api_url))

    assert data == "회의록: 예산안 승인".encode() and len(fake.downloads) == 1


async def test_attachments_on_hosts_nobody_configured_are_refused_before_any_connection(fake: FakeDiscord) -> None:
    async with FileHost() as elsewhere:
        file = fake.add_attachment(b"secret", "a.txt", "text/plain")
        with pytest.raises(UntrustedSource):  # loopback, and Discord's CDN hosts are all that is trusted
            await download(attachment(file), LIMITS, Settings())
        forged = {**file, "url": elsewhere.url("/a.txt")}  # same address as the fake, other port
        with pytest.raises(UntrustedSource):
            await download(attachment(forged), LIMITS, Settings(discord_api_url=fake.api_url))

    assert fake.downloads == [] and elsewhere.connections == 0


async def test_an_attachment_declaring_60_bytes_that_never_ends_stops_at_the_cap(fake: FakeDiscord) -> None:
    async with FileHost() as cdn:
        lying = {**fake.add_attachment(b"0" * 60, "작은파일.pdf", "application/pdf"), "url": cdn.url("/endless")}
        settings = Settings(discord_cdn_hosts=f"cdn.discordapp.com,{cdn.base_url}")
        with pytest.raises(DocumentTooLarge):
            await download(attachment(lying), LIMITS, settings)
        sent = cdn.sent

    assert sent < LIMITS.max_bytes + 8 * 1024 * 1024  # socket buffers, not the 400 MB it would send


async def test_an_attachment_declared_too_large_is_not_fetched(fake: FakeDiscord) -> None:
    big = fake.add_attachment(b"0" * (LIMITS.max_bytes + 1), "큰파일.pdf", "application/pdf")
    with pytest.raises(DocumentTooLarge):
        await download(attachment(big), LIMITS, Settings(discord_api_url=fake.api_url))

    assert fake.downloads == []


def test_discords_cdn_is_trusted_over_https_only_and_never_at_a_private_address() -> None:
    trusted = trusted_hosts(Settings())

    trusted.check("https://cdn.discordapp.com/attachments/1/2/a.pdf?ex=1&is=2&hm=3&", "a.pdf")
    trusted.check("https://media.discordapp.net/attachments/1/2/a.pdf", "a.pdf")
    for url in (
        "http://cdn.discordapp.com/attachments/1/2/a.pdf",
        "https://cdn.discordapp.com.example.net/a.pdf",
        "https://cdn.discordapp.com:8443/a.pdf",
        "https://discord.com/api/v10/users/@me",
        "http://127.0.0.1/a.pdf",
        "http://169.254.169.254/latest/meta-data/",
    ):
        with pytest.raises(UntrustedSource):
            trusted.check(url, "a.pdf")
    assert trusted.private_ok == frozenset()


def test_hosts_the_operator_adds_may_be_private_and_plain_http_only_when_written_so() -> None:
    trusted = trusted_hosts(Settings(discord_cdn_hosts="cdn.discordapp.com,files.chat.internal,http://10.0.0.5:8080"))

    trusted.check("https://files.chat.internal/a.pdf", "a.pdf")
    trusted.check("http://10.0.0.5:8080/a.pdf", "a.pdf")
    with pytest.raises(UntrustedSource):
        trusted.check("http://files.chat.internal/a.pdf", "a.pdf")
    assert trusted.private_ok == {"files.chat.internal", "10.0.0.5"}


async def test_an_attachment_from_a_host_nobody_trusted_is_refused_through_the_adapter(
    discord_bot: StartDiscordBot, sagemaker: FakeSageMaker
) -> None:
    async with discord_bot(discord_api_url=None) as h:  # the fake's loopback origin is no Discord CDN
        file = h.fake.add_attachment("회의록입니다.".encode(), "회의록.txt")
        interaction = await h.command("summarize", attachment=file)
        answer = await h.answered(interaction)
    assert answer == KOREAN.for_error(UntrustedSource(name="회의록.txt"))
    assert h.fake.downloads == [] and sagemaker.requests == []
