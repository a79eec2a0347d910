"""The Discord client: intents, command sync, and which messages it answers."""

from __future__ import annotations

import re
from collections.abc import Coroutine
from typing import Any

import discord
import discord.gateway
import discord.http
import yarl

from bot.adapters.discord.commands import CommandTree
from bot.adapters.discord.events import AllowList, AttachedFile, Origin
from bot.adapters.discord.surface import ChannelReplies
from bot.config import Settings
from bot.core.engine import ChatEngine
from bot.frontend import flows
from bot.frontend.jobs import Jobs
from bot.frontend.surface import Surface
from bot.frontend.texts import texts_for

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
        # No answer may ping anyone, whatever the model writes (@everyone included).
        mentions = discord.AllowedMentions.none()
        super().__init__(intents=intents(settings), allowed_mentions=mentions, **options)
        self.settings = settings
        self.engine = engine
        self.texts = texts_for(settings.bot_language)
        self.allow_list = AllowList.from_settings(settings)
        self.jobs = Jobs.for_settings(settings)
        self.tree = CommandTree(self)

    async def setup_hook(self) -> None:
        if not self.shard_id:  # the commands are the application's: one shard registers them
            await self.tree.sync_to(self.settings.discord_guild_id)

    async def close(self) -> None:
        # Answers in flight still need the gateway session's HTTP client: drain before closing.
        await self.jobs.drain(self.settings.shutdown_grace_seconds)
        await super().close()

    async def run(self, surface: Surface, flow: Coroutine[Any, Any, object]) -> None:
        """Run a flow in the background, or say the bot is busy when too many are running."""
        await self.jobs.spawn_or_refuse(flow, lambda: surface.post(self.texts("llm_busy")))

    def help_text(self) -> str:
        parts = [self.texts("discord_help")]
        if self.settings.discord_listen_messages:
            parts.append(self.texts("discord_help_messages"))
        return "\n".join(parts)

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or message.type not in _CHAT or not self._addressed(message):
            return
        if not self.jobs.accepting or not await self.engine.claim_event(f"discord:{message.id}"):
            return
        guild_id = message.guild.id if message.guild else None
        where, surface = Origin.of(message.author, guild_id, message.channel), ChannelReplies(message)
        if not self.allow_list.allows(where):
            await surface.post(self.texts("not_allowed"))
            return
        question = where.question(re.sub(rf"<@!?{self._me.id}>", "", message.content).strip())
        engine, texts = self.engine, self.texts
        if message.attachments:
            file = AttachedFile(message.attachments[0], self.settings)
            await self.run(surface, flows.read_document(engine, texts, question, file, surface))
        elif question.text:
            await self.run(surface, flows.answer(engine, texts, question, surface))
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
