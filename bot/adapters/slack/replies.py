"""What the bot does with a message addressed to it: answer, read files, reset, help.

Every path ends with something in Slack the user can read: the answer, or a short message
saying what went wrong. Nothing here knows how a message arrived."""

from __future__ import annotations

import logging
from contextlib import aclosing
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.events import Incoming
from bot.adapters.slack.files import check_size, download, file_name
from bot.adapters.slack.mrkdwn import to_mrkdwn
from bot.adapters.slack.surface import MESSAGE_LIMITS, MessageSurface, Place, Streaming
from bot.frontend.delivery import ProgressMessage
from bot.core.engine import ChatEngine
from bot.frontend.jobs import log_outcome
from bot.core.errors import BotError
from bot.frontend.texts import Language, text, user_message

log = logging.getLogger(__name__)


class Replies:
    def __init__(self, engine: ChatEngine, client: AsyncWebClient) -> None:
        self.engine = engine
        self.client = client
        self.lang: Language = engine.settings.bot_language
        self.streaming = Streaming(client)

    async def handle(self, incoming: Incoming) -> None:
        try:
            await self._dispatch(incoming)
        except Exception as error:
            # Reached only when Slack itself failed or something unforeseen broke: say so if we can.
            log.exception("reply in %s failed", incoming.channel)
            await self.say_quietly(incoming.place, user_message(error, self.lang))

    async def _dispatch(self, incoming: Incoming) -> None:
        command = incoming.command()
        if command == "reset":
            await self.engine.reset(incoming.key)
            await self.say(incoming.place, text("reset_done", self.lang))
        elif command == "help":
            await self.say(incoming.place, text("slack_help", self.lang))
        elif incoming.files:
            for file in incoming.files:
                await self._read(incoming, file)
        else:
            await self._answer(incoming)

    async def say(self, place: Place, message: str) -> None:
        await MessageSurface(self.client, place).post(message)

    async def say_quietly(self, place: Place, message: str) -> None:
        try:
            await self.say(place, message)
        except Exception:
            log.warning("could not tell %s what went wrong", place.channel, exc_info=True)

    async def _answer(self, incoming: Incoming) -> None:
        deltas = self.engine.stream_reply(incoming.key, incoming.text, user=incoming.asker)
        async with aclosing(deltas):
            try:
                await self.streaming.show(deltas, incoming.place, self.lang)
            except SlackApiError:
                raise
            except Exception as error:  # the stream has already shown the user its message
                log_outcome(error)

    async def _read(self, incoming: Incoming, file: dict[str, Any]) -> None:
        """Summarize one file (or answer the message's text about it) under a progress line."""
        surface = MessageSurface(self.client, incoming.place)
        try:
            check_size(file, self.engine.limits)  # before any download: Slack told us the size
        except BotError as error:
            await surface.post(user_message(error, self.lang))
            return
        progress = ProgressMessage(surface, self._progress)
        await progress.update(0, 0)  # extraction can take a while before the first step counts
        try:
            result = await self._summarize(incoming, file, progress)
        except Exception as error:
            log_outcome(error)
            result = user_message(error, self.lang)
        await progress.finish_long(result, MESSAGE_LIMITS, lang=self.lang, format=to_mrkdwn)

    async def _summarize(self, incoming: Incoming, file: dict[str, Any], progress: ProgressMessage) -> str:
        if not file.get("url_private_download") and file.get("id"):
            # Events may carry a partial file object ("file_access": "check_file_info").
            file = (await self.client.files_info(file=file["id"]))["file"]
        data = await download(file, str(self.client.token), self.engine.limits)
        return await self.engine.summarize_document(
            incoming.key, data, file_name(file), question=incoming.text or None, progress=progress.update,
            user=incoming.asker,
        )

    def _progress(self, done: int, total: int) -> str:
        if not total:
            return text("doc_reading", self.lang)
        return text("doc_progress", self.lang, done=done, total=total)

