"""Where answers appear in Slack, and how they look there: plain messages posted and edited in
place (any workspace), or Slack's native AI streaming (`chat.startStream` / `appendStream` /
`stopStream`) where the workspace offers it; the model's Markdown rendered as Slack mrkdwn."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.frontend.markdown import code_lines
from bot.frontend.splitting import utf8_len
from bot.frontend.surface import GrowingMessage, MessageStyle, Surface

log = logging.getLogger(__name__)

MESSAGE_BYTES = 3_900  # Slack cuts chat.postMessage / chat.update text near 4,000 UTF-8 bytes
STREAM_CHARS = 10_000  # one streamed message: Slack takes 12,000 characters of markdown at most
EDIT_INTERVAL = 1.0  # Slack allows about one update per second per message
# Errors that mean this workspace (or token) has no native streaming: remembered, not retried.
_NO_STREAMING = frozenset(
    {"unknown_method", "not_allowed", "not_allowed_token_type", "missing_scope", "method_deprecated",
     "feature_not_enabled"}
)  # fmt: skip


@dataclass(frozen=True)
class Place:
    """Where a reply goes (`thread_ts` None: top level of a DM) and whom it answers."""

    channel: str
    thread_ts: str | None
    team: str
    user: str


class SlackMessages:
    """Plain Slack messages in one place, posted and edited (`bot.frontend.surface.Surface`)."""

    def __init__(self, client: AsyncWebClient, place: Place) -> None:
        self.client = client
        self.place = place
        self.style = MESSAGE_STYLE

    async def post(self, text: str) -> str:
        response = await self.client.chat_postMessage(
            channel=self.place.channel, thread_ts=self.place.thread_ts, text=text,
            unfurl_links=False, unfurl_media=False,
        )  # fmt: skip
        return str(response["ts"])

    async def edit(self, handle: object, text: str) -> None:
        await self.client.chat_update(channel=self.place.channel, ts=str(handle), text=text)


class NativeStream:
    """One answer through Slack's streaming methods, which render Markdown themselves
    (`bot.frontend.surface.GrowingMessage`)."""

    max_chars = STREAM_CHARS
    interval = EDIT_INTERVAL

    def __init__(self, client: AsyncWebClient, place: Place) -> None:
        self.client = client
        self.place = place
        self.ts = ""

    async def start(self, markdown: str) -> None:
        response = await self.client.chat_startStream(
            channel=self.place.channel, thread_ts=self.place.thread_ts, markdown_text=markdown or None,
            recipient_team_id=self.place.team, recipient_user_id=self.place.user,
        )  # fmt: skip
        self.ts = str(response["ts"])

    async def append(self, markdown: str) -> None:
        await self.client.chat_appendStream(channel=self.place.channel, ts=self.ts, markdown_text=markdown)

    async def stop(self, markdown: str, *, failed: bool) -> None:
        await self.client.chat_stopStream(channel=self.place.channel, ts=self.ts, markdown_text=markdown or None)


class AnswerSurfaces:
    """Where an answer streams: natively where the workspace allows it (learnt from the first
    refusal of `chat.startStream`, per workspace), else as a message edited at most once a second."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._refused: set[str] = set()  # team ids

    async def open(self, place: Place) -> Surface | GrowingMessage:
        # Native streams are replies to a message: a DM's top level is edited instead.
        if place.thread_ts and place.team not in self._refused:
            stream = NativeStream(self.client, place)
            try:
                await stream.start("")
            except SlackApiError as error:
                self._note_refusal(place.team, error)
            else:
                return stream
        return SlackMessages(self.client, place)

    def _note_refusal(self, team: str, error: SlackApiError) -> None:
        code = error.response.get("error")
        if code in _NO_STREAMING:
            self._refused.add(team)
        log.info("chat.startStream refused (%s) in %s: editing messages instead", code, team)


# ------------------------------------------------------------------ Markdown → mrkdwn

_ZWSP = "\u200b"

_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_BULLET = re.compile(r"^([ \t]*)[-*+][ \t]+(.*)$")
_QUOTE = re.compile(r"^([ \t]*)>[ \t]?(.*)$")
_RULE = re.compile(r"^[ \t]*([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_INLINE_CODE = re.compile(r"(`+)(.+?)\1")
_LINK = re.compile(r"!?\[([^\]\n]*)\]\(([^)\s]+)(?:[ \t]+\"[^\"\n]*\")?\)")
_AUTOLINK = re.compile(r"&lt;((?:https?|mailto):[^\s&]+)&gt;")
_BOLD_ITALIC = re.compile(r"\*\*\*(?=\S)(.+?)(?<=\S)\*\*\*")
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC = re.compile(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_TOKEN = re.compile("\x00(\\d+)\x00")


def to_mrkdwn(markdown: str) -> str:
    """Markdown → mrkdwn: **bold** → *bold*, headings → bold lines, [text](url) → <url|text>,
    bullets → •, & < > escaped; code blocks and inline code are left exactly as they are."""
    lines, _ = code_lines(markdown)
    return "\n".join(line if in_code else _line(line) for line, in_code in lines)


def _line(line: str) -> str:
    if heading := _HEADING.match(line):
        title = _inline(_BOLD.sub(r"\2", heading.group(1)))
        return f"*{title}*" if title else ""
    if _RULE.match(line):
        return "───"
    if bullet := _BULLET.match(line):
        return f"{bullet.group(1)}• {_inline(bullet.group(2))}"
    if quote := _QUOTE.match(line):
        return f"{quote.group(1)}>{_inline(quote.group(2))}"
    return _inline(line)


def _inline(text: str) -> str:
    """Convert one line outside code blocks; inline code spans pass through untouched."""
    out, last = [], 0
    for code in _INLINE_CODE.finditer(text):
        out += [_styled(text[last : code.start()]), code.group(0)]
        last = code.end()
    out.append(_styled(text[last:]))
    return "".join(out)


def _styled(text: str) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    links: list[str] = []

    def keep(link: str) -> str:
        # Set aside so emphasis never rewrites the '_' or '*' inside a URL.
        links.append(link)
        return f"\x00{len(links) - 1}\x00"

    text = _LINK.sub(lambda m: keep(f"<{m[2]}|{m[1]}>" if m[1] else f"<{m[2]}>"), text)
    text = _AUTOLINK.sub(lambda m: keep(f"<{m[1]}>"), text)
    text = _BOLD_ITALIC.sub(_emphasis("\x01", 1, inner="_"), text)
    text = _BOLD.sub(_emphasis("\x01", 2), text)
    text = _ITALIC.sub(_emphasis("_", 1), text)
    text = _STRIKE.sub(_emphasis("~", 1), text)
    text = text.replace("\x01", "*")
    return _TOKEN.sub(lambda m: links[int(m[1])], text)


def _emphasis(marker: str, group: int, *, inner: str = "") -> Callable[[re.Match[str]], str]:
    def replace(m: re.Match[str]) -> str:
        # Slack only styles text whose markers touch a space or punctuation: in Korean the
        # marker is usually glued to a particle ("**중요**합니다"), so a zero-width space parts them.
        before = _ZWSP if m.start() > 0 and m.string[m.start() - 1].isalnum() else ""
        after = _ZWSP if m.end() < len(m.string) and m.string[m.end()].isalnum() else ""
        return f"{before}{marker}{inner}{m[group]}{inner}{marker}{after}"

    return replace


MESSAGE_STYLE = MessageStyle(
    max_len=MESSAGE_BYTES, measure=utf8_len, edit_interval=EDIT_INTERVAL, format=to_mrkdwn
)
