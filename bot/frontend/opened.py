"""The messages an answer opens, noted as soon as each exists (`bot.frontend.jobs.Job`), so that a
replica taking the answer over can close them with a note instead of leaving a placeholder or a
half-written stream behind. Each adapter says how a message is written down (`describe`) and
how one is closed from what was written (its job runner)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from bot.frontend.surface import GrowingMessage, Surface

Note = Callable[[str], Awaitable[None]]
M = TypeVar("M", bound=GrowingMessage)


class NotedSurface:
    """A `Surface` that notes each message it posts, as `describe(handle)`; everything else is
    the surface's own."""

    def __init__(self, surface: Surface, note: Note, describe: Callable[[Any], str]) -> None:
        self._surface = surface
        self._note = note
        self._describe = describe

    def __getattr__(self, name: str) -> Any:
        return getattr(self._surface, name)

    async def post(self, text: str) -> object:
        handle = await self._surface.post(text)
        await self._note(self._describe(handle))
        return handle


class NotedGrowing(Generic[M]):
    """A `GrowingMessage` that notes the message it is writing whenever that changes, as
    `describe(message)` read after each call (None: none open yet): a platform may open the
    message only with its first text, and open a new one when one is full or expired."""

    def __init__(self, message: M, note: Note, describe: Callable[[M], str | None]) -> None:
        self._message = message
        self._note = note
        self._describe = describe
        self._noted: str | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._message, name)

    async def start(self, markdown: str) -> None:
        await self._message.start(markdown)
        await self.note_new()

    async def append(self, markdown: str) -> None:
        await self._message.append(markdown)
        await self.note_new()

    async def stop(self, markdown: str, *, failed: bool) -> None:
        await self._message.stop(markdown, failed=failed)
        await self.note_new()

    async def note_new(self) -> None:
        handle = self._describe(self._message)
        if handle is not None and handle != self._noted:
            self._noted = handle
            await self._note(handle)


async def noted(
    where: Surface | GrowingMessage, note: Note, *, message: Callable[[Any], str],
    stream: Callable[[Any], str | None],
) -> Surface | GrowingMessage:  # fmt: skip
    """`where`, noting every message it opens from now on: a posted message as `message(handle)`,
    a growing one as `stream(it)` (noted at once if it is open already)."""
    if isinstance(where, GrowingMessage):
        growing = NotedGrowing(where, note, stream)
        await growing.note_new()
        return growing  # type: ignore[return-value]
    return NotedSurface(where, note, message)


def unshown(answer: str, shown: str) -> str | None:
    """What of `answer` a message showing `shown` still lacks ("" for nothing), when `shown` is
    the answer's beginning (whitespace aside: a platform may trim it); None when it is not."""
    at = 0
    for char in shown:
        if char.isspace():
            continue
        while at < len(answer) and answer[at].isspace():
            at += 1
        if at == len(answer) or answer[at] != char:
            return None
        at += 1
    if shown[-1:].isspace():  # the space after the last word was shown too
        while at < len(answer) and answer[at].isspace():
            at += 1
    return answer[at:]
