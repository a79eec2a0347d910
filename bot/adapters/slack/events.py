"""Slack events read as what the bot needs: who asked what, where, and where the answer goes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from bot.adapters.slack.surface import Place
from bot.core.conversation import ConversationKey
from bot.core.usage import Asker

Command = Literal["reset", "help", "summarize_thread", "summarize_channel"]

# Plain user messages; edits, deletions, joins and other bots' posts are noise.
_USER_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
_COMMANDS: dict[str, Command] = {"reset": "reset", "초기화": "reset", "help": "help", "도움말": "help"}


@dataclass(frozen=True)
class ChatRange:
    """Which of a channel's messages a summary reads: a day, the last hours, what the asker
    missed (since they last wrote), or by default the last day."""

    day: Literal["today", "yesterday"] | None = None
    hours: int = 0
    missed: bool = False


# Whole requests only ("스레드 요약이 뭐야?" is a question): the polite endings people add, allowed.
_PLEASE = r"(?:\s*(?:해\s*(?:줘|줄래|주세요|주실래요)|하기|please))?[\s.!?~]*$"
_THREAD_SUMMARY = re.compile(r"^(?:이\s*)?스레드\s*(?:를\s*)?요약" + _PLEASE + r"|^summari[sz]e\s+(?:this\s+)?thread" + _PLEASE, re.I)
_CHANNEL_SUMMARY = re.compile(
    r"^(?:(오늘|어제|today|yesterday)\s*|(?:지난|최근)\s*(\d{1,3})\s*시간\s*(?:동안\s*)?|last\s+(\d{1,3})\s+hours?\s*)?"
    r"(?:이\s*)?(?:채널\s*(?:을\s*)?요약|summari[sz]e\s+(?:this\s+)?channel)" + _PLEASE,
    re.I,
)
_MISSED = re.compile(r"^(?:내가\s*)?놓친\s*(?:것|거|내용|메시지)(?:\s*(?:알려\s*줘|요약해\s*줘|있어|은|는))?[\s.!?~]*$|^what\s+did\s+i\s+miss[\s.!?]*$", re.I)
MAX_HOURS = 24 * 7


def summary_request(text: str) -> tuple[Command, ChatRange] | None:
    """A request for a thread's or a channel's summary, as people write it."""
    text = text.strip()
    if _THREAD_SUMMARY.match(text):
        return "summarize_thread", ChatRange()
    if _MISSED.match(text):
        return "summarize_channel", ChatRange(missed=True)
    if asked := _CHANNEL_SUMMARY.match(text):
        day = {"오늘": "today", "today": "today", "어제": "yesterday", "yesterday": "yesterday"}.get((asked[1] or "").lower())
        hours = min(int(asked[2] or asked[3] or 0), MAX_HOURS)
        return "summarize_channel", ChatRange(day, hours)  # type: ignore[arg-type]
    return None


@dataclass(frozen=True)
class Incoming:
    """One user message addressed to the bot."""

    team: str
    channel: str
    user: str
    ts: str
    thread_ts: str | None  # the thread the answer goes to; None: the top level of a DM
    text: str  # plain text, the bot's mention removed
    files: tuple[dict[str, Any], ...]
    answer_id: str = ""  # given when the question is accepted: stop and feedback name it
    regenerates: str = ""  # "다시 생성": the id of the answer a new one replaces

    @property
    def is_dm(self) -> bool:
        return self.channel.startswith("D")

    @property
    def key(self) -> ConversationKey:
        # A DM is one conversation per user; a thread (in a channel or a DM) is its own.
        if self.thread_ts is None:
            return ConversationKey("slack", (self.team, "dm", self.user))
        return ConversationKey("slack", (self.team, self.channel, self.thread_ts))

    @property
    def place(self) -> Place:
        return Place(self.channel, self.thread_ts, self.team, self.user, self.ts)

    @property
    def asker(self) -> Asker:
        return Asker("slack", self.team, self.user, self.channel)

    def command(self) -> Command | None:
        if self.files:
            return None
        if not self.text:
            return "help"
        if asked := summary_request(self.text):
            return asked[0]
        return _COMMANDS.get(self.text.strip().rstrip("!.?").lower())


def from_mention(event: dict[str, Any], team: str, bot_user_id: str | None) -> Incoming | None:
    """A mention in a channel, answered in the thread it starts or belongs to."""
    if event.get("channel", "").startswith("D") or not _from_user(event):
        return None  # DMs are answered from their message event
    return _incoming(event, team, bot_user_id, event.get("thread_ts") or event["ts"])


def from_message(event: dict[str, Any], team: str, bot_user_id: str | None) -> Incoming | None:
    """A DM, or a channel thread reply without a mention (a follow-up, if the bot is in that
    thread: the caller checks). Mentions in channels arrive as app_mention events instead."""
    if not _from_user(event):
        return None
    thread_ts = event.get("thread_ts")
    if event.get("channel_type") == "im":
        return _incoming(event, team, bot_user_id, thread_ts)
    in_thread = thread_ts and thread_ts != event.get("ts")
    if not in_thread or (bot_user_id and f"<@{bot_user_id}>" in event.get("text", "")):
        return None
    return _incoming(event, team, bot_user_id, thread_ts)


def _from_user(event: dict[str, Any]) -> bool:
    return event.get("subtype") in _USER_SUBTYPES and not event.get("bot_id") and bool(event.get("user"))


def _incoming(event: dict[str, Any], team: str, bot_user_id: str | None, thread_ts: str | None) -> Incoming:
    return Incoming(
        team=team,
        channel=event["channel"],
        user=event["user"],
        ts=event["ts"],
        thread_ts=thread_ts,
        text=plain_text(event.get("text", ""), bot_user_id),
        files=tuple(event.get("files") or ()),
    )


# ------------------------------------------------------------------ Slack text → plain

_SLACK_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")


def plain_text(text: str, bot_user_id: str | None = None) -> str:
    """A user's message as the model should read it: the bot's own mention dropped, Slack's
    <…> links, mentions and channel names spelled out, entities unescaped."""
    if bot_user_id:
        text = text.replace(f"<@{bot_user_id}>", " ")
    text = _SLACK_LINK.sub(_spell_out, text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return re.sub(r"[ \t]{2,}", " ", text).strip()


def _spell_out(m: re.Match[str]) -> str:
    target, label = m[1], m[2]
    if target.startswith(("@", "#")):
        return f"{target[0]}{label}" if label else target
    if target.startswith("!"):
        return label or f"@{target[1:].split('^')[0]}"
    target = target.removeprefix("mailto:")
    return f"{label} ({target})" if label and label != target else target
