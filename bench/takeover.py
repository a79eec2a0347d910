"""Chat load through Slack with one of two replicas killed mid-run (SIGKILL, no drain): what users
lose (questions never answered), get twice, or find left open, and how much later the answers
taken over by the other replica arrive.

    python -m bench.takeover             # 50 conversations x 4 questions, 2 s answers, JOB_TAKEOVER_SECONDS 10
    python -m bench.takeover --quick     # seconds: 6 x 3, 1 s answers, takeover after 1 s

Two `python -m bot slack` processes (Socket Mode) share a Redis, and the conversations alternate
between their connections; once a third of the answers are in, the first process is killed. An
event it had not acknowledged comes again down the other connection, as Slack redelivers. The
answers taken over are those of the jobs it held in Redis at that moment, and of those events.
Latency: from the question to its complete answer, as the user's thread shows it."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import redis_for_bench, script_arguments, spread, table, write_results
from bench.endpoint import FULL_PROFILE, EndpointProcess, Profile
from bench.live import Users, answer_text, bot_env, held_by, latency_ms, slack_bots

QUICK = {"conversations": 6, "exchanges": 3, "profile": Profile(ttft=0.2, tps=20.0, tokens=17), "takeover": 1.0}
FULL = {"conversations": 50, "exchanges": 4, "profile": FULL_PROFILE, "takeover": 10.0}


async def _run(conversations: int, exchanges: int, profile: Profile, takeover: float, redis_url: str) -> dict[str, Any]:
    from fakes.slack import FakeSlack

    async with FakeSlack() as fake:
        with EndpointProcess(profile) as endpoint:
            env = bot_env(fake, endpoint.url, redis_url, JOB_TAKEOVER_SECONDS=str(takeover))
            async with slack_bots(2, fake, env) as (victim, _):
                warm = Users(fake, answer_text(profile), redeliver=True)
                await asyncio.gather(*(warm.converse(9000 + c, 1, 0, connection=c) for c in (0, 1)))
                users = Users(fake, answer_text(profile), redeliver=True)
                started = time.monotonic()
                talks = asyncio.gather(
                    *(users.converse(i, exchanges, 0, connection=i % 2) for i in range(conversations))
                )
                third = conversations * exchanges // 3
                while sum(r.answered is not None for r in users.records) < third and not talks.done():
                    await asyncio.sleep(0.02)
                held = held_by(redis_url, env["REDIS_KEY_PREFIX"], victim.pid)
                victim.kill()
                killed_after = time.monotonic() - started
                await talks
    # Taken over: the questions whose jobs the killed replica held, and the events it had not yet
    # acknowledged (Slack sent them again).
    taken = [r for r in users.records if r.tag in held or r.redelivered]
    normal = [r for r in users.records if r not in taken]
    normal_ms, taken_ms = spread(latency_ms(normal)), spread(latency_ms(taken))
    return {
        **users.tally(), "conversations": conversations, "taken_over": len(taken), "killed_after_s": killed_after,
        "latency_ms": normal_ms, "taken_over_latency_ms": taken_ms,
        "extra_p50_ms": taken_ms["p50"] - normal_ms["p50"] if taken else float("nan"),
        "takeover_seconds": takeover, "profile": profile.recorded(),
    }


def run(quick: bool, output: Path | None = None) -> dict[str, Any]:
    spec = QUICK if quick else FULL
    print(f"{spec['conversations']} conversations x {spec['exchanges']} questions, {spec['profile'].describe()}, "
          f"JOB_TAKEOVER_SECONDS={spec['takeover']:g}; one of two replicas killed a third of the way in", flush=True)
    with redis_for_bench() as redis_url:
        result = asyncio.run(_run(redis_url=redis_url, **spec))
    row = {"scenario": "replicas, one killed", **result, "p50": result["latency_ms"]["p50"],
           "p99": result["latency_ms"]["p99"], "taken_p50": result["taken_over_latency_ms"]["p50"],
           "taken_max": result["taken_over_latency_ms"]["max"]}  # fmt: skip
    print(table([row], COLUMNS))
    write_results("takeover", {"quick": quick, "result": result}, output)
    return result


COLUMNS = [
    ("scenario", "scenario", ""), ("conversations", "N", "d"), ("asked", "questions", "d"), ("lost", "lost", "d"),
    ("doubled", "doubled", "d"), ("open", "left open", "d"), ("taken_over", "taken over", "d"),
    ("p50", "latency p50 ms", ".0f"), ("p99", "p99", ".0f"), ("taken_p50", "taken over p50 ms", ".0f"),
    ("taken_max", "max", ".0f"), ("extra_p50_ms", "extra p50 ms", ".0f"),
]


def main(argv: list[str] | None = None) -> int:
    options = script_arguments("python -m bench.takeover", __doc__).parse_args(argv)
    run(options.quick, options.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
