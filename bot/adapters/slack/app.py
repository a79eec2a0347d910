"""The bolt app: listeners that pick out the messages meant for the bot, drop duplicates and
noise, and hand the real work to background jobs so every event is acknowledged at once."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.events import Incoming, from_mention, from_message
from bot.adapters.slack.replies import Replies
from bot.adapters.slack.surface import Place
from bot.adapters.slack.threads import ThreadMarks
from bot.config import Settings
from bot.core.conversation import ConversationKey
from bot.core.engine import ChatEngine
from bot.frontend.jobs import Jobs
from bot.frontend.texts import text

log = logging.getLogger(__name__)

RESET_COMMAND = "/reset"


class _OwnTokenWarning(logging.Filter):
    """bolt reads SLACK_BOT_TOKEN from the environment by itself and then warns, at every start,
    that the client's token wins: it is the same token, so the warning only confuses."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


_bolt_log = logging.getLogger("slack_bolt")
_bolt_log.addFilter(_OwnTokenWarning())


class SlackBot:
    """Everything the listeners share: settings, engine, thread marks, jobs."""

    def __init__(self, settings: Settings, engine: ChatEngine, client: AsyncWebClient) -> None:
        self.settings = settings
        self.engine = engine
        self.lang = settings.bot_language
        self.threads = ThreadMarks(engine)
        # Replies past the model's concurrency wait in the engine; far past it they only pile up.
        self.jobs = Jobs(limit=4 * settings.llm_max_concurrency)
        self.replies = Replies(engine, client)

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
                await respond(text("not_allowed", self.lang))
        elif channel.startswith("D"):
            await self.engine.reset(ConversationKey("slack", (_team(command, context), "dm", user)))
            await respond(text("reset_done", self.lang))
        else:
            await respond(text("slack_reset_in_thread", self.lang))

    async def _follows_up(self, incoming: Incoming) -> bool:
        return self.settings.slack_thread_followups and await self.threads.joined(incoming.key)

    async def _accept(self, body: dict[str, Any], incoming: Incoming) -> None:
        # Slack retries unacknowledged deliveries and every replica receives them: first claim wins.
        if not self.jobs.accepting or not await self.engine.claim_event(f"slack:{body['event_id']}"):
            log.info("event %s already taken", body["event_id"])
            return
        if not self.jobs.spawn(self._respond(incoming)):
            log.warning("%d replies in progress: turning one away", len(self.jobs))
            await self.replies.say_quietly(incoming.place, text("llm_busy", self.lang))

    async def _respond(self, incoming: Incoming) -> None:
        if not self._allowed(incoming.channel, incoming.user):
            await self._refuse(incoming.place)
            return
        if not incoming.is_dm:
            await self.threads.join(incoming.key)
        await self.replies.handle(incoming)

    def _allowed(self, channel: str, user: str) -> bool:
        users, channels = self.settings.slack_allowed_users, self.settings.slack_allowed_channels
        # DMs are not channels: only the user list restricts them.
        in_channel = channel.startswith("D") or not channels or channel in channels
        return in_channel and (not users or user in users)

    async def _refuse(self, place: Place) -> None:
        log.info("refused %s in %s (allow-lists)", place.user, place.channel)
        if self.settings.slack_refusal == "polite":
            await self.replies.say_quietly(place, text("not_allowed", self.lang))

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
        logger=_bolt_log,
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
        if not bot.jobs.spawn(bot.on_reset_command(command, respond, context)):
            await respond(text("llm_busy", bot.lang))

    return app
