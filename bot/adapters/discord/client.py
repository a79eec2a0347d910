"""The Discord client: intents, command sync, and which messages it answers."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import aiohttp
import discord
import discord.gateway
import discord.http
import yarl

from bot.adapters.discord import buttons
from bot.adapters.discord.buttons import AnswerButton, WithButtons
from bot.adapters.discord.chats import ChannelHistory
from bot.adapters.discord.commands import CommandTree
from bot.adapters.discord.events import AllowList, AttachedFile, Origin
from bot.adapters.discord.recorded import Asked, Payload, asked_at, asked_in_message, message_id
from bot.adapters.discord.surface import REST, ChannelReplies, rest_budget
from bot.config import Settings
from bot.core.engine import ChatEngine
from bot.core.memory.channels import ChannelSettings
from bot.core.memory.local import Expiring
from bot.core.metrics import PLATFORM_CONNECTED, start_at_zero
from bot.frontend import channel_settings, flows
from bot.frontend.jobs import Job, Jobs
from bot.frontend.opened import NotedSurface
from bot.frontend.pacing import CallBudget, rate_limited
from bot.frontend.stopping import Stops
from bot.frontend.surface import Surface
from bot.frontend.texts import Texts, texts_for

log = logging.getLogger(__name__)

_CHAT = (discord.MessageType.default, discord.MessageType.reply)  # not joins, pins, thread notices
# How long asking Discord for a thread's starter message may take (it blocks only that message).
_LOOKUP_SECONDS = 10.0


def intents(settings: Settings) -> discord.Intents:
    """Guilds (channels, threads, roles) always; messages and their content only when listening."""
    listen = settings.discord_listen_messages
    return discord.Intents(guilds=True, guild_messages=listen, dm_messages=listen, message_content=listen)


def thread_name(question: str, default: str) -> str:
    """A thread's name from the question's first line (Discord takes 1 to 100 characters)."""
    first = question.strip().splitlines()[0].strip() if question.strip() else ""
    return (first[:80] + "…" if len(first) > 80 else first) or default


def use_endpoints(settings: Settings) -> None:
    """Point discord.py at a Discord-compatible server instead of Discord, when one is set."""
    if settings.discord_api_url:
        discord.http.Route.BASE = settings.discord_api_url.rstrip("/")
    if settings.discord_gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


def _watching_429s(budget: Callable[[], CallBudget | None]) -> aiohttp.TraceConfig:
    """discord.py waits out each 429 itself and says so only in its log: its HTTP session's trace
    (Client(http_trace=...)) is where they can be counted. A global one stops every request of
    the bot, but discord.py holds back only its own process (http.py: `_global_over`, cleared
    for the body's `retry_after` when the body says `"global": true`): the bot's shared budget
    is paused as long, so that no other process or replica sends meanwhile."""

    async def ended(_: aiohttp.ClientSession, __: SimpleNamespace, request: aiohttp.TraceRequestEndParams) -> None:
        if request.response.status != 429:
            return
        rate_limited("discord", route(request.method, request.url.path))
        limited = await global_limit(request.response)
        if limited is not None and (shared := budget()) is not None:
            await shared.pause(REST, limited)

    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(ended)
    return trace


async def global_limit(response: aiohttp.ClientResponse) -> float | None:
    """The seconds a 429 stops every request of the bot for; None when it is a route's own.
    discord.py goes by the body (`global`, `retry_after`); Discord also says it in
    `X-RateLimit-Global` and `Retry-After` (discord.com/developers/docs/topics/rate-limits). The
    body is read here once: aiohttp keeps it for discord.py's own read."""
    try:
        body = json.loads(await response.read())
    except (ValueError, aiohttp.ClientError):
        body = {}
    body = body if isinstance(body, dict) else {}
    flagged = response.headers.get("X-RateLimit-Global", "").lower() == "true"
    if not (flagged or body.get("global") is True):
        return None
    try:
        return float(body.get("retry_after") or response.headers.get("Retry-After") or 1.0)
    except (TypeError, ValueError):
        return 1.0


# The routes an answer calls, as `route` names them: their 429 series exist from the start.
ANSWER_ROUTES = (
    "POST /channels/{id}/messages", "PATCH /channels/{id}/messages/{id}",
    "POST /interactions/{id}/{token}/callback", "POST /webhooks/{id}/{token}",
    "PATCH /webhooks/{id}/{token}/messages/@original", "PATCH /webhooks/{id}/{token}/messages/{id}",
)


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
        trace = _watching_429s(lambda: self._budget)
        super().__init__(intents=intents(settings), allowed_mentions=mentions, http_trace=trace, **options)
        self.settings = settings
        self.engine = engine
        self.texts = texts_for(settings.bot_language)
        self.allow_list = AllowList.from_settings(settings)
        self.jobs = Jobs.for_settings(settings, engine.memory, "discord")
        self.stops = Stops(engine.memory)
        self.tree = CommandTree(self)
        self._not_ours = Expiring()  # threads (by mark name) not started on one of the bot's messages
        self._budget: CallBudget | None = None  # the bot's global limit, once it is known who it is
        self._identify_buckets: int | None = None  # Discord's max_concurrency, asked once
        start_at_zero(("discord", answer_route) for answer_route in ANSWER_ROUTES)

    @property
    def budget(self) -> CallBudget:
        assert self._budget is not None, "answers come only after login"
        return self._budget

    async def setup_hook(self) -> None:
        self._budget = rest_budget(self.settings, self.engine.quotas, self._me.id)
        self.add_dynamic_items(AnswerButton)  # the buttons under answers, whoever sent them
        self.jobs.serve(self._run)  # after login: jobs are answered through the REST API
        if not self.shard_id:  # the commands are the application's: one shard registers them
            await self.tree.sync_to(self.settings.discord_guild_id)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """discord.py spaces IDENTIFYs only within one client; each worker process runs one shard
        and replicas run the same bot, so they take turns through the shared quotas (what this
        hook is for: discord.py documents it for "synchronization of multiple IDENTIFYing
        clients"). Counting from when each process started slipped when one started slowly."""
        if not (seconds := self.settings.discord_identify_seconds):
            return
        turn = f"discord:{self._me.id}:identify:{(shard_id or 0) % await self._buckets()}"
        while (wait := await self.engine.quotas.take(turn, 1, seconds)) > 0:
            await asyncio.sleep(wait)

    async def _buckets(self) -> int:
        if not self.shard_count or self.shard_count == 1:
            return 1
        if self._identify_buckets is None:
            _, _, limit = await self.http.get_bot_gateway()
            self._identify_buckets = max(1, int(limit.get("max_concurrency", 1)))
        return self._identify_buckets

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
        was done already), in its conversation's order by the time in `snowflake`; its answer
        gets an id (stop and feedback name it)."""
        payload = {**payload, "answer_id": uuid.uuid4().hex}
        await self.jobs.accept(
            event, origin.key, asked_at(snowflake), payload, lambda: surface.post(self.texts("llm_busy"))
        )

    async def _run(self, job: Job) -> None:
        """Answer a recorded question, on whichever replica took the job."""
        asked = Asked.of(job.payload)
        if job.answered is not None:
            await asked.show_answered(self, self.budget, job.opened, job.answered, self.texts("taken_over"))
            return
        if await self.stops.stopped_while_away(job, asked.answer_id):
            stopped = self.texts("answer_stopped")
            if job.opened:
                await asked.close(self, job.opened, stopped)
            else:  # nothing shown yet: the note is all the answer says
                await asked.in_channel().surface(self, self.budget).post(stopped)
            return
        if job.opened:
            await asked.close(self, job.opened, self.texts("taken_over"))
        if not self.allow_list.allows(asked.origin):
            refusal = NotedSurface(asked.in_channel().surface(self, self.budget), job.note_opened, message_id)
            await refusal.post(self.texts("not_allowed"))
            return
        if asked.in_thread:
            asked = await asked.open_thread(self, thread_name(asked.text, self.texts("thread_name")))
        surface = NotedSurface(asked.surface(self, self.budget), job.note_opened, message_id)
        channel = await self.channel_settings(asked.origin)
        question = replace(asked.origin.question(asked.text, channel), answer_id=asked.answer_id)
        await self._answer(asked, question, job, surface)  # type: ignore[arg-type]

    async def _answer(self, asked: Asked, question: flows.Question, job: Job, surface: Surface) -> None:
        """What the question asks for: every file read, a summary of a message's text, a
        translation, or an answer (help when there is nothing to answer), in the channel's
        language."""
        texts = self.texts_in(question.channel)
        if asked.action == "translate":
            await flows.translate(self.engine, texts, question, surface, self.stops)
        elif asked.action == "summarize_chat":
            await self._summarize_chat(asked, question, texts, surface)
        elif files := asked.files(self):
            # the text is the question about each file; a summary has none
            about = question if asked.action == "answer" else replace(question, text="")
            for file in files:
                await flows.read_document(self.engine, texts, about, AttachedFile(file, self.settings), surface)
        elif asked.action == "summarize" and question.text.strip():
            source = flows.TextSource(texts("message_document"), question.text)
            await flows.read_document(self.engine, texts, replace(question, text=""), source, surface)
        elif asked.action == "summarize":
            await surface.post(texts("message_nothing_to_summarize"))
        elif question.text or asked.action == "regenerate":
            await self._answer_with_buttons(asked, question, texts, job)
        else:
            await surface.post(self.help_text(question.channel if asked.origin.guild else None))

    async def _summarize_chat(self, asked: Asked, question: flows.Question, texts: Texts, surface: Surface) -> None:
        """The thread asked in, whole, or the channel's last `hours`."""
        assert asked.interaction is not None
        if asked.hours is None:
            title, after = texts("chat_thread"), None
        else:
            title, after = texts("chat_recent", hours=asked.hours), discord.utils.utcnow() - timedelta(hours=asked.hours)
        source = ChannelHistory(self, asked.interaction["channel"], asked.origin.guild, after, title, asked.interaction["id"])
        request = question.text or texts("chat_summary_request", what=title)
        await flows.summarize_chat(self.engine, texts, replace(question, text=request), source, surface)

    async def _answer_with_buttons(self, asked: Asked, question: flows.Question, texts: Texts, job: Job) -> None:
        """An answer (or, for "다시 생성", a new one to the conversation's last question) with
        "중지" under it while it is written, then "다시 생성", 👍 and 👎 once it is complete."""
        who = (asked.answer_id, asked.origin.user, texts)
        shown = WithButtons(asked.surface(self, self.budget), buttons.while_writing(*who))  # type: ignore[arg-type]
        noted = NotedSurface(shown, job.note_opened, message_id)  # type: ignore[arg-type]
        if asked.action == "regenerate":  # only while the answer pressed on is the last one remembered
            done = await flows.regenerate(self.engine, texts, question, noted, self.stops, replacing=asked.replacing)  # type: ignore[arg-type]
        else:
            done = await flows.answer(self.engine, texts, question, noted, self.stops)  # type: ignore[arg-type]
        await shown.finish(buttons.when_done(*who) if done else None)

    async def channel_settings(self, origin: Origin) -> ChannelSettings:
        """The settings of the server channel asked in (a DM has none: the bot's own apply)."""
        name = origin.settings_channel
        return ChannelSettings() if name is None else await self.engine.channel_settings.get(name)

    def texts_in(self, channel: ChannelSettings) -> Texts:
        """The texts in the channel's answer language."""
        return texts_for(channel.language_or(self.settings.bot_language))

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """The note of a 👎 (a modal any replica may receive: the one that claims it stores it)."""
        custom_id = str((interaction.data or {}).get("custom_id", ""))
        if interaction.type is discord.InteractionType.modal_submit and custom_id.startswith(buttons.NOTE_PREFIX):
            if await self.claimed(interaction):
                await buttons.on_note(self, interaction)

    async def claimed(self, interaction: discord.Interaction) -> bool:
        """Every replica sees every interaction: only the one that claims it answers."""
        return self.jobs.accepting and await self.engine.claim_event(f"discord:{interaction.id}")

    def help_text(self, channel: ChannelSettings | None) -> str:
        """How to use the bot, and in a server channel (`channel`: its settings) those settings."""
        texts = self.texts_in(channel or ChannelSettings())
        parts = [texts("discord_help")]
        if self.settings.discord_listen_messages:
            parts.append(texts("discord_help_messages"))
        if channel is not None:
            parts.append(f"\n{channel_settings.summary(channel, texts)}")
        return "\n".join(parts)

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or message.type not in _CHAT:
            return
        if not (self._called(message) or await self._follows_up(message)):
            return
        guild_id = message.guild.id if message.guild else None
        origin = Origin.of(message.author, guild_id, message.channel)
        text = re.sub(rf"<@!?{self._me.id}>", "", message.content).strip()
        thread = self._opens_thread(message)
        if thread:  # the thread opened on a message has the message's id: its conversation is known now
            origin = replace(origin, channel=message.id, parent=message.channel.id)
        payload = asked_in_message(message, origin, text, thread=thread)
        await self.accept(f"discord:{message.id}", message.id, origin, payload, ChannelReplies(message, self.budget))

    def _opens_thread(self, message: discord.Message) -> bool:
        """A mention in a server's text channel is answered in a thread opened on it (as people
        expect in busy channels), unless DISCORD_MENTION_THREADS=false."""
        mentioned = any(user.id == self._me.id for user in message.mentions)
        return self.settings.discord_mention_threads and mentioned and isinstance(message.channel, discord.TextChannel)

    @property
    def _me(self) -> discord.ClientUser:
        assert self.user is not None, "messages arrive only after login"
        return self.user

    def _called(self, message: discord.Message) -> bool:
        """DMs, mentions of the bot (not @everyone) and replies to it."""
        if message.guild is None or any(user.id == self._me.id for user in message.mentions):
            return True
        replied = message.reference.resolved if message.reference else None
        return isinstance(replied, discord.Message) and replied.author.id == self._me.id

    async def _follows_up(self, message: discord.Message) -> bool:
        """A message in a thread the bot started or that was started on one of its answers,
        unless the channel's settings ask for a mention there."""
        thread = message.channel
        if not isinstance(thread, discord.Thread):
            return False
        if not (thread.owner_id == self._me.id or await self._started_on_ours(thread)):
            return False
        where = Origin.of(message.author, thread.guild.id, thread)
        return not (await self.channel_settings(where)).followups_need_mention

    async def _started_on_ours(self, thread: discord.Thread) -> bool:
        """Whether `thread` was started on one of the bot's messages (it then has that message's
        id). The message cache has the bot's recent messages, but none from before a restart and
        only the last `max_messages`: then the mark in Redis, set the first time any replica
        asked Discord (a thread's starter never changes); threads found not to be the bot's are
        remembered here, so each costs Discord one request per process."""
        starter = thread.starter_message
        if starter is not None:
            return starter.author.id == self._me.id
        mark, ttl = f"discord-thread:{thread.id}", self.settings.memory_ttl_seconds
        if self._not_ours.holds(mark):
            return False
        if await self.engine.memory.is_marked(mark):
            return True
        try:
            async with asyncio.timeout(_LOOKUP_SECONDS):
                starter = await self.get_partial_messageable(thread.parent_id).fetch_message(thread.id)
        except (discord.NotFound, discord.Forbidden):
            starter = None  # not started on a message, or on one since deleted or out of sight
        except (discord.HTTPException, TimeoutError) as error:
            log.warning("could not tell whether thread %s is on the bot's message (%s)", thread.id, error)
            return False
        if starter is None or starter.author.id != self._me.id:
            self._not_ours.add(mark, ttl)
            return False
        await self.engine.memory.mark(mark, ttl)
        return True
