"""One message that follows a long job ("문서를 읽고 요약하는 중이에요… (3/8)") without flooding
edits, and then becomes the job's result."""

from __future__ import annotations

import asyncio
import logging
import time

from bot.frontend.splitting import split_message
from bot.frontend.streaming import now, sleep_until
from bot.frontend.surface import ExpiringSurface, Surface

log = logging.getLogger(__name__)

NOTE_AHEAD = 60.0  # seconds before a message stops taking edits that the progress says so


class ProgressMessage:
    """The first `update` posts; later ones edit at most once per the surface's edit interval,
    in the background, always ending on the latest text. `finish` replaces the message with the
    result (or `fail` with the failure), which no pending progress edit can overwrite; with a
    separate `result` surface (a terminal: progress on stderr, the result on stdout) the result
    is posted there instead, while a failure stays with the progress. On a surface whose messages
    take edits only for a while (`ExpiringSurface`), the progress adds `late_note` in the last
    `NOTE_AHEAD` seconds of that while: the result, should it come later, comes as a new message."""

    def __init__(self, surface: Surface, result: Surface | None = None, *, late_note: str = "") -> None:
        self._surface = surface
        self._result = result or surface
        # when edits end (time.time()), if they do: the note is shown in the last NOTE_AHEAD s
        self._until = surface.editable_until if isinstance(surface, ExpiringSurface) and late_note else None
        self._late_note = late_note
        self._noting: asyncio.Task[None] | None = None
        self._status = ""  # the latest status, without the note
        self._interval = surface.style.edit_interval
        self._handle: object | None = None
        self._posted = False  # a surface's handle may be None (a terminal's line)
        self._shown = ""
        self._latest = ""
        self._sent_at = 0.0
        self._posting = asyncio.Lock()  # two early updates must not post two messages
        self._flusher: asyncio.Task[None] | None = None
        self._editing = False
        self._finished = False

    async def update(self, text: str) -> None:
        if self._finished:
            return
        self._status = text
        self._latest = self._noted(text)
        async with self._posting:
            if not self._posted:
                await self._post(self._latest)
                self._note_later()
                return
        self.update_soon(text)

    def update_soon(self, text: str) -> None:
        """`update` from a plain callback, once the message is posted: shown by the next edit."""
        if self._finished:
            return
        self._status = text
        self._latest = self._noted(text)
        if self._posted and (self._flusher is None or self._flusher.done()):
            self._flusher = asyncio.create_task(self._flush())

    async def finish(self, text: str) -> None:
        """Show the result, of any length: what does not fit one message follows in new ones."""
        style = self._result.style
        first, *rest = split_message(text, style.max_len, style.formatted_len)
        await self._settle(style.format(first), on=self._result)
        for part in rest:
            await self._result.post(style.format(part))

    async def fail(self, text: str) -> None:
        """A failure is the job's last status: it replaces the progress message where that is."""
        await self._settle(self._surface.style.format(text), on=self._surface)

    def _noted(self, status: str) -> str:
        if self._until is None or not self._until - NOTE_AHEAD <= time.time() < self._until:
            return status
        return f"{status}\n{self._late_note}"

    def _note_later(self) -> None:
        """Add the note to the progress when its time comes, whether or not a step ends then."""
        if self._until is None:
            return
        until = self._until

        async def note() -> None:
            await asyncio.sleep(until - NOTE_AHEAD - time.time())
            self.update_soon(self._status)

        self._noting = asyncio.create_task(note())

    def abandon(self) -> None:
        """No more changes: the job stopped without a result (cancelled)."""
        self._finished = True
        for task in (self._noting, self._flusher):
            if task is not None:
                task.cancel()

    async def _settle(self, text: str, *, on: Surface) -> None:
        self._finished = True
        if self._noting is not None:
            self._noting.cancel()
        if self._flusher is not None:
            if not self._editing:  # a waiting flush would only show numbers about to be replaced
                self._flusher.cancel()
            await asyncio.wait({self._flusher})
        if on is not self._surface:
            await on.post(text)
            return
        async with self._posting:
            if not self._posted:
                await self._post(text)
                return
        await sleep_until(self._sent_at + self._interval)
        await self._edit(text)

    async def _flush(self) -> None:
        try:
            while not self._finished and self._latest != self._shown:
                await sleep_until(self._sent_at + self._interval)
                if self._finished:
                    return
                await self._edit(self._latest)
        except Exception:
            # nobody awaits this task; a lost progress edit must not break the job
            log.warning("progress edit failed", exc_info=True)

    async def _post(self, text: str) -> None:
        self._handle = await self._surface.post(text)
        self._posted = True
        self._sent_at = now()  # after the call: a surface may retry inside it
        self._shown = text

    async def _edit(self, text: str) -> None:
        self._editing = True
        try:
            await self._surface.edit(self._handle, text)
            self._sent_at = now()
            self._shown = text
        finally:
            self._editing = False
