"""Slack events read as what the bot needs: who asked what, where, and where the answer goes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from bot.adapters.slack.surface import Place
from bot.core.conversation import ConversationKey
from bot.core.usage import Asker

Command = Literal["reset", "help"]

# Plain user messages; edits, deletions, joins and other bots' posts are noise.
_USER_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
_COMMANDS: dict[str, Command] = {"reset": "reset", "초기화": "reset", "help": "help", "도움말": "help"}


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
        return Place(self.channel, self.thread_ts, self.team, self.user)

    @property
    def asker(self) -> Asker:
        return Asker("slack", self.team, self.user, self.channel)

    def command(self) -> Command | None:
        if self.files:
            return None
        if not self.text:
            return "help"
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
