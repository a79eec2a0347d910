"""The event loop every bot process runs on."""

from __future__ import annotations

import asyncio
from typing import Any, Coroutine, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run`, on uvloop where it is installed (every platform but Windows). The bot's work
    is thousands of small socket reads and writes (Redis replies, streamed tokens, Slack and
    Discord calls); uvloop's loop and transports do them in C, which cuts the CPU per answer and
    so raises how many people one process can answer at once (BENCHMARKS.md, fix 12)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)
