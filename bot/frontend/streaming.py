"""Showing an answer while the model writes it, on either kind of surface, with one rule for
how an answer ends: complete, empty, cut off after some text, or failed before any.

`show_edited` posts a placeholder at once and edits it as text arrives (Discord, Slack without
native streaming); `show_growing` appends to a message that only grows (Slack's native
streaming, the terminal). Both keep to the surface's pace, continue in a new message where one
is full, and never cut inside a word, a character or a code fence.

A message that grows by edits is posted only while the platform's limits leave room for the
edit that will end it (`Surface.room_for_message`). In a workspace whose edits are all spent
(Slack counts chat.update per workspace: 50 a minute), an answer is posted whole once written,
one message and no edit, rather than as a placeholder whose final text would wait minutes for
room; its asker is told so at once where only they see it (`Surface.tell_asker`), and it asks
again every edit interval, showing itself growing as soon as there is room."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from bot.core.errors import AnswerStopped
from bot.frontend.markdown import CLOSE, open_fence, seal
from bot.frontend.splitting import cut, halves, is_stub, split_message
from bot.frontend.surface import GrowingMessage, Surface
from bot.frontend.texts import Texts
from bot.frontend.waiting import PLACE_INTERVAL, PlaceInLine

log = logging.getLogger(__name__)
T = TypeVar("T")

_LONGEST_WORD = 200  # held back for a clean cut only up to this length


def ending(shown: str, error: BaseException | None, texts: Texts) -> str:
    """What closes an answer that has shown `shown`: nothing when it completed, a note when it
    was empty, the error's message when it failed before any text, else the cut-off note (the
    stopped note, when the user stopped it) after any open code block is closed (so the note never
    lands inside code)."""
    said = bool(shown.strip())
    if error is None:
        return "" if said else texts("llm_empty")
    if not said:
        return texts.for_error(error)
    close = CLOSE if open_fence(shown) else ""
    note = texts.for_error(error) if isinstance(error, AnswerStopped) else texts("llm_stream_cut")
    return f"{close}\n\n{note}"


def now() -> float:
    return asyncio.get_running_loop().time()


async def sleep_until(deadline: float) -> None:
    # the loop may fire a timer a hair early; the pace is a promise, so check again
    while (left := deadline - now()) > 0:
        await asyncio.sleep(left)


async def persist(call: Callable[[], Awaitable[T]], what: str, *, attempts: int = 4) -> T:
    """A call whose text must reach the user, tried again after 1, 2 and 4 s when the failure
    may pass: a platform's 5xx, a dropped connection, a 429 storm longer than its client's own
    waits (slack_sdk and discord.py already wait out each Retry-After). A refusal that will not
    pass (403, a message too long, a stream that ended) is raised at once, as is the last failure."""
    for attempt in range(attempts):
        try:
            return await call()
        except Exception as error:
            if attempt == attempts - 1 or not _may_pass(error):
                raise
            log.warning("%s failed (%s: %s): trying again", what, type(error).__name__, error)
            await asyncio.sleep(2**attempt)
    raise AssertionError("unreachable")


def _may_pass(error: Exception) -> bool:
    """Whether a platform call's failure is worth another try: no HTTP status (the connection
    failed), 429 or 5xx. discord.py's HTTPException has `status`; slack_sdk's SlackApiError has
    `response.status_code`, which is 200 for Slack's `ok: false` refusals."""
    status = getattr(error, "status", None)
    if status is None:
        status = getattr(getattr(error, "response", None), "status_code", None)
    return not isinstance(status, int) or status == 429 or status >= 500


# ------------------------------------------------------------------ edited messages


async def show_edited(
    deltas: AsyncIterator[str], surface: Surface, texts: Texts, *, placeholder: str | PlaceInLine | None = None
) -> list[object]:
    """Show a streamed answer as it grows; return the handles of every message posted, in order.

    A placeholder ("thinking…" unless another is given) appears at once and the first text
    replaces it as soon as it arrives; a place in line is told again as it moves, at most once
    every `PLACE_INTERVAL` and only while the platform's limits have room for it; the
    edits in between keep the style's `edit_interval` per message, never more than one in
    flight; the final text goes out as soon as the model is done. Text that outgrows a message
    continues in a new one. If `deltas` fails, the answer ends as `ending` says and the error is
    re-raised. Cancellation ends it as cut off, best effort, and propagates."""
    place = placeholder if isinstance(placeholder, PlaceInLine) else None
    stream = _EditedAnswer(surface, place)
    reader = asyncio.create_task(stream.read(deltas))  # the model starts while the placeholder posts
    try:
        first = place.text if place is not None else placeholder or texts("thinking")
        if await stream.room_for_message():
            await stream.post(stream.style.format(first), answering=False)
        elif not reader.done():  # a model already done: its answer is posted now, no note needed
            stream.tell_asker(texts("answer_comes_whole"))
        await stream.follow(reader)
        await stream.conclude(reader, texts)
    except asyncio.CancelledError:
        await _stop(reader)
        await stream.abandon(texts)
        raise
    finally:
        stream.later(None)
        await _stop(reader)
        if stream.note is not None:
            await _stop(stream.note)  # still on its way once the answer is there: of no use now
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
    at: float  # when it was last posted or edited: the edit pace counts from here
    answering: bool = True  # False while it is the placeholder
    held: float = float("-inf")  # no room for an edit was found: none is asked for before this

    def next_edit(self, interval: float) -> float:
        """When it may change next: the first text replaces a placeholder at once."""
        return max(self.held, self.at + interval if self.answering else float("-inf"))


