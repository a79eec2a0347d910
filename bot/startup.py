"""Reaching a platform at start-up: a credential it rejects stops the bot at once (the caller
raises ConfigError); a network that fails is retried with backoff, one log line a try, for
PLATFORM_STARTUP_TIMEOUT_SECONDS, and then stops the bot with one line saying what to check."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import aiohttp

log = logging.getLogger(__name__)

T = TypeVar("T")

# aiohttp's connection errors are OSErrors too; TimeoutError covers asyncio's in Python 3.11.
NETWORK_ERRORS: tuple[type[BaseException], ...] = (OSError, aiohttp.ClientError, TimeoutError)
_FIRST_DELAY, _MAX_DELAY = 0.5, 15.0


class Unreachable(Exception):
    """A platform did not answer within the start-up time: the message says what to check."""


@dataclass(frozen=True)
class Target:
    what: str  # "Slack", "Discord"
    url: str  # where it was tried
    variable: str  # the setting that points there (SLACK_API_URL, DISCORD_API_URL)


def describe(error: BaseException) -> str:
    """One line for a network failure: its kind and its own words, never a traceback."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


async def with_retries(
    attempt: Callable[[], Awaitable[T]],
    target: Target,
    timeout: float,
    transient: Callable[[BaseException], bool] = lambda error: isinstance(error, NETWORK_ERRORS),
) -> T:
    """`attempt()` until it succeeds or fails for good; transient failures are retried until
    `timeout` seconds have passed, then become Unreachable."""
    deadline = time.monotonic() + timeout
    delay = _FIRST_DELAY
    while True:
        try:
            return await attempt()
        except Exception as error:
            if not transient(error):
                raise
            left = deadline - time.monotonic()
            if left <= 0:
                waited = f" (tried for PLATFORM_STARTUP_TIMEOUT_SECONDS={timeout:g})" if timeout else ""
                raise Unreachable(
                    f"{target.what} did not answer at {target.url}{waited}: {describe(error)}. Check the "
                    f"network, HTTPS_PROXY/NO_PROXY and {target.variable}."
                ) from None
            wait = min(delay, left)
            log.warning("%s not reachable at %s (%s); retrying in %.1f s", target.what, target.url, describe(error), wait)
            await asyncio.sleep(wait)
            delay = min(delay * 2, _MAX_DELAY)
