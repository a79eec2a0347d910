"""The bolt app: listeners that pick out the messages meant for the bot, drop duplicates and
noise, and record each question as a job before its event is acknowledged; the shared flows then
answer it in the background, on whichever replica takes the job (bot.frontend.jobs)."""

from __future__ import annotations

import logging
from contextlib import suppress
from dataclasses import asdict
from typing import Any, Awaitable, Callable

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.files import SharedFile
from bot.adapters.slack.events import Incoming, from_mention, from_message
from bot.adapters.slack.surface import AnswerSurfaces, Pacing, PausingRateLimits, Place, SlackMessages, to_mrkdwn
from bot.config import Settings
from bot.core.conversation import ConversationKey
from bot.core.engine import ChatEngine
from bot.core.usage import Asker
from bot.frontend import flows
from bot.frontend.jobs import Job, Jobs
from bot.frontend.opened import NotedSurface, noted, unshown
from bot.frontend.splitting import split_message
from bot.frontend.texts import texts_for

log = logging.getLogger(__name__)

RESET_COMMAND = "/reset"
USAGE_COMMAND = "/usage"


class SlackBot:
    """Everything the listeners share: settings, engine, texts, jobs, where answers stream."""

    def __init__(self, settings: Settings, engine: ChatEngine, client: AsyncWebClient, *, team: str) -> None:
        self.settings = settings
        self.engine = engine
        self.client = client
        self.texts = texts_for(settings.bot_language)
        self.jobs = Jobs.for_settings(settings, engine.memory, "slack")
        self.pacing = Pacing.from_settings(settings, engine.quotas)
        self.answers = AnswerSurfaces(client, self.pacing)
        for handler in client.retry_handlers:
            if isinstance(handler, PausingRateLimits):
                handler.budget = self.pacing.budget(team)
        self.jobs.serve(self._run)

    async def on_mention(self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext) -> None:
        incoming = from_mention(event, _team(body, context), context.bot_user_id)
        if incoming is not None:
            await self._accept(body, incoming)

    async def on_message(self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext) -> None:
        incoming = from_message(event, _team(body, context), context.bot_user_id)
        if incoming is None or not (incoming.is_dm or await self._follows_up(incoming)):
            return
        await self._accept(body, incoming)

    async def on_reset_command(self, command: dict[str, Any], respond: Any, context: AsyncBoltContext) -> None:
        """Runs after the command was acknowledged. In channels every thread is its own
        conversation and a command cannot name one: there the user is told how instead."""
        user, channel = command["user_id"], command["channel_id"]
        if await self._refused(command, respond):
            return
        if channel.startswith("D"):
            await self.engine.reset(ConversationKey("slack", (_team(command, context), "dm", user)))
            await respond(self.texts("reset_done"))
        else:
            await respond(self.texts("slack_reset_in_thread"))

    async def on_usage_command(self, command: dict[str, Any], respond: Any, context: AsyncBoltContext) -> None:
        """Runs after the command was acknowledged; the answer is seen by the asker only."""
        if await self._refused(command, respond):
            return
        asker = Asker("slack", _team(command, context), command["user_id"], command["channel_id"])
        await respond(await flows.own_usage(self.engine, self.texts, asker))

    async def _refused(self, command: dict[str, Any], respond: Any) -> bool:
        """Whether the allow-lists refuse a command's user there (told so, when polite)."""
        if self._allowed(command["channel_id"], command["user_id"]):
            return False
        if self.settings.slack_refusal == "polite":
            await respond(self.texts("not_allowed"))
        return True

    async def _accept(self, body: dict[str, Any], incoming: Incoming) -> None:
        """Record the question before the event is acknowledged (the listeners run before the
        acknowledgement: `create_app`). Slack retries unacknowledged deliveries and every replica
        receives them: the first to record the event answers it."""
        accepted = await self.jobs.accept(
            f"slack:{body['event_id']}", incoming.key, float(incoming.ts), asdict(incoming),
            lambda: self._say_quietly(incoming.place, self.texts("llm_busy")),
        )  # fmt: skip
        if not accepted:
            log.info("event %s already taken", body["event_id"])

    async def _run(self, job: Job) -> None:
        """Answer a recorded question, on whichever replica took the job."""
        incoming = Incoming(**{**job.payload, "files": tuple(job.payload["files"])})
        if job.answered is not None:
            await self._show_answered(incoming.place, job.opened, job.answered)
            return
        if job.opened:
            await self._close(incoming.place, job.opened)
        await self._respond(incoming, job)

    async def _show_answered(self, place: Place, opened: tuple[str, ...], answer: str) -> None:
        """A replica that stopped had the whole answer (it is in the conversation's memory) but
        may not have shown all of it: its stream gets what it lacks, its one message becomes the
        answer; failing that, the note closes what it opened and the answer follows."""
        kind, _, ts = opened[-1].partition(":") if opened else ("", "", "")
        try:
            shown = await self._shown(place, ts) if kind == "stream" else None
            if shown is not None and (rest := unshown(answer, shown)) is not None:
                with suppress(SlackApiError):  # a stream that shows it all may have been stopped already
                    await self.client.chat_stopStream(channel=place.channel, ts=ts, markdown_text=rest or None)
                    return
                if not rest:
                    return
            if kind == "message" and len(opened) == 1:
                await self.client.chat_update(channel=place.channel, ts=ts, text=to_mrkdwn(answer))
                return
        except SlackApiError as error:
            log.info("could not finish message %s of a job taken over (%s)", ts, error.response.get("error"))
        await self._close(place, opened)
        messages = SlackMessages(self.client, place, self.pacing)
        for part in split_message(answer, messages.style.max_len, messages.style.formatted_len):
            await messages.post(messages.style.format(part))

    async def _shown(self, place: Place, ts: str) -> str | None:
        """The text message `ts` shows now (None: not found)."""
        found = await self.client.conversations_replies(
            channel=place.channel, ts=place.thread_ts or ts, oldest=ts, latest=ts, inclusive=True
        )
        return next((str(m.get("text", "")) for m in found.get("messages", []) if m.get("ts") == ts), None)

    async def _close(self, place: Place, opened: tuple[str, ...]) -> None:
        """Close what a replica that stopped had opened for this question: its stream ends with a
        note, its placeholder or partial answer becomes the note. One it had ended is left."""
        note = self.texts("taken_over")
        for handle in opened:
            kind, _, ts = handle.partition(":")
            try:
                if kind == "stream":
                    await self.client.chat_stopStream(channel=place.channel, ts=ts, markdown_text=f"\n\n{note}")
                else:
                    await self.client.chat_update(channel=place.channel, ts=ts, text=note)
            except SlackApiError as error:
                log.info("could not close message %s of a job taken over (%s)", ts, error.response.get("error"))

    async def _respond(self, incoming: Incoming, job: Job) -> None:
        if not self._allowed(incoming.channel, incoming.user):
            log.info("refused %s in %s (allow-lists)", incoming.user, incoming.channel)
            if self.settings.slack_refusal == "polite":
                await self._say_quietly(incoming.place, self.texts("not_allowed"))
            return
        if not incoming.is_dm:
            await self._join(incoming.key)
        try:
            await self._dispatch(incoming, job)
        except Exception as error:
            # Reached only when Slack itself failed: say so if we can.
            log.exception("reply in %s failed", incoming.channel)
            await self._say_quietly(incoming.place, self.texts.for_error(error))

    async def _dispatch(self, incoming: Incoming, job: Job) -> None:
        messages = NotedSurface(SlackMessages(self.client, incoming.place, self.pacing), job.note_opened, _message)
        command = incoming.command()
        question = flows.Question(incoming.key, incoming.text, incoming.asker)
        if command == "reset":
            await flows.reset(self.engine, self.texts, incoming.key, messages)
        elif command == "help":
            await messages.post(self.texts("slack_help"))
        elif incoming.files:
            for file in incoming.files:
                source = SharedFile(self.client, file)
                await flows.read_document(self.engine, self.texts, question, source, messages)
        else:
            where = await noted(
                await self.answers.open(incoming.place), job.note_opened, message=_message, stream=_stream
            )
            await flows.answer(self.engine, self.texts, question, where)

    # A channel thread joins when the bot is mentioned in it and stays joined as long as the
    # conversation's memory lives, so follow-ups there need no mention; the mark is in the
    # engine's memory, shared by every replica.
    async def _join(self, key: ConversationKey) -> None:
        await self.engine.memory.mark(f"slack-thread:{key.id}", self.settings.memory_ttl_seconds)

    async def _follows_up(self, incoming: Incoming) -> bool:
        return self.settings.slack_thread_followups and await self.engine.memory.is_marked(
            f"slack-thread:{incoming.key.id}"
        )

    def _allowed(self, channel: str, user: str) -> bool:
        users, channels = self.settings.slack_allowed_users, self.settings.slack_allowed_channels
        # DMs are not channels: only the user list restricts them.
        in_channel = channel.startswith("D") or not channels or channel in channels
        return in_channel and (not users or user in users)

    async def _say_quietly(self, place: Place, message: str) -> None:
        try:
            await SlackMessages(self.client, place, self.pacing).post(message)
        except Exception:
            log.warning("could not tell %s what went wrong", place.channel, exc_info=True)

    async def aclose(self) -> None:
        await self.jobs.drain(self.settings.shutdown_grace_seconds)


