"""Where answers appear in Slack, and how they look there: plain messages posted and edited in
place (any workspace), or Slack's native AI streaming (`chat.startStream` / `appendStream` /
`stopStream`) where the workspace offers it; the model's Markdown rendered as Slack mrkdwn."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.blocks import with_text
from bot.config import Settings
from bot.core.memory.quota import Quotas
from bot.frontend.markdown import code_lines
from bot.frontend.pacing import CallBudget, PacedMessages, Priority, rate_limited
from bot.frontend.splitting import utf8_len
from bot.frontend.surface import GrowingMessage, MessageStyle, Surface

log = logging.getLogger(__name__)

MESSAGE_BYTES = 3_900  # Slack cuts chat.postMessage / chat.update text near 4,000 UTF-8 bytes
STREAM_CHARS = 10_000  # one streamed message: Slack takes 12,000 characters of markdown at most
EDIT_INTERVAL = 1.0  # Slack allows about one update per second per message
POST = "chat.postMessage"
EPHEMERAL = "chat.postEphemeral"
STOP_GRACE = 2.0  # seconds a stream Slack ended waits for its user's stop to arrive
# Errors that mean this workspace (or token) has no native streaming: remembered, not retried.
_NO_STREAMING = frozenset(
    {"unknown_method", "not_allowed", "not_allowed_token_type", "missing_scope", "method_deprecated",
     "feature_not_enabled"}
)  # fmt: skip


@dataclass(frozen=True)
class Place:
    """Where a reply goes (`thread_ts` None: top level of a DM), whom it answers, and the
    message that asked ("": not known)."""

    channel: str
    thread_ts: str | None
    team: str
    user: str
    question_ts: str = ""


@dataclass(frozen=True)
class Pacing:
    """Slack's rate limits as this app spends them (bot.frontend.pacing): the tiers per
    workspace, and chat.postMessage per channel."""

    quotas: Quotas
    per_minute: Mapping[str, int]
    post_seconds: float = 1.0  # one chat.postMessage per channel per this many seconds

    @classmethod
    def from_settings(cls, settings: Settings, quotas: Quotas) -> Pacing:
        tier2, tier3, tier4 = settings.slack_tier2_per_minute, settings.slack_tier3_per_minute, settings.slack_tier4_per_minute
        per_minute = {"chat.startStream": tier2, "chat.stopStream": tier2, "chat.update": tier3,
                      "chat.appendStream": tier4, EPHEMERAL: tier4}  # fmt: skip
        return cls(quotas, per_minute, settings.slack_channel_post_seconds)

    def budget(self, team: str) -> CallBudget:
        return CallBudget(self.quotas, f"slack:{team}", self.per_minute)

    def posts(self, team: str, channel: str) -> CallBudget:
        """chat.postMessage in one channel: Slack allows "one message per second per channel"
        (docs.slack.dev, "Rate limits", its Special tier), for the whole app. Answers starting
        at once in threads of one busy channel, and the parts of a long answer, take turns.
        Slack tolerates short bursts but does not say how long: none is relied on. With one
        call a window, an answer's first message (FIRST) and its later parts (FINAL) keep
        nothing back from each other: they take turns as they come. chat.postMessage's
        workspace-wide limit has no documented size: not counted."""
        return CallBudget(self.quotas, f"slack:{team}:{channel}", {POST: 1}, window=self.post_seconds)


class SlackMessages:
    """Plain Slack messages in one place, posted and edited (`bot.frontend.surface.Surface`)."""

    def __init__(self, client: AsyncWebClient, place: Place, pacing: Pacing) -> None:
        self.client = client
        self.place = place
        self.style = MESSAGE_STYLE
        posts = pacing.posts(place.team, place.channel)
        self.paced = PacedMessages(pacing.budget(place.team), posts=POST, edits="chat.update", post_budget=posts)
        self.last: tuple[str, str] | None = None  # the newest message and its text
        # Blocks under the text while the answer is written (its stop button), on the messages
        # that grow (a text posted whole is done); `attach` swaps them for the footer once it is done.
        self.controls: list[dict[str, Any]] = []
        self._growing: set[str] = set()  # messages posted to grow by edits
        self._grows_next = False  # room was taken for the next message to grow
        self._changed_at = float("-inf")  # loop time the newest message was posted or edited

    async def post(self, text: str) -> str:
        await self.paced.post()
        grows, self._grows_next = self._grows_next, False
        response = await self.client.chat_postMessage(
            channel=self.place.channel, thread_ts=self.place.thread_ts, text=text,
            blocks=self._blocks(text) if grows else None, unfurl_links=False, unfurl_media=False,
        )  # fmt: skip
        ts = str(response["ts"])
        if grows:
            self._growing.add(ts)
        self.last, self._changed_at = (ts, text), asyncio.get_running_loop().time()
        return ts

    def _blocks(self, text: str) -> list[dict[str, Any]] | None:
        """With controls, the text as blocks above them (a message with blocks shows only them)."""
        return with_text(text, self.controls) if self.controls else None

    async def attach(self, blocks: list[dict[str, Any]]) -> None:
        """Put `blocks` under the newest message's text (the footer of a finished answer), if
        the workspace's chat.update budget has room: answers come first, and a footer waiting
        a minute for room would hold its job that long."""
        if self.last is None:
            return
        ts, text = self.last
        # A change like any other: Slack takes about one a second per message.
        await asyncio.sleep(max(0.0, self._changed_at + self.style.edit_interval - asyncio.get_running_loop().time()))
        self.controls = []
        if not await self.paced.budget.spend("chat.update", Priority.BETWEEN):
            log.info("no room in chat.update's budget: message %s left without its footer", ts)
            return
        await self.client.chat_update(channel=self.place.channel, ts=ts, text=text, blocks=with_text(text, blocks))

    async def room_for_edit(self, *, first: bool = False) -> bool:
        return await self.paced.room_for_edit(first=first)

    async def room_for_message(self) -> bool:
        self._grows_next = await self.paced.reserve_end()
        return self._grows_next

    async def tell_asker(self, text: str) -> None:
        """An ephemeral message to the asker where the answer goes (chat.postEphemeral: Tier 4,
        docs.slack.dev/reference/methods/chat.postEphemeral), only if the workspace's budget for
        it has room now (BETWEEN: never waited for, and room kept for other ephemerals). After
        a 429 slack_sdk waits and retries (3 times at most) and the method is paused for the
        workspace, so other answers' notes are skipped meanwhile rather than sent into the same
        wall; a note still on its way when its answer is shown is dropped (`show_edited`)."""
        if not await self.paced.budget.spend(EPHEMERAL, Priority.BETWEEN):
            log.info("no room in %s's budget: %s not told the answer comes whole", EPHEMERAL, self.place.user)
            return
        place = self.place
        # "Ephemeral messages in threads are only shown if there is already an active thread"
        # (same page, thread_ts): a question that starts its thread has no reply there yet (its
        # answer comes whole, later), so its note goes beside it in the channel.
        thread = None if place.thread_ts == place.question_ts else place.thread_ts
        await self.client.chat_postEphemeral(channel=place.channel, user=place.user, thread_ts=thread, text=text)

    async def edit(self, handle: object, text: str) -> None:
        await self.paced.edit()
        blocks = self._blocks(text) if str(handle) in self._growing else None
        await self.client.chat_update(channel=self.place.channel, ts=str(handle), text=text, blocks=blocks)
        if self.last is not None and self.last[0] == str(handle):
            self.last, self._changed_at = (str(handle), text), asyncio.get_running_loop().time()


class NativeStream:
    """One answer through Slack's streaming methods, which render Markdown themselves
    (`bot.frontend.surface.GrowingMessage`). A stream opens with its first text, never empty
    (Slack's own SDKs do the same; `streaming_mode_mismatch` is what an empty start risks). If
    the workspace turns out to have no native streaming, the answer goes on in plain messages."""

    interval = EDIT_INTERVAL

    def __init__(self, client: AsyncWebClient, place: Place, pacing: Pacing, refused: Callable[[SlackApiError], None]) -> None:
        self.client = client
        self.place = place
        self.pacing = pacing
        self.budget = pacing.budget(place.team)
        self.refused = refused
        self.ts = ""  # the open stream; "" until its first text
        self._opening = ""  # what the next stream starts with (a reopened code fence)
        self._granted = False  # room for the next call was taken beforehand
        self._plain: PlainGrowing | None = None  # no native streaming here after all
        self.footer: list[dict[str, Any]] = []  # blocks under the answer once it is complete
        self.sent = ""  # the open stream's Markdown so far
        # Whether the user stopped this answer (Slack's stop button ends the stream on Slack's
        # side at once; the stop reaches the answer a moment later).
        self.stopped: Callable[[], Awaitable[bool]] | None = None
        self._halted = False  # ended by Slack for a stop: later text is not shown

    @property
    def max_chars(self) -> int:
        return self._plain.max_chars if self._plain else STREAM_CHARS

    async def reserve(self) -> bool:
        """Take room in the workspace's chat.startStream budget now; False: answer with plain
        messages instead."""
        self._granted = await self.budget.spend("chat.startStream", Priority.FIRST, wait=False)
        return self._granted

    async def start(self, markdown: str) -> None:
        if self._plain:
            return await self._plain.start(markdown)
        self.ts, self._opening = "", markdown

    async def room_for_append(self) -> bool:
        if self._plain:
            return await self._plain.room_for_append()
        self._granted = await self.budget.spend("chat.appendStream", Priority.BETWEEN)
        return self._granted

    async def append(self, markdown: str) -> None:
        if not self.ts and not self._plain:
            await self._open(markdown)
        elif self._plain:
            await self._plain.append(markdown)
        else:
            if self._halted:
                return
            if not self._granted:
                await self.budget.spend("chat.appendStream", Priority.FINAL)
            self._granted = False
            try:
                await self.client.chat_appendStream(channel=self.place.channel, ts=self.ts, markdown_text=markdown)
            except SlackApiError as error:
                if error.response.get("error") != "message_not_in_streaming_state" or not await self._stopped_by_user():
                    raise  # expired: the answer goes on in a new message
                self._halted = True
                return
            self.sent += markdown

    async def stop(self, markdown: str, *, failed: bool) -> None:
        if not self.ts and not self._plain:
            await self._open(markdown)
            markdown = ""
        footer = self.footer if not failed else []
        if self._plain:
            await self._plain.stop(markdown, failed=failed)
            if footer:
                await self._plain.messages.attach(footer)
            return
        await self.budget.spend("chat.stopStream", Priority.FINAL)
        try:
            await self.client.chat_stopStream(
                channel=self.place.channel, ts=self.ts, markdown_text=markdown or None, blocks=footer or None
            )
        except SlackApiError as error:
            if error.response.get("error") != "message_not_in_streaming_state":
                raise
            # Stopped by Slack already (the user pressed its stop button: agent_session_stopped):
            # the message is complete, so its ending is written in by an edit.
            text = to_mrkdwn(self.sent + markdown)
            await self.budget.spend("chat.update", Priority.FINAL)
            await self.client.chat_update(channel=self.place.channel, ts=self.ts, text=text, blocks=with_text(text, footer))

    async def _stopped_by_user(self) -> bool:
        """Whether the stream Slack ended was stopped by its user: the stop is waited for a
        moment (its event may still be on the way, or with another replica)."""
        if self.stopped is None:
            return False
        deadline = asyncio.get_running_loop().time() + STOP_GRACE
        while not await self.stopped():
            if asyncio.get_running_loop().time() >= deadline:
                return False
            await asyncio.sleep(0.1)
        return True

    async def _open(self, markdown: str) -> None:
        if not self._granted:
            await self.budget.spend("chat.startStream", Priority.FIRST)
        self._granted = False
        text = self._opening + markdown
        try:
            response = await self.client.chat_startStream(
                channel=self.place.channel, thread_ts=self.place.thread_ts, markdown_text=text,
                recipient_team_id=self.place.team, recipient_user_id=self.place.user,
            )  # fmt: skip
        except SlackApiError as error:
            if error.response.get("error") not in _NO_STREAMING:
                raise
            self.refused(error)
            self._plain = PlainGrowing(SlackMessages(self.client, self.place, self.pacing))
            await self._plain.append(text)
            return
        self.ts, self.sent = str(response["ts"]), text


class PlainGrowing:
    """A growing answer on plain messages (`bot.frontend.surface.GrowingMessage`), where a
    native stream was refused: posted with its first text, then edited as the budget allows."""

    max_chars = MESSAGE_BYTES // 3  # in characters: a Hangul syllable is 3 UTF-8 bytes
    interval = EDIT_INTERVAL

    def __init__(self, messages: SlackMessages) -> None:
        self.messages = messages
        self.handle: object | None = None
        self.text = ""

    async def start(self, markdown: str) -> None:
        self.handle, self.text = None, markdown  # posted with its first text

    async def room_for_append(self) -> bool:
        return await self.messages.room_for_edit()

    async def append(self, markdown: str) -> None:
        self.text += markdown
        if self.handle is None:
            self.handle = await self.messages.post(to_mrkdwn(self.text))
        else:
            await self.messages.edit(self.handle, to_mrkdwn(self.text))

    async def stop(self, markdown: str, *, failed: bool) -> None:
        if markdown or self.handle is None:
            await self.append(markdown)


class PausingRateLimits(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's wait on a 429 (as long as Retry-After says), and first a pause of that method
    for the whole workspace, so that no process or replica runs into the same wall meanwhile.
    Every 429 is counted, the last one too (the one no retry follows)."""

    def __init__(self, max_retry_count: int) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.budget: CallBudget | None = None  # the token's workspace, known after auth.test

    async def can_retry_async(
        self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:  # fmt: skip
        # slack_sdk asks this of every response (async_internal_utils._request_with_session); once
        # the retries are spent it answers False before `_can_retry_async` or
        # `prepare_for_next_attempt_async` would see the response, so the last 429 is counted here.
        if error is None and response is not None and response.status_code == 429:
            rate_limited("slack", _method(request))
        return await super().can_retry_async(state=state, request=request, response=response, error=error)

    async def prepare_for_next_attempt_async(
        self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:  # fmt: skip
        if self.budget is not None and response is not None:
            retry_after = next((v[0] for k, v in response.headers.items() if k.lower() == "retry-after"), "1")
            await self.budget.pause(_method(request), float(retry_after))
        await super().prepare_for_next_attempt_async(state=state, request=request, response=response, error=error)


def _method(request: HttpRequest) -> str:
    """The Web API method a request calls (its URL's last part)."""
    return request.url.rstrip("/").rsplit("/", 1)[-1]


class AnswerSurfaces:
    """Where an answer streams: natively where the workspace allows it (learnt from the first
    refusal of `chat.startStream`, per workspace) and its streaming budget has room, else as a
    message edited as the budget allows."""

    def __init__(self, client: AsyncWebClient, pacing: Pacing) -> None:
        self.client = client
        self.pacing = pacing
        self._refused: set[str] = set()  # team ids

    async def open(self, place: Place, *, waits: bool = False) -> Surface | GrowingMessage:
        """`waits`: the question waits for one of the model's slots. A native stream opens with
        the answer's first text and only grows, so it could not say "대기 중이에요… (2번째)" and
        then the answer: such a question gets a message that shows its place, then the answer."""
        # Native streams are replies to a message: a DM's top level is edited instead.
        if place.thread_ts and place.team not in self._refused and not waits:
            stream = NativeStream(self.client, place, self.pacing, lambda error: self._note_refusal(place.team, error))
            if await stream.reserve():
                return stream
        return SlackMessages(self.client, place, self.pacing)

    def _note_refusal(self, team: str, error: SlackApiError) -> None:
        self._refused.add(team)
        log.info("chat.startStream refused (%s) in %s: plain messages instead", error.response.get("error"), team)


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
