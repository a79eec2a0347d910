"""A thread's or a channel's messages read from Discord for a summary (bot.frontend.flows.ChatSource):
GET /channels/{id}/messages, which discord.py pages 100 at a time (Discord's most per call),
oldest first from `after` (a whole thread from its start). Each line carries its author's
display name and a link to the message. Discord refuses the history of a channel the bot is not
in (403, Missing Access: an app installed by a user, used elsewhere), which the user is told."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import discord

from bot.core.chat_summary import ChatLine
from bot.core.errors import BotError

MAX_MESSAGES = 2_000  # read at most: beyond, a summary would take many minutes of model time


class HistoryUnreadable(BotError):
    code = "discord_history_unreadable"


@dataclass(frozen=True)
class ChannelHistory:
    client: discord.Client
    channel: int
    guild: int | None
    after: datetime | None  # None: from the channel's (the thread's) first message
    title: str  # what the summary is of, for the model
    skip: int = 0  # the id of the interaction asking: its own "thinking…" message is no line

    async def lines(self) -> list[ChatLine]:
        channel = self.client.get_partial_messageable(self.channel, guild_id=self.guild)
        history = channel.history(limit=MAX_MESSAGES, after=self.after, oldest_first=True)
        try:
            return [line async for message in history if (line := self._line(message))]
        except discord.Forbidden:
            raise HistoryUnreadable(str(self.channel)) from None

    def _line(self, message: discord.Message) -> ChatLine | None:
        metadata = message.interaction_metadata
        if message.flags.loading or (metadata is not None and metadata.id == self.skip):
            return None
        files = " ".join(f"[{attachment.filename}]" for attachment in message.attachments)
        text = " ".join(part for part in (message.content.strip(), files) if part)
        if not text:
            return None
        where = self.guild or "@me"
        return ChatLine(message.author.display_name, text, f"https://discord.com/channels/{where}/{self.channel}/{message.id}")
