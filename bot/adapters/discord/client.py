"""The Discord client: intents, command sync, and which messages it answers."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import aiohttp
import discord
import discord.gateway
import discord.http
import yarl

from bot.adapters.discord.commands import CommandTree
from bot.adapters.discord.events import AllowList, AttachedFile, Origin
from bot.adapters.discord.recorded import Asked, Payload, asked_at, asked_in_message, message_id
from bot.adapters.discord.surface import ChannelReplies, rest_budget
from bot.config import Settings
from bot.core.engine import ChatEngine
from bot.core.metrics import PLATFORM_CONNECTED
from bot.frontend import flows
from bot.frontend.jobs import Job, Jobs
from bot.frontend.pacing import CallBudget
from bot.frontend.opened import NotedSurface
from bot.frontend.pacing import rate_limited
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


def _counting_429s() -> aiohttp.TraceConfig:
    """discord.py waits out each 429 itself and says so only in its log: its HTTP session's trace
    (Client(http_trace=...)) is where they can be counted."""

    async def ended(_: aiohttp.ClientSession, __: SimpleNamespace, request: aiohttp.TraceRequestEndParams) -> None:
        if request.response.status == 429:
            rate_limited("discord", route(request.method, request.url.path))

    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(ended)
    return trace


def route(method: str, path: str) -> str:
    """`PATCH /webhooks/{id}/{token}/messages/@original` for a path under /api/vN: ids and
    interaction tokens (secrets for 15 minutes) never become a label."""
    parts = path.split("/")
    if len(parts) > 2 and parts[1] == "api" and parts[2].startswith("v"):
        parts = ["", *parts[3:]]
    named = ["{id}" if part.isdigit() else "{token}" if len(part) > 32 else part for part in parts]
    return f"{method} {'/'.join(named)}"


class DiscordBot(discord.Client):
    def __init__(self, settings: Settings, engine: ChatEngine, **options: Any) -> None:
        # No answer may ping anyone, whatever the model writes (@everyone included).
        mentions = discord.AllowedMentions.none()
        super().__init__(intents=intents(settings), allowed_mentions=mentions, http_trace=_counting_429s(), **options)
        self.settings = settings
        self.engine = engine
        self.texts = texts_for(settings.bot_language)
        self.allow_list = AllowList.from_settings(settings)
        self.jobs = Jobs.for_settings(settings, engine.memory, "discord")
        self.tree = CommandTree(self)
        self._budget: CallBudget | None = None  # the bot's global limit, once it is known who it is

    @property
    def budget(self) -> CallBudget:
        assert self._budget is not None, "answers come only after login"
        return self._budget

    async def setup_hook(self) -> None:
        self._budget = rest_budget(self.settings, self.engine.quotas, self._me.id)
        self.jobs.serve(self._run)  # after login: jobs are answered through the REST API
        if not self.shard_id:  # the commands are the application's: one shard registers them
            await self.tree.sync_to(self.settings.discord_guild_id)

    # discord.py reconnects by itself; these say when the gateway session is there ("connect"
    # comes with READY, before discord.py's wait for the guilds' data).
    async def on_connect(self) -> None:
        PLATFORM_CONNECTED.labels("discord").set(1)

    async def on_resumed(self) -> None:
        PLATFORM_CONNECTED.labels("discord").set(1)

    async def on_disconnect(self) -> None:
        PLATFORM_CONNECTED.labels("discord").set(0)

    async def close(self) -> None:
        # Answers in flight still need the gateway session's HTTP client: drain before closing.
        await self.jobs.drain(self.settings.shutdown_grace_seconds)
        await super().close()

    async def accept(
        self, event: str | None, snowflake: int, origin: Origin, payload: Payload, surface: Surface
    ) -> None:
        """Record a question as a job (`event` de-duplicates it among replicas; None when that
        was done already), in its conversation's order by the time in `snowflake`."""
        await self.jobs.accept(
            event, origin.key, asked_at(snowflake), payload, lambda: surface.post(self.texts("llm_busy"))
        )

    async def _run(self, job: Job) -> None:
        """Answer a recorded question, on whichever replica took the job."""
        asked = Asked.of(job.payload)
        if job.answered is not None:
            await asked.show_answered(self, self.budget, job.opened, job.answered, self.texts("taken_over"))
            return
        if job.opened:
            await asked.close(self, job.opened, self.texts("taken_over"))
        surface = NotedSurface(asked.surface(self, self.budget), job.note_opened, message_id)
        if not self.allow_list.allows(asked.origin):
            await surface.post(self.texts("not_allowed"))
            return
        question = asked.origin.question(asked.text)
        if file := asked.file(self):
            source = AttachedFile(file, self.settings)
            await flows.read_document(self.engine, self.texts, question, source, surface)  # type: ignore[arg-type]
        elif question.text:
            await flows.answer(self.engine, self.texts, question, surface)  # type: ignore[arg-type]
        else:
            await surface.post(self.help_text())

    def help_text(self) -> str:
        parts = [self.texts("discord_help")]
        if self.settings.discord_listen_messages:
            parts.append(self.texts("discord_help_messages"))
        return "\n".join(parts)

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or message.type not in _CHAT or not self._addressed(message):
            return
        guild_id = message.guild.id if message.guild else None
        origin = Origin.of(message.author, guild_id, message.channel)
        text = re.sub(rf"<@!?{self._me.id}>", "", message.content).strip()
        payload = asked_in_message(message, origin, text)
        await self.accept(f"discord:{message.id}", message.id, origin, payload, ChannelReplies(message, self.budget))

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
