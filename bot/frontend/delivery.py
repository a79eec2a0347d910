"""Showing answers on a chat surface: long text split into messages, a streamed answer shown as
throttled edits, a progress line for long jobs.

Slack and Discord differ only in what they pass in: how long a message may be and how that is
counted (`measure`), how Markdown is rendered (`format`), and how a message is posted and edited
(`Surface`). Everything else is decided once, here."""

from __future__ import annotations

import asyncio
import logging
import re
import unicodedata
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from bot.frontend import texts as messages
from bot.frontend.texts import Language

log = logging.getLogger(__name__)

Measure = Callable[[str], int]
Format = Callable[[str], str]


def utf8_len(text: str) -> int:
    """Length in UTF-8 bytes: the safe reading of Slack's limits, where a Hangul syllable costs 3."""
    return len(text.encode("utf-8", "surrogatepass"))


def _same(text: str) -> str:
    return text


# ------------------------------------------------------------------ code fences

_FENCE = "```"
_CLOSE = "\n```"
_MAX_TAG = 20  # the tag is repeated on every reopened fence: a runaway info string must not eat the limit


def _fence_info(line: str) -> str | None:
    """The info string ("python", or "" for a bare fence) if `line` is a code fence, else None."""
    stripped = line.strip()
    return stripped[3:].lstrip("`").strip() if stripped.startswith(_FENCE) else None


def _reopen_line(info: str) -> str:
    words = info.split(maxsplit=1)
    tag = words[0] if words else ""
    return _FENCE + (tag if len(tag) <= _MAX_TAG else "")


def _open_fence(text: str) -> str | None:
    """The fence line to reopen with if `text` ends inside a code block, else None."""
    if _FENCE not in text:
        return None
    opener = None
    for line in text.split("\n"):
        info = _fence_info(line)
        if info is None:
            continue
        if opener is None:
            opener = _reopen_line(info)
        elif not info:  # only a bare fence closes; "```python" inside a block is content
            opener = None
    return opener


def _seal(text: str) -> str:
    """`text` as a message of its own: trimmed, any open code block closed."""
    text = text.strip()
    return text + _CLOSE if _open_fence(text) else text


# ------------------------------------------------------------------ splitting

_BREAKS = (  # best first; each match is whitespace that may be dropped at the cut
    re.compile(r"\n(?:[ \t]*\n)+"),  # paragraph
    re.compile(r"\n"),  # line
    re.compile(r"(?:(?<=[.!?…])|(?<=[.!?…][\"'”’)\]]))[ \t]+"),  # sentence end: '다.', '요.', '?', '!'
    re.compile(r"[ \t]+"),  # between words
)
_ANY_BREAK = re.compile(r"\n|[ \t]+")  # never \s+: indentation after a line break is content


def split_message(text: str, limit: int, measure: Measure = len) -> list[str]:
    """Cut `text` into messages each at most `limit` long as counted by `measure`.

    Cuts fall at paragraph breaks, else line breaks, else sentence ends, else spaces, and only
    inside a word (never inside a character) when the window has no whitespace at all. A cut
    inside a fenced code block closes it in one part and reopens it, same language, in the next;
    a block left open at the end (a model stopped mid-code) is closed. Whitespace at the cuts is dropped; no part is empty. Raises ValueError if `limit` cannot
    hold even one character plus the fences."""
    parts: list[str] = []
    rest = text.strip()
    while rest:
        part, rest = _cut(rest, limit, measure)
        parts.append(part)
    return parts


