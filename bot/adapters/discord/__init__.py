"""The Discord adapter (discord.py): slash commands, mentions, DMs and replies, answered by the
core engine with streamed, throttled edits. `python -m bot discord` runs it."""

from __future__ import annotations

import discord

from bot.adapters.discord.client import DiscordBot, use_endpoints
from bot.config import Settings
from bot.core.engine import ChatEngine
from bot.core.errors import ConfigError
from bot.workers import Worker


async def serve(settings: Settings, engine: ChatEngine, worker: Worker = Worker()) -> None:
    """Run the bot until it is stopped; a refused token or intent is a ConfigError. Each of
    several workers runs one gateway shard."""
    if settings.discord_token is None:
        raise ConfigError("DISCORD_TOKEN is not set: copy the bot token from the Discord developer portal.")
    use_endpoints(settings)
    shards = {"shard_id": worker.index, "shard_count": worker.count} if worker.shared else {}
    async with DiscordBot(settings, engine, **shards) as bot:
        try:
            await bot.start(settings.discord_token.get_secret_value())
        except discord.LoginFailure:
            raise ConfigError("DISCORD_TOKEN was refused by Discord: reset the bot token and copy it again.") from None
        except discord.PrivilegedIntentsRequired:
            raise ConfigError(
                "Discord refused the Message Content intent: enable it under Bot > Privileged Gateway "
                "Intents in the developer portal, or set DISCORD_LISTEN_MESSAGES=false (slash commands only)."
            ) from None
