"""A soak: one bot process (`python -m bot slack`, Socket Mode, a real Redis) answering N
conversations without a pause; its resident memory, open file descriptors and answer latency,
sampled over time, should stay flat once it is warm.

    python -m bench.soak                          # an hour, 50 conversations, 2 s answers, a sample a minute
    python -m bench.soak --minutes 10 --every 30  # shorter
    python -m bench.soak --quick                  # one minute, a sample every 10 s

Every conversation asks its next question as soon as its answer is complete, in a new thread
every 20 questions. Latency: from the question to its complete answer, as the user's thread shows
it; a question still unanswered two minutes on counts as lost."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import redis_for_bench, script_arguments, spread, table, write_results
from bench.endpoint import FULL_PROFILE, EndpointProcess, Profile
from bench.live import Users, answer_text, bot_env, latency_ms, slack_bots, usage


async def _soak(
    minutes: float, conversations: int, every: float, profile: Profile, redis_url: str
) -> list[dict[str, Any]]:
    from fakes.slack import FakeSlack

    async with FakeSlack() as fake:
        with EndpointProcess(profile) as endpoint:
            async with slack_bots(1, fake, bot_env(fake, endpoint.url, redis_url)) as [bot]:
                users = Users(fake, answer_text(profile), forget=True)
                started = time.monotonic()
                talks = asyncio.gather(*(users.converse(i, None, started + 60 * minutes) for i in range(conversations)))
                samples: list[dict[str, Any]] = []
                last, cpu = started, usage(bot.pid)["cpu_s"]
                while not talks.done():
                    await asyncio.wait({talks}, timeout=every)
                    now = time.monotonic()
                    window = [r for r in users.records if r.answered is not None and last < r.answered <= now]
                    lost = [r for r in users.records if r.answered is None and r.sent + users.timeout < now]
                    latency, used = spread(latency_ms(window)), usage(bot.pid)
                    samples.append({
                        "minute": (now - started) / 60, **used, "answers": len(window),
                        "cpu_ms": 1000 * (used["cpu_s"] - cpu) / max(1, len(window)),
                        "per_second": len(window) / (now - last), "p50": latency["p50"], "p99": latency["p99"],
                        "lost": len(lost),
                    })  # fmt: skip
                    print(table(samples[-1:], COLUMNS).splitlines()[-1], flush=True)
                    # The fake records every call for tests to read: an hour of them is not this run's to keep.
                    for kept in (fake.api_calls, fake.socket_pushes, fake.socket_acks):
                        kept.clear()
                    last, cpu = now, used["cpu_s"]
                await talks
    return samples


def drift(samples: list[dict[str, Any]]) -> dict[str, float]:
    """From the first sample after a quarter of the run (warm) to the last: how much RSS (MB), file
    descriptors and p50 latency (ms) moved."""
    if len(samples) < 2:
        return {}
    warm, end = samples[len(samples) // 4], samples[-1]
    return {key: end[key] - warm[key] for key in ("rss_mb", "fds", "p50")}


def run(quick: bool, output: Path | None = None, minutes: float = 60.0, every: float = 60.0,
        conversations: int = 50) -> dict[str, Any]:  # fmt: skip
    if quick:
        minutes, every = 1.0, 10.0
    profile = FULL_PROFILE
    print(f"soak: {conversations} conversations for {minutes:g} min, {profile.describe()}, a sample every {every:g} s")
    print("\n".join(table([], COLUMNS).splitlines()[:2]), flush=True)
    with redis_for_bench() as redis_url:
        samples = asyncio.run(_soak(minutes, conversations, every, profile, redis_url))
    result = {"minutes": minutes, "conversations": conversations, "profile": profile.recorded(), "samples": samples,
              "drift": drift(samples)}  # fmt: skip
    moved = result["drift"]
    print(f"after warm-up: RSS {moved.get('rss_mb', 0):+.1f} MB, fds {moved.get('fds', 0):+.0f}, "
          f"p50 {moved.get('p50', 0):+.0f} ms; lost {samples[-1]['lost'] if samples else 0}")
    write_results("soak", {"quick": quick, **result}, output)
    return result


COLUMNS = [
    ("minute", "minute", ".1f"), ("rss_mb", "RSS MB", ".1f"), ("fds", "fds", ".0f"), ("answers", "answers", "d"),
    ("per_second", "answers/s", ".1f"), ("p50", "latency p50 ms", ".0f"), ("p99", "p99", ".0f"),
    ("cpu_ms", "CPU ms/answer", ".1f"), ("lost", "lost", "d"),
]


def main(argv: list[str] | None = None) -> int:
    parser = script_arguments("python -m bench.soak", __doc__)
    parser.add_argument("--minutes", type=float, default=60.0, help="how long (default 60)")
    parser.add_argument("--every", type=float, default=60.0, help="seconds between samples (default 60)")
    parser.add_argument("--conversations", type=int, default=50, help="at once (default 50)")
    options = vars(parser.parse_args(argv))
    options.pop("child")
    run(options.pop("quick"), options.pop("output"), **options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
