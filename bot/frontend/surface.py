"""Where a front end shows text, as the shared flows see it. An adapter supplies one of these
and nothing else: how long a message may be and how that is counted, how Markdown is rendered,
how often a message may change, and the calls that post and edit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

Measure = Callable[[str], int]
Format = Callable[[str], str]


def as_is(text: str) -> str:
    return text


@dataclass(frozen=True)
class MessageStyle:
    max_len: int  # per message, in `measure` units of the formatted text
    measure: Measure = len
    edit_interval: float = 1.0  # seconds between changes of the same message
    format: Format = as_is  # the model's Markdown → what the platform renders
    cursor: str = " ▌"  # shown after streamed text while it grows

    def formatted_len(self, text: str) -> int:
        # the platform counts what it receives, which is the formatted text
        return self.measure(self.format(text))


class Surface(Protocol):
    """Messages that can be posted and edited: a Slack thread, a Discord channel or interaction,
    a terminal (where an edit is printed anew)."""

    style: MessageStyle

    async def post(self, text: str) -> object:
        """Create a new message; return whatever `edit` needs to find it again."""
        ...

    async def edit(self, handle: object, text: str) -> None:
        """Replace the text of a message created by `post`."""
        ...

    async def room_for_edit(self, *, first: bool = False) -> bool:
        """Whether the platform's limits leave room now for an edit that only shows the answer
        growing, or (`first`) its first text in place of a placeholder (taken if so); False: skip
        it, the next edit carries its text."""
        ...

    async def room_for_message(self) -> bool:
        """Whether the platform's limits leave room now for a message that will grow by edits.
        Where they count over a long window (Slack's tiers: a minute), the edit that ends it is
        taken now, so its final text never waits; where the window is a second or so (Discord),
        the final edit waits a moment at most and this is True. False: no such message now; the
        text is posted once it is settled (a full part, the final text), needing no edit."""
        ...

    async def tell_asker(self, text: str) -> None:
        """Show `text` to the person the answer is for and to no one else, beside the answer
        (Slack: an ephemeral message where the question was). Best effort: the caller never waits for it
        nor fails with it. This default, for a platform whose `room_for_message` is always True
        or that has no such message (Discord, the terminal: they subclass `Surface` for it), does
        nothing."""
        return None


@runtime_checkable
class ExpiringSurface(Surface, Protocol):
    """A surface whose messages take edits only until a moment (a Discord interaction's token
    lives 15 minutes): past it, what follows comes as new messages."""

    editable_until: float  # time.time() of that moment


@runtime_checkable
class GrowingMessage(Protocol):
    """One answer that only grows and renders Markdown itself: Slack's native AI streaming, a
    terminal. The first `append` (or `stop`) opens it with the first text; `start` begins
    the next message, where the previous one is full, with the text given (a reopened fence)."""

    max_chars: int | None  # per message; None: no limit, never cut
    interval: float  # seconds between calls

    async def start(self, markdown: str) -> None:
        """Begin a new message (after `stop`, for text that outgrew the previous one)."""
        ...

    async def append(self, markdown: str) -> None: ...

    async def room_for_append(self) -> bool:
        """As `Surface.room_for_edit`, for an append after the first text."""
        ...

    async def stop(self, markdown: str, *, failed: bool) -> None:
        """Append the last text and close the message; `failed`: the answer is an error message."""
        ...
