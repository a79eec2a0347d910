"""A thread's or a channel's messages read from Slack for a summary (bot.frontend.flows.ChatSource):
`conversations.replies` for a thread, `conversations.history` for a channel over a time range or
since the asker last wrote ("내가 놓친 것"). Only channels the bot is a member of can be read
(Slack answers `not_in_channel` otherwise, which the user is told in words).

Each line carries its author's display name (users.info, once per person) and a link to the
message. Links are built from the workspace URL (auth.test) in Slack's permalink form, as
chat.getPermalink would return them: one call per message would spend a 300-message thread's
worth of a rate tier on links alone."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.events import ChatRange, plain_text
from bot.core.chat_summary import ChatLine
from bot.core.errors import BotError

MAX_MESSAGES = 2_000  # read at most: beyond, a summary would take many minutes of model time
PAGE = 200  # messages a call: Slack recommends no more than 200
MISSED_LOOKBACK = 7 * 24 * 3600  # "what I missed" reaches back at most a week
DEFAULT_TZ = "Asia/Seoul"
_NOISE = frozenset({"channel_join", "channel_leave", "channel_topic", "channel_purpose", "channel_name",
                    "bot_add", "bot_remove", "message_deleted"})  # fmt: skip


class NotInChannel(BotError):
    code = "slack_not_in_channel"


class NoChannelToSummarize(BotError):
    code = "slack_no_channel"


@dataclass
class Reader:
    """What every source needs: the client, the workspace URL for links, names already known."""

    client: AsyncWebClient
    workspace_url: str  # "https://team.slack.com/"
    bot_user_id: str
    names: dict[str, str] = field(default_factory=dict)

    async def name(self, user: str | None, message: dict[str, Any]) -> str:
        if not user:
            return str(message.get("username") or (message.get("bot_profile") or {}).get("name") or "bot")
        if user not in self.names:
            try:
                info = (await self.client.users_info(user=user))["user"]
                profile = info.get("profile") or {}
                self.names[user] = profile.get("display_name") or info.get("real_name") or info.get("name") or user
            except SlackApiError:
                self.names[user] = user
        return self.names[user]

    def link(self, channel: str, ts: str, thread_ts: str | None = None) -> str:
        link = f"{self.workspace_url.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"
        return f"{link}?thread_ts={thread_ts}&cid={channel}" if thread_ts and thread_ts != ts else link

    async def lines(self, channel: str, messages: Sequence[dict[str, Any]], thread_ts: str | None) -> list[ChatLine]:
        lines = []
        for message in messages:
            if message.get("subtype") in _NOISE or not (text := plain_text(message.get("text", ""))):
                continue
            author = await self.name(message.get("user"), message)
            lines.append(ChatLine(author, text, self.link(channel, message["ts"], thread_ts)))
        return lines

    async def pages(self, method: str, **args: Any) -> AsyncIterator[dict[str, Any]]:
        """Every message of a paginated conversations.* call, up to MAX_MESSAGES."""
        call = getattr(self.client, method)
        cursor, count = None, 0
        while count < MAX_MESSAGES:
            try:
                page = await call(limit=PAGE, cursor=cursor, **args)
            except SlackApiError as error:
                if error.response.get("error") in ("not_in_channel", "channel_not_found"):
                    raise NotInChannel(args.get("channel", "")) from None
                raise
            for message in page.get("messages", []):
                count += 1
                yield message
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor or not page.get("has_more", True):
                return


@dataclass
class ThreadMessages:
    """The thread's messages before the request (the request and the bot's progress excluded)."""

    reader: Reader
    channel: str
    thread_ts: str
    before: str
    title: str

    async def lines(self) -> Sequence[ChatLine]:
        messages = [m async for m in self.reader.pages("conversations_replies", channel=self.channel,
                                                       ts=self.thread_ts, latest=self.before)]  # fmt: skip
        return await self.reader.lines(self.channel, messages, self.thread_ts)


@dataclass
class ChannelMessages:
    """The channel's top-level messages between `oldest` and `latest` (epoch seconds), oldest
    first; with `since_user`, only those after that user's last message in the range."""

    reader: Reader
    channel: str
    oldest: float
    latest: float
    title: str
    since_user: str | None = None

    async def lines(self) -> Sequence[ChatLine]:
        newest_first: list[dict[str, Any]] = []
        async for message in self.reader.pages("conversations_history", channel=self.channel,
                                               oldest=f"{self.oldest:.6f}", latest=f"{self.latest:.6f}"):  # fmt: skip
            if self.since_user and message.get("user") == self.since_user:
                break
            newest_first.append(message)
        return await self.reader.lines(self.channel, newest_first[::-1], None)


def time_range(asked: ChatRange, tz_name: str | None, now: float | None = None) -> tuple[float, float]:
    """(oldest, latest) in epoch seconds for "오늘" / "어제" / "지난 N시간" in the asker's time zone."""
    now = time.time() if now is None else now
    if asked.hours:
        return now - asked.hours * 3600, now
    try:
        zone = ZoneInfo(tz_name or DEFAULT_TZ)
    except (KeyError, ValueError):
        zone = ZoneInfo(DEFAULT_TZ)
    midnight = datetime.fromtimestamp(now, zone).replace(hour=0, minute=0, second=0, microsecond=0)
    if asked.day == "yesterday":
        return (midnight - timedelta(days=1)).timestamp(), midnight.timestamp()
    if asked.day == "today":
        return midnight.timestamp(), now
    if asked.missed:
        return now - MISSED_LOOKBACK, now
    return now - 24 * 3600, now  # "이 채널 요약": the last day
