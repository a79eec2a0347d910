"""The real Discord adapter against the fake Discord, real Redis and the fake SageMaker: the
`discord_bot` and `harness` fixtures (a pytest plugin, listed in tests/conftest.py) and what tests
read back from the fake."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from bot.adapters.discord.client import DiscordBot
from bot.core.engine import ChatEngine
from fakes.discord import LOADING, JSON, FakeDiscord, running_fake_discord
from fakes.sagemaker import FakeSageMaker
from tests.provider_support import ModelServer
from tests.support import KOREAN
from tests.support import cli_env, make_engine

CURSOR = "▌"
THINKING = KOREAN("thinking")
# What stands in a message while an answer or a document is still on its way.
_UNDER_WAY = (
    THINKING, KOREAN("doc_reading"), KOREAN("doc_progress", done="", total="").partition("(")[0],
    KOREAN("waiting", position="").partition("…")[0],
)


def buttons(message: JSON | None) -> dict[str, str]:
    """The message's buttons: label (or emoji) → custom_id."""
    found = [c for row in (message or {}).get("components", []) for c in row["components"]]
    return {c.get("label") or c["emoji"]["name"]: c["custom_id"] for c in found}


@dataclass
class Harness:
    fake: FakeDiscord
    engine: ChatEngine

    async def command(self, name: str, options: dict[str, Any] | None = None, **where: Any) -> JSON:
        """Dispatch a slash command as Discord would; return its INTERACTION_CREATE payload."""
        interaction = self.fake.interaction_create(name, options, **where)
        await self.fake.dispatch("INTERACTION_CREATE", interaction)
        return interaction

    async def message(self, content: str, **kwargs: Any) -> JSON:
        event = self.fake.message_create(content, **kwargs)
        await self.fake.dispatch("MESSAGE_CREATE", event)
        return event

    async def answered(self, interaction: JSON, expect: str | None = None, timeout: float = 10.0) -> str:
        """The interaction's first message once it is final (no "thinking…", no cursor), and
        reads `expect` if given (a progress line comes before a summary)."""

        def ready() -> str | None:
            content = _final(self.fake.original_response(interaction))
            return content if expect is None or content == expect else None

        return await self.fake.wait_for(ready, timeout)

    async def reply_to(self, message: JSON, timeout: float = 10.0) -> JSON:
        """The bot's answer to `message` (a reply to it, or the first message in the thread
        opened on it, which has its id), once final."""

        def ready() -> JSON | None:
            for sent in self.fake.messages(int(message["channel_id"])):
                replied_to = (sent.get("message_reference") or {}).get("message_id")
                if str(replied_to) == message["id"] and _final(sent):
                    return sent
            in_thread = [m for m in self.fake.messages(int(message["id"])) if m["author"]["id"] == str(self.fake.bot_id)]
            return in_thread[0] if in_thread and _final(in_thread[0]) else None

        return await self.fake.wait_for(ready, timeout)

    async def replies(self, channel_id: int, count: int = 1, timeout: float = 10.0) -> list[JSON]:
        """The bot's first `count` messages in a channel, once each is final."""

        def ready() -> list[JSON] | None:
            mine = [m for m in self.fake.messages(channel_id) if m["author"]["id"] == str(self.fake.bot_id)]
            return mine if len(mine) >= count and all(_final(m) for m in mine) else None

        return await self.fake.wait_for(ready, timeout)


def _final(message: JSON | None) -> str | None:
    if message is None or message["flags"] & LOADING or CURSOR in message["content"]:
        return None
    return None if message["content"].startswith(_UNDER_WAY) else message["content"]


StartedDiscordBot = contextlib.AbstractAsyncContextManager[Harness]
StartDiscordBot = Callable[..., StartedDiscordBot]


@pytest.fixture
def discord_bot(sagemaker: FakeSageMaker, redis_url: str, redis_prefix: str) -> StartDiscordBot:
    """Starts the Discord adapter against this test's endpoint and key prefix; a test states only
    what differs: `async with discord_bot(doc_max_bytes=1024) as h` (settings as keywords).
    `fake=` logs in to an existing fake Discord (a second replica) instead of a new one; `model=`
    answers with another provider's fake; `shard=(i, n)` runs it as shard i of n (as WORKERS does)."""

    def start(
        *, fake: FakeDiscord | None = None, model: ModelServer = sagemaker, shard: tuple[int, int] | None = None,
        **overrides: Any,
    ) -> StartedDiscordBot:
        return _running_discord_bot(model, redis_url, redis_prefix, fake=fake, shard=shard, **overrides)

    return start


@pytest_asyncio.fixture
async def harness(discord_bot: StartDiscordBot) -> AsyncIterator[Harness]:
    """The Discord adapter with the default settings, logged in to a new fake Discord."""
    async with discord_bot() as started:
        yield started


@contextlib.asynccontextmanager
async def _running_discord_bot(
    model: ModelServer, redis_url: str, redis_prefix: str, *, fake: FakeDiscord | None,
    shard: tuple[int, int] | None = None, **overrides: Any,
) -> AsyncIterator[Harness]:
    """A DiscordBot logged in to a fake Discord (a new one unless `fake` is given), commands
    synced to the fake's guild unless `discord_guild_id=None` is among `overrides`."""
    async with contextlib.AsyncExitStack() as stack:
        if fake is None:
            fake = await stack.enter_async_context(running_fake_discord())
        # The fake serves attachments from its own origin, trusted as a Discord-compatible server's.
        defaults = {"discord_guild_id": fake.guild_id, "discord_api_url": fake.api_url}
        engine = make_engine(model, redis_url, redis_prefix, **{**defaults, **overrides})
        stack.push_async_callback(engine.aclose)
        # a tiny guild_ready_timeout: on_ready would otherwise wait 2 s for more guilds
        shards = {"shard_id": shard[0], "shard_count": shard[1]} if shard else {}
        bot = DiscordBot(engine.settings, engine, guild_ready_timeout=0.01, **shards)
        await stack.enter_async_context(fake.running(bot))
        yield Harness(fake, engine)


async def open_thread(fake: FakeDiscord, *, owner_id: int, on_message: int | None = None) -> int:
    """A public thread in the fake's channel (started on message `on_message`, whose id it then
    shares), announced over the gateway as Discord does."""
    thread_id = on_message or fake.snowflake()
    thread: JSON = {
        "id": str(thread_id), "type": 11, "guild_id": str(fake.guild_id), "parent_id": str(fake.channel_id),
        "owner_id": str(owner_id), "name": "대화", "last_message_id": None, "rate_limit_per_user": 0,
        "message_count": 0, "member_count": 1, "flags": 0, "newly_created": True,
        "thread_metadata": {
            "archived": False, "auto_archive_duration": 1440, "locked": False,
            "archive_timestamp": "2024-01-01T00:00:00+00:00",
        },
    }
    fake.channels[thread_id] = thread
    await fake.dispatch("THREAD_CREATE", thread)
    return thread_id


def discord_env(fake: FakeDiscord, sagemaker: FakeSageMaker, redis_url: str, prefix: str) -> dict[str, str]:
    """Environment for `python -m bot discord` against `fake`, commands synced to its guild."""
    return cli_env(
        sagemaker, DISCORD_TOKEN=fake.token or "", DISCORD_GUILD_ID=str(fake.guild_id),
        DISCORD_API_URL=fake.api_url, DISCORD_GATEWAY_URL=fake.gateway_url, REDIS_URL=redis_url,
        REDIS_KEY_PREFIX=prefix.rstrip(":"),
    )  # fmt: skip
