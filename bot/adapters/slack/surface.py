"""Where answers appear in Slack: messages posted and edited in place (any workspace), or
Slack's native AI streaming (`chat.startStream` / `appendStream` / `stopStream`) where offered."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.mrkdwn import open_fence, to_mrkdwn
from bot.frontend.delivery import StreamLimits, stream_to_surface, utf8_len
from bot.frontend.texts import Language, text, user_message

log = logging.getLogger(__name__)

MESSAGE_BYTES = 3_900  # Slack cuts chat.postMessage / chat.update text near 4,000 UTF-8 bytes
STREAM_CHARS = 10_000  # one streamed message: Slack takes 12,000 characters of markdown at most
EDIT_INTERVAL = 1.0  # Slack allows about one update per second per message
_CLOSE = "\n```"
_LONGEST_WORD = 200  # held back for a clean cut only up to this length
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


class MessageSurface:
    """`bot.frontend.delivery.Surface` on plain Slack messages."""

    def __init__(self, client: AsyncWebClient, place: Place) -> None:
        self.client = client
        self.place = place

    async def post(self, text: str) -> str:
        response = await self.client.chat_postMessage(
            channel=self.place.channel, thread_ts=self.place.thread_ts, text=text,
            unfurl_links=False, unfurl_media=False,
        )  # fmt: skip
        return str(response["ts"])

    async def edit(self, handle: object, text: str) -> None:
        await self.client.chat_update(channel=self.place.channel, ts=str(handle), text=text)


MESSAGE_LIMITS = StreamLimits(max_len=MESSAGE_BYTES, measure=utf8_len, min_edit_interval=EDIT_INTERVAL)


class Streaming:
    """Shows streamed answers, natively where the workspace allows it (learnt from the first
    refusal of `chat.startStream`), else as a message edited at most once a second."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._refused: set[str] = set()  # team ids

    async def show(self, deltas: AsyncIterator[str], place: Place, lang: Language) -> None:
        """Raises what `deltas` raised, after the user has been told."""
        # Native streams are replies to a message: a DM's top level is edited instead.
        if place.thread_ts and place.team not in self._refused:
            stream = NativeStream(self.client, place)
            try:
                await stream.start()
            except SlackApiError as error:
                self._note_refusal(place.team, error)
            else:
                await stream.run(deltas, lang)
                return
        surface = MessageSurface(self.client, place)
        await stream_to_surface(deltas, surface, MESSAGE_LIMITS, lang=lang, format=to_mrkdwn)

    def _note_refusal(self, team: str, error: SlackApiError) -> None:
        code = error.response.get("error")
        if code in _NO_STREAMING:
            self._refused.add(team)
        log.info("chat.startStream refused (%s) in %s: editing messages instead", code, team)


def _now() -> float:
    return asyncio.get_running_loop().time()


class NativeStream:
    """One answer through Slack's streaming methods, which render Markdown themselves.

    A streamed message only grows, so it is cut only where what it already shows ends: text goes
    out in whole words (the word still being written waits), any open code block is closed there
    and reopened in the next message. Calls on a message are at least `interval` apart."""

    def __init__(
        self, client: AsyncWebClient, place: Place, *, max_chars: int = STREAM_CHARS,
        interval: float = EDIT_INTERVAL,
    ) -> None:  # fmt: skip
        self.client = client
        self.place = place
        self.max_chars = max_chars
        self.interval = interval
        self.ts = ""
        self.shown = ""  # what the current message holds
        self.pending = ""  # received, not yet sent
        self.at = 0.0  # last call on the current message
        self.continued = False  # an earlier message holds part of the answer

    async def start(self, markdown: str = "") -> None:
        response = await self.client.chat_startStream(
            channel=self.place.channel, thread_ts=self.place.thread_ts, markdown_text=markdown or None,
            recipient_team_id=self.place.team, recipient_user_id=self.place.user,
        )  # fmt: skip
        self.ts, self.shown, self.at = str(response["ts"]), markdown, _now()

    async def run(self, deltas: AsyncIterator[str], lang: Language) -> None:
        """Stream `deltas` to the end, then stop; a failure of `deltas` is shown, then raised."""
        try:
            error = await self._follow(deltas)
        except asyncio.CancelledError:
            try:
                self.pending += self._ending(asyncio.CancelledError(), lang)
                await self._send(final=True)
            except Exception:
                log.warning("could not mark a cancelled answer as cut off", exc_info=True)
            raise
        self.pending += self._ending(error, lang)
        await self._throttle()
        while not await self._send(final=True):
            await self._throttle()
        if error is not None:
            raise error

    async def _follow(self, deltas: AsyncIterator[str]) -> Exception | None:
        """Read `deltas`, sending text as the throttle allows; return their error, if any."""
        iterator = aiter(deltas)
        while True:
            try:
                self.pending += await anext(iterator)
            except StopAsyncIteration:
                return None
            except Exception as error:  # shown to the user, then re-raised by `run`
                return error
            if _now() >= self.at + self.interval:
                await self._send(final=False)

    def _ending(self, error: BaseException | None, lang: Language) -> str:
        """What closes the answer: nothing, the cut-off note, or the error message itself."""
        said = self.continued or bool((self.shown + self.pending).strip())
        if error is None:
            return "" if said else text("llm_empty", lang)
        if not said:
            return user_message(error, lang)
        close = _CLOSE if open_fence(self.shown + self.pending) else ""
        return f"{close}\n\n{text('llm_stream_cut', lang)}"

    async def _throttle(self) -> None:
        while (left := self.at + self.interval - _now()) > 0:
            await asyncio.sleep(left)

    async def _send(self, *, final: bool) -> bool:
        """One call on the current message with what is ready; True once the answer is stopped."""
        ready = self.pending if final else _whole_words(self.pending)
        self.pending = self.pending[len(ready) :]
        if not self.shown:
            ready = ready.lstrip()
        room = self.max_chars - len(self.shown) - len(_CLOSE)
        if len(ready) > room:
            head, rest = _cut(ready, room)
            self.pending = rest + self.pending
            await self._next_message(head)
            return False
        if final:
            await self._stop(ready)
            return True
        if ready:
            await self.client.chat_appendStream(channel=self.place.channel, ts=self.ts, markdown_text=ready)
            self.shown, self.at = self.shown + ready, _now()
        return False

    async def _next_message(self, head: str) -> None:
        opener = open_fence(self.shown + head)
        await self._stop(head)
        self.continued = True
        await self.start(f"{opener}\n" if opener else "")

    async def _stop(self, markdown: str) -> None:
        if open_fence(self.shown + markdown):
            markdown += _CLOSE
        await self.client.chat_stopStream(channel=self.place.channel, ts=self.ts, markdown_text=markdown or None)
        self.shown, self.at = self.shown + markdown, _now()


def _whole_words(text: str) -> str:
    """`text` up to its last whitespace: a word still being written is held back."""
    end = max(text.rfind(" "), text.rfind("\n"), text.rfind("\t")) + 1
    return text[:end] if len(text) - end <= _LONGEST_WORD else text


def _cut(text: str, room: int) -> tuple[str, str]:
    """Split `text` at the last line break (else space) that leaves at most `room` characters
    before it; inside an unbroken run, at `room` itself."""
    window = text[: room + 1]
    at = window.rfind("\n")
    if at < room // 2:
        at = max(at, window.rfind(" "))
    if at <= 0:
        return text[:room], text[room:]
    return text[:at], text[at + 1 :]
