"""Slack's per-channel limit on posting messages, as the fake enforces it.

docs.slack.dev, "Rate limits": chat.postMessage is a "Special" tier method that "generally allows
posting one message per second per channel, while also maintaining a workspace-wide limit", and
"Posting messages: 1 per second, short bursts >1 allowed". Slack's own Java SDK paces it the same
way, keyed by channel (slackapi/java-slack-sdk, `WaitTimeCalculator.calculateWaitTimeForChatPostMessage`).

The model here: a token bucket per channel (the fake is one workspace), `per_second` tokens a
second up to `burst`; a call takes one token, a call finding none is refused and takes nothing.
How large a burst Slack allows is not documented: 3 here (">1", and small, so that a bot relying
on bursts is caught). The workspace-wide limit has no documented number (the Java SDK's comment
says only "several hundred messages per minute"): not modelled, rather than invented.

chat.postEphemeral is not limited per channel: Slack lists it in Tier 4 (the Java SDK's
`MethodsRateLimits`), which the fake's `rate_tiers` enforce with the other tiers.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChannelLimit:
    """Calls of one method in one channel: `per_second` on average, at most `burst` at once."""

    per_second: float
    burst: int


CHANNEL_LIMITS = {"chat.postMessage": ChannelLimit(per_second=1.0, burst=3)}


class ChannelBuckets:
    """The tokens left per (method, channel), refilled as time passes."""

    def __init__(self) -> None:
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}  # → (tokens, as of when)

    def wait(self, limit: ChannelLimit, method: str, channel: str, now: float) -> float | None:
        """Seconds until a call of `method` in `channel` has a token, or None: it has one now."""
        tokens = self._tokens(limit, method, channel, now)
        return None if tokens >= 1 else (1 - tokens) / limit.per_second

    def take(self, limit: ChannelLimit, method: str, channel: str, now: float) -> None:
        self._buckets[(method, channel)] = (self._tokens(limit, method, channel, now) - 1, now)

    def clear(self) -> None:
        self._buckets.clear()

    def _tokens(self, limit: ChannelLimit, method: str, channel: str, now: float) -> float:
        tokens, then = self._buckets.get((method, channel), (float(limit.burst), now))
        return min(float(limit.burst), tokens + (now - then) * limit.per_second)