def _team(body: dict[str, Any], context: AsyncBoltContext) -> str:
    return str(context.team_id or body.get("team_id") or "")


def _message(ts: str) -> str:
    """A posted message as a job notes it (`SlackBot._close` reads it back)."""
    return f"message:{ts}"


def _stream(stream: Any) -> str | None:
    """The message a native stream is writing, as a job notes it: the stream by the ts Slack gave
    it when it opened (with its first text), or, where the workspace turned out to have no
    native streaming, the plain message it carries on in; None before either exists."""
    if stream.ts:
        return f"stream:{stream.ts}"
    plain = getattr(getattr(stream, "_plain", None), "handle", None)
    return _message(str(plain)) if plain else None


def create_app(bot: SlackBot, client: AsyncWebClient, signing_secret: str | None) -> AsyncApp:
    """The bolt app; `signing_secret` None for Socket Mode, where requests are not signed."""
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret or "",
        request_verification_enabled=signing_secret is not None,
        logger=logging.getLogger("slack_bolt"),
        # Listeners run before the acknowledgement (bolt's listener runner acks after them), so
        # an acknowledged question is already recorded. They return at once: answers run in jobs.
        process_before_response=True,
    )

    @app.event("app_mention")
    async def mention(body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext) -> None:
        await bot.on_mention(body, event, context)

    @app.event("message")
    async def message(body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext) -> None:
        await bot.on_message(body, event, context)

    for name, handle in ((RESET_COMMAND, bot.on_reset_command), (USAGE_COMMAND, bot.on_usage_command)):
        app.command(name)(_command_listener(bot, handle))

    return app


CommandHandler = Callable[[dict[str, Any], Any, AsyncBoltContext], Awaitable[None]]


def _command_listener(bot: SlackBot, handle: CommandHandler) -> Callable[..., Awaitable[None]]:
    """A slash command's listener: acknowledged at once, handled in the background."""

    async def listener(ack: Any, command: dict[str, Any], respond: Any, context: AsyncBoltContext) -> None:
        await ack()
        await bot.jobs.spawn_or_refuse(handle(command, respond, context), lambda: respond(bot.texts("llm_busy")))

    return listener
