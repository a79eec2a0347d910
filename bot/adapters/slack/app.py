"""The bolt app: listeners that pick out the messages meant for the bot, drop duplicates and
noise, and run the shared flows in background jobs so every event is acknowledged at once."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.files import SharedFile
from bot.adapters.slack.events import Incoming, from_mention, from_message
from bot.adapters.slack.surface import AnswerSurfaces, Pacing, PausingRateLimits, Place, SlackMessages
from bot.config import Settings
from bot.core.conversation import ConversationKey
from bot.core.engine import ChatEngine
from bot.frontend import flows
from bot.frontend.jobs import Jobs
from bot.frontend.texts import texts_for

log = logging.getLogger(__name__)

RESET_COMMAND = "/reset"


class SlackBot:
    """Everything the listeners share: settings, engine, texts, jobs, where answers stream."""

    def __init__(self, settings: Settings, engine: ChatEngine, client: AsyncWebClient, *, team: str) -> None:
        self.settings = settings
        self.engine = engine
        self.client = client
        self.texts = texts_for(settings.bot_language)
        self.jobs = Jobs.for_settings(settings)
        self.pacing = Pacing.from_settings(settings, engine.quotas)
        self.answers = AnswerSurfaces(client, self.pacing)
        for handler in client.retry_handlers:
            if isinstance(handler, PausingRateLimits):
                handler.budget = self.pacing.budget(team)

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
        if not self._allowed(channel, user):
            if self.settings.slack_refusal == "polite":
                await respond(self.texts("not_allowed"))
        elif channel.startswith("D"):
            await self.engine.reset(ConversationKey("slack", (_team(command, context), "dm", user)))
            await respond(self.texts("reset_done"))
        else:
            await respond(self.texts("slack_reset_in_thread"))

    async def _accept(self, body: dict[str, Any], incoming: Incoming) -> None:
        # Slack retries unacknowledged deliveries and every replica receives them: first claim wins.
        if not self.jobs.accepting or not await self.engine.claim_event(f"slack:{body['event_id']}"):
            log.info("event %s already taken", body["event_id"])
            return
        await self.jobs.spawn_or_refuse(
            self._respond(incoming), lambda: self._say_quietly(incoming.place, self.texts("llm_busy"))
        )

    async def _respond(self, incoming: Incoming) -> None:
        if not self._allowed(incoming.channel, incoming.user):
            log.info("refused %s in %s (allow-lists)", incoming.user, incoming.channel)
            if self.settings.slack_refusal == "polite":
                await self._say_quietly(incoming.place, self.texts("not_allowed"))
            return
        if not incoming.is_dm:
            await self._join(incoming.key)
        try:
            await self._dispatch(incoming)
        except Exception as error:
            # Reached only when Slack itself failed: say so if we can.
            log.exception("reply in %s failed", incoming.channel)
            await self._say_quietly(incoming.place, self.texts.for_error(error))

    async def _dispatch(self, incoming: Incoming) -> None:
        messages = SlackMessages(self.client, incoming.place, self.pacing)
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
            await flows.answer(self.engine, self.texts, question, await self.answers.open(incoming.place))

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


def create_app(bot: SlackBot, client: AsyncWebClient, signing_secret: str | None) -> AsyncApp:
    """The bolt app; `signing_secret` None for Socket Mode, where requests are not signed."""
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret or "",
        request_verification_enabled=signing_secret is not None,
        logger=logging.getLogger("slack_bolt"),
    )

    @app.event("app_mention")
    async def mention(body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext) -> None:
        await bot.on_mention(body, event, context)

    @app.event("message")
    async def message(body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext) -> None:
        await bot.on_message(body, event, context)

    @app.command(RESET_COMMAND)
    async def reset(ack: Any, command: dict[str, Any], respond: Any, context: AsyncBoltContext) -> None:
        await ack()
        await bot.jobs.spawn_or_refuse(
            bot.on_reset_command(command, respond, context), lambda: respond(bot.texts("llm_busy"))
        )

    return app
