"""The bolt app: listeners that pick out the messages meant for the bot, drop duplicates and
noise, and record each question as a job before its event is acknowledged; the shared flows then
answer it in the background, on whichever replica takes the job (bot.frontend.jobs)."""

from __future__ import annotations

import logging
import uuid
from contextlib import suppress
from dataclasses import asdict, replace
from typing import Any, Awaitable, Callable

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack import blocks, chats
from bot.adapters.slack.assistant import AssistantThreads, assistant_middleware
from bot.adapters.slack.files import SharedFile
from bot.adapters.slack.events import Incoming, from_mention, from_message, summary_request
from bot.adapters.slack.surface import (
    AnswerSurfaces, NativeStream, Pacing, PausingRateLimits, Place, SlackMessages, to_mrkdwn,
)  # fmt: skip
from bot.config import Settings
from bot.core.conversation import ConversationKey
from bot.core.engine import ChatEngine
from bot.core.errors import AnswerStopped
from bot.core.memory.channels import ChannelSettings
from bot.core.metrics import start_at_zero
from bot.core.usage import Asker
from bot.frontend import channel_settings, feedback, flows
from bot.frontend.jobs import Job, Jobs
from bot.frontend.opened import NotedSurface, noted, unshown
from bot.frontend.splitting import split_message
from bot.frontend.stopping import Stops
from bot.frontend.streaming import ending
from bot.frontend.surface import Surface
from bot.frontend.texts import Texts, texts_for

log = logging.getLogger(__name__)

RESET_COMMAND = "/reset"
USAGE_COMMAND = "/usage"
SETTINGS_COMMAND = "/봇설정"
THREAD_SHORTCUT = "summarize_thread"  # the message shortcut "스레드 요약"