def _cut(text: str, limit: int, measure: Measure) -> tuple[str, str]:
    """The first message's worth of `text`, sealed, and the rest, itself valid Markdown."""
    whole = _seal(text)
    if measure(whole) <= limit:
        return whole, ""
    window, half = _window(text, limit, measure), _window(text, limit // 2, measure)
    for start, end in _cut_points(text, window, half):
        part, rest = _split_at(text, start, end)
        # checked again: `measure` may include a formatter, which need not grow with its input
        if part and measure(part) <= limit:
            return part, rest
    raise ValueError(f"a limit of {limit} leaves no room for text")


def _window(text: str, limit: int, measure: Measure) -> int:
    """How many leading characters fit, keeping room for a closing fence if code is involved."""
    reserve = _CLOSE if _FENCE in text else ""
    low, high = 0, len(text)
    while low < high:
        mid = (low + high + 1) // 2
        if measure(text[:mid] + reserve) <= limit:
            low = mid
        else:
            high = mid - 1
    return low


def _cut_points(text: str, n: int, half: int) -> Iterator[tuple[int, int]]:
    """Candidate cuts within the first `n` characters, best first, as (start, end) of the gap."""
    window = text[: n + 1]  # whitespace just past the window still ends a part that fits
    for pattern in _BREAKS:
        # a strong break in the first `half` would waste most of a message: a later, weaker one wins
        yield from _gaps(pattern, window, half)
    yield from _gaps(_ANY_BREAK, window, 1)
    yield from ((i, i) for i in range(n, 0, -1) if not _inside_cluster(text, i))
    yield n, n  # nothing but combining marks: splitting one beats failing


def _gaps(pattern: re.Pattern[str], window: str, floor: int) -> Iterable[tuple[int, int]]:
    return reversed([m.span() for m in pattern.finditer(window) if m.start() >= max(floor, 1)])


def _inside_cluster(text: str, i: int) -> bool:
    """True if a cut before text[i] would split what a reader sees as one character."""
    if i >= len(text):
        return False
    before, char = text[i - 1], text[i]
    return (
        unicodedata.category(char) in ("Mn", "Mc", "Me")  # accents, variation selectors
        or "\u1160" <= char <= "\u11ff"  # decomposed Hangul: vowel and final jamo join the syllable
        or "\ud7b0" <= char <= "\ud7ff"
        or "\U0001f3fb" <= char <= "\U0001f3ff"  # emoji skin tones
        or "\u200d" in (before, char)  # zero-width-joiner sequences
        or (before, char) in (("\r", "\n"), ("`", "`"))  # a fence marker cut in two is no fence
    )


def _split_at(text: str, start: int, end: int) -> tuple[str, str]:
    """Cut out the gap text[start:end]; ("", "") when the first part would be unusable."""
    head, rest = text[:start].strip(), text[end:]
    opener = _open_fence(head)
    if opener is None:
        return head, rest.lstrip()
    if _fence_info(head.rsplit("\n", 1)[-1]) is not None:
        return "", ""  # the part would end with an empty code block
    rest = rest.lstrip("\n")  # not lstrip(): code indentation is content
    first_line, _, after = rest.partition("\n")
    if _fence_info(first_line) == "":
        return head + _CLOSE, after.lstrip()  # the block ends right here: move its fence up
    return head + _CLOSE, f"{opener}\n{rest}" if rest.strip() else ""


# ------------------------------------------------------------------ surfaces


class Surface(Protocol):
    """Where messages appear: a Slack channel or thread, a Discord channel or interaction."""

    async def post(self, text: str) -> object:
        """Create a new message; return whatever `edit` needs to find it again."""
        ...

    async def edit(self, handle: object, text: str) -> None:
        """Replace the text of a message created by `post`."""
        ...


@dataclass(frozen=True)
class StreamLimits:
    max_len: int  # per message, in `measure` units
    measure: Measure = len
    min_edit_interval: float = 1.0  # seconds between edits of the same message
    placeholder: str | None = None  # None: the "thinking" message in the answer's language
    cursor: str = " ▌"  # shown after streamed text while it grows


def _now() -> float:
    return asyncio.get_running_loop().time()


async def _sleep_until(deadline: float) -> None:
    # the loop may fire a timer a hair early; the throttle is a promise, so check again
    while (left := deadline - _now()) > 0:
        await asyncio.sleep(left)


async def post_long(
    surface: Surface, text: str, limits: StreamLimits, format: Format = _same
) -> list[object]:
    """Post a finished text (a document summary, say) as as many messages as it takes."""
    measure = _formatted_measure(limits, format)
    return [await surface.post(format(part)) for part in split_message(text, limits.max_len, measure)]


def _formatted_measure(limits: StreamLimits, format: Format) -> Measure:
    # the platform counts what it receives, which is the formatted text
    return lambda text: limits.measure(format(text))


async def stream_to_surface(
    deltas: AsyncIterator[str],
    surface: Surface,
    limits: StreamLimits,
    *,
    lang: Language = "ko",
    format: Format = _same,
) -> list[object]:
    """Show a streamed answer as it grows; return the handles of every message posted, in order.

    A placeholder appears at once; text replaces it in edits at most one per `min_edit_interval`
    per message, never more than one in flight; text that outgrows a message continues in a new
    one. If `deltas` fails, what arrived is kept and marked as cut off (or, with nothing yet,
    the placeholder becomes the error's user message) and the error is re-raised. Cancellation
    marks the answer as cut off, best effort, and propagates."""
    stream = _Stream(surface, limits, format)
    reader = asyncio.create_task(stream.read(deltas))  # the model starts while the placeholder posts
    try:
        await stream.show(limits.placeholder or messages.text("thinking", lang))
        await stream.follow(reader)
        await stream.conclude(reader, lang)
    except asyncio.CancelledError:
        await _stop(reader)
        await stream.abandon(lang)
        raise
    finally:
        await _stop(reader)
    return stream.handles


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.wait({task})
    if not task.cancelled():
        task.exception()  # mark it retrieved: the caller reports it, or a surface error wins


@dataclass
class _Message:
    handle: object
    text: str
    at: float  # when it was last posted or edited: the edit throttle counts from here


class _Stream:
    """One answer being shown: its messages, and the text not yet settled into them."""

    def __init__(self, surface: Surface, limits: StreamLimits, format: Format) -> None:
        self.surface = surface
        self.limits = limits
        self.format = format
        self.measure = _formatted_measure(limits, format)
        self.handles: list[object] = []
        self.current: _Message | None = None  # the message still growing; None right after a cut
        self.tail = ""  # raw text of `current`, from where the previous message ended
        self.pending: list[str] = []  # deltas not yet rendered
        self.has_text = False
        self.marked_cut = False
        self.wake = asyncio.Event()

    async def read(self, deltas: AsyncIterator[str]) -> None:
        # runs apart from the edits, so a slow edit never holds up the model's stream
        try:
            async for delta in deltas:
                self.pending.append(delta)
                self.wake.set()
        finally:
            self.wake.set()

    async def follow(self, reader: asyncio.Task[None]) -> None:
        """Show the text as it grows until the reader is done."""
        while True:
            await self.wake.wait()
            self.wake.clear()
            if reader.done():
                return
            if self.current is not None:
                # deltas arriving meanwhile pile up and go out together in one edit
                await _sleep_until(self.current.at + self.limits.min_edit_interval)
            if reader.done():
                return
            await self.render(cursor=True)

    async def conclude(self, reader: asyncio.Task[None], lang: Language) -> None:
        """Show the final text; if the stream failed, say so and re-raise its error."""
        self.take_pending()
        error = reader.exception()
        if error is None:
            await self.render(cursor=False)
            if not self.has_text:
                await self.show(messages.text("llm_empty", lang))
            return
        if self.has_text:
            self.mark_cut(lang)
            await self.render(cursor=False)
        else:
            await self.show(messages.user_message(error, lang))
        raise error

    async def abandon(self, lang: Language) -> None:
        """After cancellation: keep what arrived, marked as cut off, if the surface lets us."""
        try:
            self.mark_cut(lang)
            await self.render(cursor=False)
        except Exception:
            log.warning("could not mark a cancelled answer as cut off", exc_info=True)

    def take_pending(self) -> None:
        text = "".join(self.pending)
        self.pending.clear()
        self.tail += text
        self.has_text = self.has_text or bool(text.strip())

    def mark_cut(self, lang: Language) -> None:
        if self.marked_cut:  # cancelled while showing a failed stream's marker: don't add a second
            return
        self.marked_cut = True
        self.take_pending()
        marker = messages.text("llm_stream_cut", lang)
        # sealed first so the marker never lands inside a code block
        self.tail = f"{_seal(self.tail)}\n{marker}" if self.tail.strip() else marker

    async def render(self, *, cursor: bool) -> None:
        """Settle every message the text has outgrown, then show the rest in the current one."""
        self.take_pending()
        limit = self.limits.max_len
        while self.measure(_seal(self.tail)) > limit:
            part, rest = _cut(self.tail, limit, self.measure)
            await self.show(part)
            # only now: if that edit is cancelled, the part is still in the tail to retry
            self.current, self.tail = None, rest
        if self.tail.strip():
            await self.show(self.growing() if cursor else _seal(self.tail))

    def growing(self) -> str:
        with_cursor = _seal(self.tail + self.limits.cursor)  # inside an open code block, on purpose
        return with_cursor if self.measure(with_cursor) <= self.limits.max_len else _seal(self.tail)

    async def show(self, text: str) -> None:
        """Make the current message read `text`, posting one if there is none."""
        text = self.format(text)
        # The throttle counts from when a call returned: a surface may retry it inside (after
        # a 429, say), and the call that counts is the one that finally went through.
        if self.current is None:
            handle = await self.surface.post(text)
            self.handles.append(handle)
            self.current = _Message(handle, text, _now())
        elif text != self.current.text:
            await _sleep_until(self.current.at + self.limits.min_edit_interval)
            await self.surface.edit(self.current.handle, text)
            self.current.at = _now()
            self.current.text = text


# ------------------------------------------------------------------ progress


class ProgressMessage:
    """One message that follows a long job ("12/40쪽 읽는 중…") without flooding edits.

    The first `update` posts; later ones edit at most once per `min_interval`, in the background,
    always ending on the latest numbers. `finish` replaces the message with its final text,
    which no pending progress edit can overwrite."""

    def __init__(
        self, surface: Surface, render: Callable[[int, int], str], *, min_interval: float = 1.0
    ) -> None:
        self._surface = surface
        self._render = render
        self._min_interval = min_interval
        self._handle: object | None = None
        self._shown = ""
        self._latest = ""
        self._sent_at = 0.0
        self._posting = asyncio.Lock()  # two early updates must not post two messages
        self._flusher: asyncio.Task[None] | None = None
        self._editing = False
        self._finished = False

    @property
    def handle(self) -> object | None:
        return self._handle

    async def update(self, done: int, total: int) -> None:
        if self._finished:
            return
        self._latest = self._render(done, total)
        async with self._posting:
            if self._handle is None:
                await self._post(self._latest)
                return
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())

    async def finish(self, text: str) -> None:
        self._finished = True
        if self._flusher is not None:
            if not self._editing:  # a waiting flush would only show numbers about to be replaced
                self._flusher.cancel()
            await asyncio.wait({self._flusher})
        async with self._posting:
            if self._handle is None:
                await self._post(text)
                return
        await _sleep_until(self._sent_at + self._min_interval)
        await self._edit(text)

    async def finish_long(
        self, text: str, limits: StreamLimits, *, lang: Language = "ko", format: Format = _same
    ) -> None:
        """`finish` with a text of any length: what does not fit follows in new messages."""
        measure = _formatted_measure(limits, format)
        first, *rest = split_message(text, limits.max_len, measure) or [messages.text("llm_empty", lang)]
        await self.finish(format(first))
        for part in rest:
            await self._surface.post(format(part))

    async def _flush(self) -> None:
        try:
            while not self._finished and self._latest != self._shown:
                await _sleep_until(self._sent_at + self._min_interval)
                if self._finished:
                    return
                await self._edit(self._latest)
        except Exception:
            # nobody awaits this task; a lost progress edit must not break the job
            log.warning("progress edit failed", exc_info=True)

    async def _post(self, text: str) -> None:
        self._handle = await self._surface.post(text)
        self._sent_at = _now()  # after the call, as in `_Stream.show`
        self._shown = text

    async def _edit(self, text: str) -> None:
        self._editing = True
        try:
            await self._surface.edit(self._handle, text)
            self._sent_at = _now()
            self._shown = text
        finally:
            self._editing = False