@dataclass
class _Cut:
    """Where the answer last went on in a new message: the message it filled, the raw text it
    was cut from, and the rest that text left (the beginning of what followed)."""

    message: _Message
    source: str
    rest: str


class _EditedAnswer:
    """One answer being shown: its messages, and the text not yet settled into them."""

    def __init__(self, surface: Surface, place: PlaceInLine | None = None) -> None:
        self.surface = surface
        self.style = surface.style
        self.place = place  # what the placeholder says while the question waits for the model
        self._timer: asyncio.TimerHandle | None = None
        self.handles: list[object] = []
        self.current: _Message | None = None  # the message still growing; None right after a cut
        self.tail = ""  # raw text of `current`, from where the previous message ended
        self.last_cut: _Cut | None = None
        self.pending: list[str] = []  # deltas not yet rendered
        self.said = ""  # everything received: what `ending` judges
        self.ended = False
        self.wake = asyncio.Event()
        self.ask_at = float("-inf")  # when to ask again for room for a message (none last time)
        self.note: asyncio.Task[None] | None = None  # telling the asker the answer comes whole
        if place is not None:
            place.on_move(self.wake.set)

    def tell_asker(self, text: str) -> None:
        """Tell the asker `text` beside the answer, in the background: the answer never waits
        for the note, nor fails with it. Sent once, when the first ask for room finds none, not
        after a second ask: that would delay every note by an edit interval to spare a few, as
        room frees only when the oldest edit counted leaves the platform's window (Slack's: a
        minute). A later ask that finds room shows the answer growing after all: harmless after
        the note, and nothing more is said."""
        self.note = asyncio.create_task(self._tell_asker(self.style.format(text)))

    async def _tell_asker(self, text: str) -> None:
        try:
            await self.surface.tell_asker(text)
        except Exception:
            log.warning("could not tell the asker that the answer comes whole", exc_info=True)

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
            if not self.pending and self.current is not None and not self.current.answering:
                await self.tell_place()  # no text yet: the placeholder may have news
                continue
            # deltas arriving meanwhile pile up and go out together in one edit; the model's end
            # cuts the wait short, as the final text goes out at once
            deadline = self.current.next_edit(self.style.edit_interval) if self.current else self.ask_at
            await asyncio.wait({reader}, timeout=max(0.0, deadline - now()))
            if reader.done():
                return
            await sleep_until(deadline)  # the loop may fire a timer a hair early
            await self.render(cursor=True)

    async def tell_place(self) -> None:
        """The placeholder made to say the question's place in line as it is now: an edit of
        the lowest priority (skipped when the platform's limits have no room for it, asked
        again later), at most one every `PLACE_INTERVAL`."""
        current = self.current
        if self.place is None or current is None:
            return
        text = self.style.format(self.place.text)
        if text == current.text:
            return
        if (left := current.at + PLACE_INTERVAL - now()) > 0:
            self.later(left)
            return
        try:
            if await self.surface.room_for_edit():
                await self.surface.edit(current.handle, text)
                current.text = text
        except Exception:
            log.warning("a waiting answer's place could not be shown: the next change carries it", exc_info=True)
        current.at = now()
        if current.text != text:
            self.later(PLACE_INTERVAL)

    def later(self, seconds: float | None) -> None:
        """Look again in `seconds` (None: never)."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None if seconds is None else asyncio.get_running_loop().call_later(seconds, self.wake.set)

    async def conclude(self, reader: asyncio.Task[None], texts: Texts) -> None:
        """Show the final text; if the stream failed, re-raise its error once it is shown."""
        error = reader.exception()
        self.end(error, texts)
        await self.render(cursor=False)
        if error is not None:
            raise error

    async def abandon(self, texts: Texts) -> None:
        """After cancellation: keep what arrived, marked as cut off, if the surface lets us."""
        try:
            self.end(asyncio.CancelledError(), texts)
            await self.render(cursor=False)
        except Exception:
            log.warning("could not mark a cancelled answer as cut off", exc_info=True)

    def take_pending(self) -> None:
        text = "".join(self.pending)
        self.pending.clear()
        self.tail += text
        self.said += text

    def end(self, error: BaseException | None, texts: Texts) -> None:
        if self.ended:  # cancelled while showing a failed stream's ending: don't add a second
            return
        self.ended = True
        self.take_pending()
        self.tail += ending(self.said, error, texts)

    async def render(self, *, cursor: bool) -> None:
        """Settle every message the text has outgrown, then show the rest in the current one."""
        self.take_pending()
        limit = self.style.max_len
        if not cursor:
            await self.even_out()
        while self.style.formatted_len(seal(self.tail)) > limit:
            part, rest = cut(self.tail, limit, self.style.formatted_len)
            if not cursor and self.stub(rest):  # the final text: no stray end after a full message
                part, rest = halves(self.tail, limit, self.style.formatted_len)
            await self.show(part, settled=True)
            assert self.current is not None
            # only now: if that edit is cancelled, the part is still in the tail to retry
            self.last_cut = _Cut(self.current, self.tail, rest)
            self.current, self.tail = None, rest
        if self.tail.strip():
            await self.show(self.growing() if cursor else seal(self.tail), settled=not cursor, paced=cursor)

    async def even_out(self) -> None:
        """An answer that would end in a stray few characters after a full message (the model
        stopped just past it) ends in two messages evened out instead, as `split_message` does."""
        last, style = self.last_cut, self.style
        if last is None or not self.stub(self.tail):
            return
        evened = halves(last.source + self.tail[len(last.rest) :], style.max_len, style.formatted_len)
        if len(evened) != 2:
            return
        first = style.format(evened[0])
        try:
            await persist(lambda: self.surface.edit(last.message.handle, first), "evening out an answer")
        except Exception:
            log.warning("could not even out an answer's last two messages", exc_info=True)
            return
        last.message.text, last.message.at = first, now()
        self.tail, self.last_cut = evened[1], None

    def stub(self, tail: str) -> bool:
        """Whether `tail` would make a last message of a few stray characters."""
        sealed, style = seal(tail), self.style
        return style.formatted_len(sealed) <= style.max_len and is_stub(sealed, style.max_len, style.formatted_len)

    def growing(self) -> str:
        with_cursor = seal(self.tail + self.style.cursor)  # inside an open code block, on purpose
        return with_cursor if self.style.formatted_len(with_cursor) <= self.style.max_len else seal(self.tail)

    async def show(self, text: str, *, settled: bool = True, paced: bool = False) -> None:
        """Make the current message read `text`, posting one if there is none. A `settled` text
        (a full part, the final text) must reach the user: retried, and posted anew if the
        message cannot be edited; an intermediate edit that fails is skipped, as the next one
        carries its text. A `paced` edit waits for the style's interval after the last one, unless
        it is the first text of an answer."""
        text = self.style.format(text)
        # The pace counts from when a call returned: a surface may retry it inside (after a 429,
        # say), and the call that counts is the one that finally went through.
        if self.current is None:
            if settled or await self.room_for_message():
                await self.post(text)
        elif text != self.current.text:
            current = self.current
            if paced:
                await sleep_until(current.next_edit(self.style.edit_interval))
                if not await self.surface.room_for_edit(first=not current.answering):
                    current.held = now() + self.style.edit_interval  # asked again then, with more text
                    return
            current.answering = True
            try:
                if settled:
                    await persist(lambda: self.surface.edit(current.handle, text), "editing an answer")
                else:
                    await self.surface.edit(current.handle, text)
            except Exception:
                current.at = now()
                if not settled:
                    log.warning("an intermediate edit failed: the next one carries its text", exc_info=True)
                    return
                log.warning("the platform refuses edits of this answer: posting its text anew", exc_info=True)
                await self.post_anew(text)
                return
            current.at, current.text = now(), text

    async def room_for_message(self) -> bool:
        """`Surface.room_for_message`, asked at most once an edit interval."""
        if now() < self.ask_at:
            return False
        if await self.surface.room_for_message():
            return True
        self.ask_at = now() + self.style.edit_interval
        return False

    async def post(self, text: str, *, answering: bool = True) -> None:
        handle = await persist(lambda: self.surface.post(text), "posting an answer")
        self.handles.append(handle)
        self.current = _Message(handle, text, now(), answering)

    async def post_anew(self, text: str) -> None:
        """`text` in new messages: whole if the platform takes it, else in halves (it may count
        a message's size differently than we do: Slack's msg_too_long)."""
        try:
            await self.post(text)
        except Exception:
            for part in split_message(text, self.style.max_len // 2, self.style.measure):
                await self.post(part)


# ------------------------------------------------------------------ growing messages


async def show_growing(deltas: AsyncIterator[str], message: GrowingMessage, texts: Texts) -> None:
    """Stream `deltas` into `message` to the end, then stop it; a failure of `deltas` ends the
    answer as `ending` says and is then raised. Cancellation ends it as cut off, best effort."""
    answer = _GrowingAnswer(message)
    try:
        error = await answer.follow(deltas)
    except asyncio.CancelledError:
        try:
            await answer.finish(asyncio.CancelledError(), texts)
        except Exception:
            log.warning("could not mark a cancelled answer as cut off", exc_info=True)
        raise
    await answer.finish(error, texts)
    if error is not None:
        raise error


class _GrowingAnswer:
    """A growing message is cut only where what it already shows ends: text goes out in whole
    words (the word still being written waits) when the message has a size limit, and an open
    code block is closed at a cut and reopened in the next message."""

    def __init__(self, message: GrowingMessage) -> None:
        self.message = message
        self.shown = ""  # what the current message holds
        self.said = ""  # everything sent, in every message
        self.pending = ""  # received, not yet sent
        self.at = float("-inf")  # last call on the current message: the first text goes at once

    async def follow(self, deltas: AsyncIterator[str]) -> Exception | None:
        """Read `deltas`, sending text as the pace allows; return their error, if any."""
        iterator = aiter(deltas)
        while True:
            try:
                self.pending += await anext(iterator)
            except StopAsyncIteration:
                return None
            except Exception as error:  # shown to the user, then raised by `show_growing`
                return error
            if now() >= self.at + self.message.interval:
                await self.send(final=False)

    async def finish(self, error: BaseException | None, texts: Texts) -> None:
        failed = error is not None and not (self.said + self.pending).strip()
        self.pending += ending(self.said + self.pending, error, texts)
        # at once: the answer is complete, and the user should see so without a wait
        while not await self.send(final=True, failed=failed):
            await sleep_until(self.at + self.message.interval)

    async def send(self, *, final: bool, failed: bool = False) -> bool:
        """One call on the current message with what is ready; True once the answer is stopped."""
        limit = self.message.max_chars
        ready = self.pending if final or limit is None else _whole_words(self.pending)
        self.pending = self.pending[len(ready) :]
        if not self.said:
            ready = ready.lstrip()
        if limit is not None and len(ready) > (room := limit - len(self.shown) - len(CLOSE)):
            head, rest = _cut_growing(ready, room)
            self.pending = rest + self.pending
            await self.next_message(head)
            return False
        if final:
            await self.stop(self.sealed(ready), failed=failed)
            self.sent(ready)
            return True
        if ready and self.said and not await self.message.room_for_append():
            self.pending = ready + self.pending  # asked again one interval later, with more text
            self.at = now()
            return False
        if ready:
            await self.append(ready)
            self.sent(ready)
        return False

    async def append(self, text: str) -> None:
        try:
            await persist(lambda: self.message.append(text), "appending to an answer", attempts=2)
        except Exception:
            # Expired or stopped by the platform (Slack: message_not_in_streaming_state): the
            # answer goes on in a new message, which starts with the text that did not get in.
            log.warning("the streamed message took no more text: continuing in a new one", exc_info=True)
            await self.message.start("")
            self.shown = ""
            await persist(lambda: self.message.append(text), "starting a new message")

    async def stop(self, text: str, *, failed: bool) -> None:
        try:
            await persist(lambda: self.message.stop(text, failed=failed), "ending an answer")
        except Exception:
            log.warning("the streamed message could not be ended: ending the answer in a new one", exc_info=True)
            await self.message.start("")
            await persist(lambda: self.message.stop(text, failed=failed), "ending an answer")

    async def next_message(self, head: str) -> None:
        opener = open_fence(self.shown + head)
        await self.stop(self.sealed(head), failed=False)
        self.sent(head)
        self.shown = f"{opener}\n" if opener else ""
        await self.message.start(self.shown)
        self.at = now()

    def sealed(self, markdown: str) -> str:
        return markdown + CLOSE if open_fence(self.shown + markdown) else markdown

    def sent(self, text: str) -> None:
        self.shown, self.said, self.at = self.shown + text, self.said + text, now()


def _whole_words(text: str) -> str:
    """`text` up to its last whitespace: a word still being written is held back."""
    end = max(text.rfind(" "), text.rfind("\n"), text.rfind("\t")) + 1
    return text[:end] if len(text) - end <= _LONGEST_WORD else text


def _cut_growing(text: str, room: int) -> tuple[str, str]:
    """Split `text` at the last line break (else space) that leaves at most `room` characters
    before it; inside an unbroken run, at `room` itself."""
    window = text[: room + 1]
    at = window.rfind("\n")
    if at < room // 2:
        at = max(at, window.rfind(" "))
    if at <= 0:
        return text[:room], text[room:]
    return text[:at], text[at + 1 :]
