"""The Discord client: intents, command sync, and which messages it answers."""

from __future__ import annotations

import re
from collections.abc import Coroutine
from typing import Any

import discord
import discord.gateway
import discord.http
import yarl

from bot.adapters.discord import answers
from bot.adapters.discord.commands import CommandTree
from bot.adapters.discord.scope import AllowList, Origin
from bot.adapters.discord.surface import Replies
from bot.config import Settings
from bot.frontend.delivery import Surface
from bot.core.engine import ChatEngine
from bot.frontend.jobs import Jobs
from bot.frontend.texts import text

_CHAT = (discord.MessageType.default, discord.MessageType.reply)  # not joins, pins, thread notices


def intents(settings: Settings) -> discord.Intents:
    """Guilds (channels, threads, roles) always; messages and their content only when listening."""
    listen = settings.discord_listen_messages
    return discord.Intents(guilds=True, guild_messages=listen, dm_messages=listen, message_content=listen)


def use_endpoints(settings: Settings) -> None:
    """Point discord.py at a Discord-compatible server instead of Discord, when one is set."""
    if settings.discord_api_url:
        discord.http.Route.BASE = settings.discord_api_url.rstrip("/")
    if settings.discord_gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


class DiscordBot(discord.Client):
    def __init__(self, settings: Settings, engine: ChatEngine, **options: Any) -> None:
        # A text-only bot: missing voice libraries are not worth a warning at every start.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        # No answer may ping anyone, whatever the model writes (@everyone included).
        mentions = discord.AllowedMentions.none()
        super().__init__(intents=intents(settings), allowed_mentions=mentions, **options)
        self.settings = settings
        self.engine = engine
        self.lang = settings.bot_language
        self.allow_list = AllowList.from_settings(settings)
        self.jobs = Jobs(settings.llm_max_concurrency)  # more could only queue for the model
        self.tree = CommandTree(self)

    async def setup_hook(self) -> None:
        if not self.shard_id:  # the commands are the application's: one shard registers them
            await self.tree.sync_to(self.settings.discord_guild_id)

    async def close(self) -> None:
        # Answers in flight still need the gateway session's HTTP client: drain before closing.
        await self.jobs.drain(self.settings.shutdown_grace_seconds)
        await super().close()

    async def spawn(self, surface: Surface, job: Coroutine[Any, Any, None]) -> None:
        """Answer in the background, or say the bot is busy when too many answers are running."""
        if not self.jobs.spawn(job) and not self.jobs.stopped:
            await surface.post(text("llm_busy", self.lang))

    def help_text(self) -> str:
        parts = [text("discord_help", self.lang)]
        if self.settings.discord_listen_messages:
            parts.append(text("discord_help_messages", self.lang))
        return "\n".join(parts)

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or message.type not in _CHAT or not self._addressed(message):
            return
        if not self.jobs.accepting or not await self.engine.claim_event(f"discord:{message.id}"):
            return
        guild_id = message.guild.id if message.guild else None
        where, surface = Origin.of(message.author, guild_id, message.channel), Replies(message)
        if not self.allow_list.allows(where):
            await surface.post(text("not_allowed", self.lang))
            return
        question = re.sub(rf"<@!?{self._me.id}>", "", message.content).strip()
        if message.attachments:
            file = message.attachments[0]
            await self.spawn(surface, answers.summarize(self.engine, surface, where, file, question or None))
        elif question:
            await self.spawn(surface, answers.answer(self.engine, surface, where, question))
        else:
            await surface.post(self.help_text())

    @property
    def _me(self) -> discord.ClientUser:
        assert self.user is not None, "messages arrive only after login"
        return self.user

    def _addressed(self, message: discord.Message) -> bool:
        """DMs, mentions of the bot (not @everyone), replies to it, and threads it started or
        that were started on one of its answers."""
        if message.guild is None or any(user.id == self._me.id for user in message.mentions):
            return True
        replied = message.reference.resolved if message.reference else None
        if isinstance(replied, discord.Message) and replied.author.id == self._me.id:
            return True
        thread = message.channel
        if not isinstance(thread, discord.Thread):
            return False
        starter = thread.starter_message  # from the message cache, which holds the bot's answers
        return thread.owner_id == self._me.id or (starter is not None and starter.author.id == self._me.id)
