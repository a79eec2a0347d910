"""Where a question stands in its conversation: the platform's own time of it.

Questions of one conversation are answered one at a time in the order the platform gave them
(Slack's `ts`, a Discord snowflake's time), not in the order replicas happen to reach Redis. The
front end that runs a question says where it stands with `in_order`; the memory's `turn` reads it
from the context, so the engine between them needs to know nothing of it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TurnOrder:
    ticket: str  # unique per question (a recorded job's ticket): its place in the queue
    position: float  # the platform's time of the question, in seconds since the epoch
    # Redis time (ms) before which, even at the head of its conversation, it waits for earlier
    # questions still on their way from the platform (0: no such wait).
    not_before_ms: int = 0
    # A recorded job's: its answer is kept beside the job once complete, for a replica that may
    # have to take the job over after the answer was written but before all of it was shown.
    recorded: bool = False


_CURRENT: ContextVar[TurnOrder | None] = ContextVar("turn_order", default=None)


@contextmanager
def in_order(order: TurnOrder) -> Iterator[None]:
    """Turns taken inside this block (and in the tasks it starts) stand where `order` says."""
    token = _CURRENT.set(order)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def current_order() -> TurnOrder:
    """The order set by `in_order`, else a new ticket at this moment (the order of arrival)."""
    return _CURRENT.get() or TurnOrder(uuid.uuid4().hex, time.time())
