"""Liveness for Docker's HEALTHCHECK: a serving bot touches HEALTH_FILE while its event loop runs,
and `python -m bot.health` says whether that happened lately. A bot whose loop is stuck, or that
has exited, stops touching the file and the container turns unhealthy."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

BEAT_SECONDS = 10.0
STALE_SECONDS = 60.0


@asynccontextmanager
async def beating(path: Path | None) -> AsyncIterator[None]:
    """Touch `path` (when set) every BEAT_SECONDS while the block runs."""
    task = asyncio.create_task(_beat(path)) if path else None
    try:
        yield
    finally:
        if task:
            task.cancel()


async def _beat(path: Path) -> None:
    while True:
        path.touch()
        await asyncio.sleep(BEAT_SECONDS)


def main() -> int:
    path = os.environ.get("HEALTH_FILE")
    if not path:
        print("HEALTH_FILE is not set: nothing to check", file=sys.stderr)
        return 1
    try:
        age = time.time() - Path(path).stat().st_mtime
    except OSError:
        print(f"no heartbeat yet at {path}", file=sys.stderr)
        return 1
    if age > STALE_SECONDS:
        print(f"last heartbeat {age:.0f} s ago (stale after {STALE_SECONDS:.0f} s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
