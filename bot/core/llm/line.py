"""The line of calls waiting for one of the model's slots, and where each stands in it.

A front end that tells a user their question waits ("대기 중이에요… (2번째)") wants to say so
again as the line moves. The engine between them knows nothing of it: the front end says whom
to tell with `watching_place`, and the slot a call waits for tells them (the same way the
conversation's order reaches the memory, bot.core.memory.order)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

# Called with the call's place in line (1: the next to get a slot) whenever it changes.
PlaceWatcher = Callable[[int], None]

_WATCHER: ContextVar[PlaceWatcher | None] = ContextVar("place_in_line", default=None)


@contextmanager
def watching_place(watcher: PlaceWatcher) -> Iterator[None]:
    """Calls that wait for the model inside this block (and in the tasks it starts) tell
    `watcher` where they stand, each time that changes."""
    token = _WATCHER.set(watcher)
    try:
        yield
    finally:
        _WATCHER.reset(token)


@dataclass(eq=False)  # each call is itself, whoever watches it
class Waiting:
    watcher: PlaceWatcher | None

    def tell(self, place: int) -> None:
        if self.watcher is not None:
            self.watcher(place)


class Line:
    """Calls waiting, in the order they came (the order the slots take them in)."""

    def __init__(self) -> None:
        self._waiting: list[Waiting] = []

    def __len__(self) -> int:
        return len(self._waiting)

    def join(self) -> Waiting:
        """A new call at the end of the line, its watcher told its place."""
        call = Waiting(_WATCHER.get())
        self._waiting.append(call)
        call.tell(len(self._waiting))
        return call

    def leave(self, call: Waiting) -> None:
        """`call` got its slot (or gave up): everyone behind it moves up one."""
        at = self._waiting.index(call)
        del self._waiting[at]
        for place, behind in enumerate(self._waiting[at:], start=at + 1):
            behind.tell(place)