class SlackBot:
    """Everything the listeners share: settings, engine, texts, jobs, where answers stream."""

    def __init__(
        self, settings: Settings, engine: ChatEngine, client: AsyncWebClient, *, team: str, workspace_url: str = "",
        bot_user_id: str = "",
    ) -> None:  # fmt: skip
        self.settings = settings
        self.engine = engine
        self.client = client
        self.texts = texts_for(settings.bot_language)
        self.jobs = Jobs.for_settings(settings, engine.memory, "slack")
        self.pacing = Pacing.from_settings(settings, engine.quotas)
        start_at_zero(("slack", method) for method in (*self.pacing.per_minute, "chat.postMessage"))
        self.answers = AnswerSurfaces(client, self.pacing)
        self.stops = Stops(engine.memory)
        self.assistant = AssistantThreads(client, engine.memory, settings.memory_ttl_seconds)
        self.workspace_url = workspace_url
        self.bot_user_id = bot_user_id
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

    # ------------------------------------------------------------------ team features

    async def on_feedback(self, body: dict[str, Any], action: dict[str, Any]) -> None:
        """👍 or 👎 under an answer: stored; a 👎 opens the modal asking what went wrong (while
        the click's trigger is fresh), a 👍 is thanked where only the user sees it."""
        verdict, answer_id = blocks.verdict(str(action.get("value", "")))
        user, channel = body["user"]["id"], body["container"]["channel_id"]
        texts = await self._texts_in(body["team"]["id"], channel)
        said = await feedback.judge(self.engine, texts, answer_id, _asker(body), verdict)  # type: ignore[arg-type]
        if verdict == "down" and said == texts("feedback_thanks"):
            await self.client.views_open(trigger_id=body["trigger_id"], view=blocks.note_modal(answer_id, texts))
            return
        await self._whisper(channel, user, said, body["container"].get("thread_ts"))

    async def on_note(self, body: dict[str, Any], view: dict[str, Any]) -> None:
        """The 👎 modal was sent: its note joins the verdict."""
        texts = self.texts
        said = await feedback.add_note(self.engine, texts, view["private_metadata"], _asker(body), blocks.note_of(view))
        if said != texts("feedback_thanks"):
            log.warning("a feedback note was not saved")

    async def on_stop(self, action: dict[str, Any]) -> None:
        """The stop button under an answer being written (plain messages)."""
        await self.stops.request(str(action.get("value", "")))

    async def on_regenerate(self, body: dict[str, Any], action: dict[str, Any]) -> None:
        """"다시 생성": a new answer to the thread's last question, as a job like any question."""
        container = body["container"]
        incoming = Incoming(
            team=body["team"]["id"], channel=container["channel_id"], user=body["user"]["id"], ts=action["action_ts"],
            thread_ts=container.get("thread_ts"), text="", files=(), regenerates=str(action.get("value", "")),
        )  # fmt: skip
        await self._accept_as(f"slack:action:{action['action_ts']}:{container['message_ts']}", incoming)

    async def on_thread_shortcut(self, body: dict[str, Any]) -> None:
        """The message shortcut "스레드 요약": the thread of that message, summarized in it."""
        message, channel = body["message"], body["channel"]["id"]
        texts = await self._texts_in(body["team"]["id"], channel)
        incoming = Incoming(
            team=body["team"]["id"], channel=channel, user=body["user"]["id"], ts=body["action_ts"],
            thread_ts=message.get("thread_ts") or message["ts"], text=texts("slack_shortcut_question"), files=(),
        )  # fmt: skip
        await self._accept_as(f"slack:shortcut:{body['action_ts']}:{message['ts']}", incoming)

    async def on_agent_stopped(self, event: dict[str, Any]) -> None:
        """Slack's own stop button: the answer being written in that thread stops (on whichever
        replica writes it)."""
        stopped = await self.stops.request_in(_place(Place(event["channel"], event.get("thread_ts"), "", "")))
        log.info("stop pressed in %s: %s", event["channel"], "stopping " + stopped if stopped else "nothing running")

    async def on_settings_command(self, command: dict[str, Any], respond: Any, context: AsyncBoltContext) -> None:
        """`/봇설정`: shows the channel's settings; admins change them."""
        if await self._refused(command, respond):
            return
        team, channel, user = _team(command, context), command["channel_id"], command["user_id"]
        asked = channel_settings.requested(command.get("text", ""))
        # who is an admin is asked of Slack only when it matters
        admin = asked != "show" and await self._is_admin(user)
        reply = await channel_settings.command(
            self.engine.channel_settings, _channel_name(team, channel), asked, admin=admin,
            bot_language=self.settings.bot_language, usage=lambda texts: texts("settings_usage", command=SETTINGS_COMMAND),
        )  # fmt: skip
        await respond(reply)

    async def _is_admin(self, user: str) -> bool:
        """A configured admin (SLACK_ADMIN_USERS), or the workspace's admin or owner (users.info)."""
        if user in self.settings.slack_admin_users:
            return True
        try:
            info = (await self.client.users_info(user=user))["user"]
        except SlackApiError:
            return False
        return bool(info.get("is_admin") or info.get("is_owner"))

    async def on_home_opened(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        """App Home: how to use the bot, and the user's own use of it (the usage ledger)."""
        usage = await flows.own_usage(self.engine, self.texts, Asker("slack", str(body.get("team_id") or ""), event["user"]))
        view = blocks.home(self.texts, f"{self.texts('slack_home_usage')}\n{usage}")
        await self.client.views_publish(user_id=event["user"], view=view)

    async def _texts_in(self, team: str, channel: str) -> Texts:
        return texts_for((await self.channel_settings(team, channel)).language_or(self.settings.bot_language))

    async def _whisper(self, channel: str, user: str, text: str, thread_ts: str | None) -> None:
        try:
            await self.client.chat_postEphemeral(channel=channel, user=user, text=text, thread_ts=thread_ts)
        except SlackApiError as error:
            log.info("could not whisper to %s (%s)", user, error.response.get("error"))

    async def _accept(self, body: dict[str, Any], incoming: Incoming) -> None:
        """Record the question before the event is acknowledged (the listeners run before the
        acknowledgement: `create_app`). Slack retries unacknowledged deliveries and every replica
        receives them: the first to record the event answers it."""
        await self._accept_as(f"slack:{body['event_id']}", incoming)

    async def _accept_as(self, event: str, incoming: Incoming) -> None:
        """Record `incoming` as a job (`event` de-duplicates deliveries), with its answer's id.
        Its thread is joined first: a follow-up may come before this job runs (the bot busy),
        and a replica that dies between the two steps has not acknowledged the event, which
        then comes again."""
        if not incoming.is_dm and self._allowed(incoming.channel, incoming.user):
            await self._join(incoming.key)
        incoming = replace(incoming, answer_id=uuid.uuid4().hex)
        accepted = await self.jobs.accept(
            event, incoming.key, float(incoming.ts), asdict(incoming),
            lambda: self._say_quietly(incoming.place, self.texts("llm_busy")),
        )  # fmt: skip
        if not accepted:
            log.info("event %s already taken", event)

    async def _run(self, job: Job) -> None:
        """Answer a recorded question, on whichever replica took the job."""
        incoming = Incoming(**{**job.payload, "files": tuple(job.payload["files"])})
        if job.answered is not None:
            await self._show_answered(incoming.place, job.opened, job.answered)
            return
        if await self.stops.stopped_while_away(job, incoming.answer_id):
            await self._end_stopped(incoming.place, job.opened)
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

    async def _end_stopped(self, place: Place, opened: tuple[str, ...]) -> None:
        """A question whose user stopped its answer while the replica writing it went away: what
        that replica had opened ends with the stopped note, as the answer would have ended there
        (the note alone when nothing had been opened: Slack's stop shows while the model has
        not written a word yet)."""
        note = self.texts("answer_stopped")
        if opened:
            await self._close(place, opened, note, stopped=True)
        else:
            await self._say_quietly(place, note)
        await self.assistant.done(place)  # its session was left processing

    async def _close(
        self, place: Place, opened: tuple[str, ...], note: str | None = None, *, stopped: bool = False
    ) -> None:
        """Close what a replica that stopped had opened for this question: its stream ends with a
        note, its placeholder or partial answer becomes the note. One it had ended is left, but
        for a stream its user `stopped`, which Slack ended."""
        note = note or self.texts("taken_over")
        for handle in opened:
            kind, _, ts = handle.partition(":")
            try:
                if kind == "stream":
                    await self._close_stream(place, ts, note, stopped=stopped)
                else:
                    await self.client.chat_update(channel=place.channel, ts=ts, text=note)
            except SlackApiError as error:
                log.info("could not close message %s of a job taken over (%s)", ts, error.response.get("error"))

    async def _close_stream(self, place: Place, ts: str, note: str, *, stopped: bool) -> None:
        try:
            await self.client.chat_stopStream(channel=place.channel, ts=ts, markdown_text=f"\n\n{note}")
        except SlackApiError as error:
            if not stopped or error.response.get("error") != "message_not_in_streaming_state":
                raise
            # Slack's stop button ends the stream at once: the note is written in by an edit,
            # as the replica writing the answer does (NativeStream.stop), unless it did already.
            shown = await self._shown(place, ts)
            if shown is None or shown.rstrip().endswith(note):
                return
            text = to_mrkdwn(shown + ending(shown, AnswerStopped(), self.texts))
            await self.client.chat_update(channel=place.channel, ts=ts, text=text, blocks=blocks.with_text(text, []))

    async def _respond(self, incoming: Incoming, job: Job) -> None:
        if not self._allowed(incoming.channel, incoming.user):
            log.info("refused %s in %s (allow-lists)", incoming.user, incoming.channel)
            if self.settings.slack_refusal == "polite":
                await self._say_quietly(incoming.place, self.texts("not_allowed"))
            return
        try:
            await self._dispatch(incoming, job)
        except Exception as error:
            # Reached only when Slack itself failed: say so if we can.
            log.exception("reply in %s failed", incoming.channel)
            await self._say_quietly(incoming.place, self.texts.for_error(error))

    async def _dispatch(self, incoming: Incoming, job: Job) -> None:
        messages = NotedSurface(SlackMessages(self.client, incoming.place, self.pacing), job.note_opened, _message)
        channel = await self.channel_settings(incoming.team, incoming.channel)
        texts = texts_for(channel.language_or(self.settings.bot_language))
        question = flows.Question(incoming.key, incoming.text, incoming.asker, incoming.answer_id, channel)
        command = None if incoming.regenerates else incoming.command()
        if command == "reset":
            await flows.reset(self.engine, texts, incoming.key, messages)
        elif command == "help":
            await messages.post(f"{texts('slack_help')}\n\n{channel_settings.summary(channel, texts)}")
        elif command in ("summarize_thread", "summarize_channel"):
            await self._summarize(incoming, question, texts, messages)
        elif incoming.files:
            for file in incoming.files:
                source = SharedFile(self.client, file)
                await flows.read_document(self.engine, texts, question, source, messages)
        else:
            await self._answer(incoming, job, question, texts)

    async def _answer(self, incoming: Incoming, job: Job, question: flows.Question, texts: Texts) -> None:
        """The answer (or, for "다시 생성", a new one) with Slack's status while the model works,
        the thread's title from its first question, and the footer once it is complete. Slack's
        stop, which names the thread, finds it from here on: before its first word, and before it
        waits in line for the model too."""
        async with self.stops.watching(incoming.answer_id, _place(incoming.place)):
            await self._write_answer(incoming, job, question, texts)

    async def _write_answer(self, incoming: Incoming, job: Job, question: flows.Question, texts: Texts) -> None:
        place = incoming.place
        await self.assistant.working(place, texts("slack_thinking"), title=None if incoming.regenerates else question.text,
                                     key=incoming.key, engine=self.engine)  # fmt: skip
        waits = self.engine.model_queue is not None
        where = await self.answers.open(place, waits=waits)
        footer = blocks.footer(incoming.answer_id, texts)
        if isinstance(where, NativeStream):
            where.footer = footer
            where.stopped = lambda: self.stops.was_stopped(incoming.answer_id)
        elif isinstance(where, SlackMessages):
            where.controls = blocks.stop_button(incoming.answer_id, texts)
        if isinstance(where, NativeStream) or waits:  # Slack's stop while the model works, or is waited for
            await self.assistant.processing(place, question.text)
        shown = await noted(where, job.note_opened, message=_message, stream=_stream)
        if incoming.regenerates:
            answered = await flows.regenerate(
                self.engine, texts, question, shown, self.stops, replacing=incoming.regenerates
            )
        else:
            answered = await flows.answer(self.engine, texts, question, shown, self.stops)
        if isinstance(where, SlackMessages):
            await where.attach(footer if answered else [])
            if waits:  # no stream's end moves its session on
                await self.assistant.done(place)

    async def _summarize(self, incoming: Incoming, question: flows.Question, texts: Texts, messages: Surface) -> None:
        asked = summary_request(incoming.text)
        assert asked is not None
        command, span = asked
        reader = chats.Reader(self.client, self.workspace_url, self.bot_user_id)
        source: flows.ChatSource
        if command == "summarize_thread":
            if incoming.thread_ts is None or (not incoming.is_dm and incoming.thread_ts == incoming.ts):
                await messages.post(texts("slack_thread_only"))
                return
            source = chats.ThreadMessages(reader, incoming.channel, incoming.thread_ts, incoming.ts, texts("chat_thread"))
        else:
            channel = incoming.channel if not incoming.is_dm else await self.assistant.viewed_channel(incoming.place)
            if not channel:
                await messages.post(texts("slack_no_channel"))
                return
            oldest, latest = chats.time_range(span, await self._time_zone(incoming.user))
            since = incoming.user if span.missed else None
            source = chats.ChannelMessages(reader, channel, oldest, latest, f"<#{channel}>", since_user=since)
        await flows.summarize_chat(self.engine, texts, question, source, messages)

    async def _time_zone(self, user: str) -> str | None:
        try:
            return (await self.client.users_info(user=user))["user"].get("tz")
        except SlackApiError:
            return None

    async def channel_settings(self, team: str, channel: str) -> ChannelSettings:
        return await self.engine.channel_settings.get(_channel_name(team, channel))

    # A channel thread joins when the bot is mentioned in it and stays joined as long as the
    # conversation's memory lives, so follow-ups there need no mention; the mark is in the
    # engine's memory (Redis), shared by every replica, and set when a question is accepted.
    async def _join(self, key: ConversationKey) -> None:
        await self.engine.memory.mark(f"slack-thread:{key.id}", self.settings.memory_ttl_seconds)

    async def _follows_up(self, incoming: Incoming) -> bool:
        need_mention = (await self.channel_settings(incoming.team, incoming.channel)).followups_need_mention
        allowed = self.settings.slack_thread_followups if need_mention is None else not need_mention
        return allowed and await self.engine.memory.is_marked(f"slack-thread:{incoming.key.id}")

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


def _asker(body: dict[str, Any]) -> str:
    """The user of an interaction, qualified as questions' askers are."""
    return Asker("slack", body["team"]["id"], body["user"]["id"]).id


def _team(body: dict[str, Any], context: AsyncBoltContext) -> str:
    return str(context.team_id or body.get("team_id") or "")


def _channel_name(team: str, channel: str) -> str:
    """A channel as its per-channel settings name it."""
    return f"slack:{team}:{channel}"


def _place(place: Place) -> str:
    """Where an answer is written, as a stop naming the thread names it (agent_session_stopped)."""
    return f"slack:{place.channel}:{place.thread_ts or ''}"


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

    app.assistant(assistant_middleware(bot.assistant, bot.texts, bot.engine))

    @app.event("app_mention")
    async def mention(body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext) -> None:
        await bot.on_mention(body, event, context)

    @app.event("message")
    async def message(body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext) -> None:
        await bot.on_message(body, event, context)

    commands = ((RESET_COMMAND, bot.on_reset_command), (USAGE_COMMAND, bot.on_usage_command),
                (SETTINGS_COMMAND, bot.on_settings_command))  # fmt: skip
    for name, handle in commands:
        app.command(name)(_command_listener(bot, handle))

    @app.event("agent_session_stopped")
    async def stopped(event: dict[str, Any]) -> None:
        await bot.on_agent_stopped(event)

    @app.event("app_home_opened")
    async def home(body: dict[str, Any], event: dict[str, Any]) -> None:
        await bot.on_home_opened(body, event)

    @app.action(blocks.FEEDBACK_ACTION)
    async def feedback_clicked(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        await bot.on_feedback(body, action)

    @app.action(blocks.STOP_ACTION)
    async def stop_clicked(ack: Any, action: dict[str, Any]) -> None:
        await ack()
        await bot.on_stop(action)

    @app.action(blocks.REGENERATE_ACTION)
    async def regenerate(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        await bot.on_regenerate(body, action)

    @app.view(blocks.NOTE_VIEW)
    async def note(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        await ack()
        await bot.on_note(body, view)

    @app.shortcut(THREAD_SHORTCUT)
    async def thread_summary(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        await bot.on_thread_shortcut(body)

    return app


CommandHandler = Callable[[dict[str, Any], Any, AsyncBoltContext], Awaitable[None]]


def _command_listener(bot: SlackBot, handle: CommandHandler) -> Callable[..., Awaitable[None]]:
    """A slash command's listener: acknowledged at once, handled in the background."""

    async def listener(ack: Any, command: dict[str, Any], respond: Any, context: AsyncBoltContext) -> None:
        await ack()
        await bot.jobs.spawn_or_refuse(handle(command, respond, context), lambda: respond(bot.texts("llm_busy")))

    return listener
