"""The Discord adapter (discord.py): slash commands, mentions, DMs and replies, answered by the
core engine with streamed, throttled edits. `python -m bot discord` runs it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

import discord
import discord.http

from bot.adapters.discord.client import DiscordBot, use_endpoints
from bot.config import Settings
from bot.core.engine import ChatEngine
from bot.core.errors import ConfigError
from bot.startup import NETWORK_ERRORS, Target, with_retries
from bot.workers import Worker

T = TypeVar("T")


async def serve(settings: Settings, engine: ChatEngine, worker: Worker = Worker()) -> None:
    """Run the bot until it is stopped; a refused token or intent is a ConfigError, a Discord
    that cannot be reached at start-up is retried, then Unreachable. Each of several workers
    runs one gateway shard."""
    if settings.discord_token is None:
        raise ConfigError("DISCORD_TOKEN is not set: copy the bot token from the Discord developer portal.")
    use_endpoints(settings)
    shards = {"shard_id": worker.index, "shard_count": worker.count} if worker.shared else {}
    async with DiscordBot(settings, engine, proxy=proxy_for(discord.http.Route.BASE), **shards) as bot:
        await _login(bot, settings)
        try:
            await bot.connect()
        except discord.PrivilegedIntentsRequired:
            raise ConfigError(
                "Discord refused the Message Content intent: enable it under Bot > Privileged Gateway "
                "Intents in the developer portal, or set DISCORD_LISTEN_MESSAGES=false (slash commands only)."
            ) from None


async def _login(bot: DiscordBot, settings: Settings) -> None:
    """GET /users/@me with the token, as discord.py's `start` does first."""
    assert settings.discord_token is not None
    token = settings.discord_token.get_secret_value()
    await _logged_in(lambda: bot.login(token), bot.http, settings)


async def check_token(settings: Settings) -> str:
    """Who DISCORD_TOKEN is, asked of Discord once (`doctor`)."""
    assert settings.discord_token is not None
    use_endpoints(settings)
    http = discord.http.HTTPClient(asyncio.get_running_loop(), proxy=proxy_for(discord.http.Route.BASE))
    try:
        me = await _logged_in(lambda: http.static_login(settings.discord_token.get_secret_value()), http, settings)
    finally:
        await http.close()
    return f"bot user {me['username']} (id {me['id']})"


async def _logged_in(login: Callable[[], Awaitable[T]], http: discord.http.HTTPClient, settings: Settings) -> T:
    """`login()`: a token Discord refuses is a ConfigError, a network that fails is retried."""

    async def attempt() -> T:
        try:
            return await login()
        except discord.LoginFailure:
            raise ConfigError("DISCORD_TOKEN was refused by Discord: reset the bot token and copy it again.") from None
        except BaseException as error:
            # Each login opens a new aiohttp session on `http.connector`, which closing the
            # failed one closes too; discord.py's static_login makes a fresh one when MISSING.
            await http.close()
            http.connector = discord.utils.MISSING
            if isinstance(error, discord.HTTPException) and not _transient(error):
                raise ConfigError(
                    f"Discord answered {error.status} to the login (GET /users/@me at {discord.http.Route.BASE}): "
                    "check DISCORD_API_URL and HTTPS_PROXY."
                ) from None
            raise

    target = Target("Discord", discord.http.Route.BASE, "DISCORD_API_URL")
    return await with_retries(attempt, target, settings.platform_startup_timeout_seconds, _transient)


def _transient(error: BaseException) -> bool:
    return isinstance(error, NETWORK_ERRORS + (discord.DiscordServerError,))


def proxy_for(url: str) -> str | None:
    """The proxy the environment (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) names for `url`: discord.py
    takes one only as `Client(proxy=...)`, for its REST calls and the gateway alike."""
    parts = urlsplit(url)
    if not parts.hostname or proxy_bypass(parts.hostname):
        return None
    return getproxies().get(parts.scheme)
