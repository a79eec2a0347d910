"""Chat load through Slack: each request enters as a signed Slack event (HTTP mode) and leaves as
Web API calls to a local fake Slack.

    python -m bench.slack [--quick]

Three processes, so that none is measured as another's overhead: the bot (`--child`: the real
`bot.adapters.slack.running` app with its engine), the endpoint (bench.endpoint), and this one,
which plays Slack (fakes/slack.FakeSlack) and the users. Every conversation is a channel
thread: a mention starts it, later questions mention the bot in the thread. Times are
CLOCK_MONOTONIC, shared by the three processes. Reported per answer: event to placeholder (the
first message call in the thread), the endpoint's first token to the first text shown, event to
final message, and how many Slack calls it took, by method, with the 429s received.

Two kinds of rows: "many workspaces" (each conversation in a workspace of its own, so no
workspace's rate tiers are reached: the bot's own costs; 5 questions per conversation) and "one
workspace" (every conversation in ONE workspace, under Slack's rate tiers as the fake enforces
them: what a busy real workspace gets). A one-workspace row is N answers at once, one question
per conversation: a second wave would start while the first still waits for the tiers, and
measure the queue the first left behind rather than N at once.

    python -m bench.slack --workspaces one --only 10,50,200"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import baseline as original
from bench.common import (
    RssSampler, WarningCounter, bot_settings, child_env, command_delta, command_stats, ms, numbers, part_main,
    peak_rss_mb, print_counts, print_tables, ratio, received_result, redis_for_bench, script_arguments, send_result,
    spread, start_serving, wait_for_quiet, write_results,
)
from bench.endpoint import FULL_PROFILE, QUICK_PROFILE, EndpointProcess, Profile
from bot.frontend.texts import texts_for

QUESTION = "이번 분기 팀 회의에서 정리한 일정과 담당자를 다시 알려주실 수 있나요?"
PLACEHOLDER_METHODS = frozenset({"chat.startStream", "chat.postMessage"})
CURSOR = "▌"
THINKING = texts_for("ko")("thinking")  # a plain message's placeholder
RATE_LIMIT_RETRIES = 3  # bot.adapters.slack: PausingRateLimits(max_retry_count=3)


def _final(call: Any) -> bool:
    """The call that shows an answer's end: a stream's stop, a plain message's last edit (the
    only one without the growing answer's cursor after the placeholder), or the answer posted
    whole (in a workspace whose edits are spent). The bench's answers fit one message."""
    if call.method == "chat.stopStream":
        return True
    text = str(call.args.get("text") or "")
    return call.method in ("chat.update", "chat.postMessage") and call.ok and CURSOR not in text and text != THINKING


# ------------------------------------------------------------------ the bot process

async def _serve_bot(job: dict[str, Any]) -> dict[str, Any]:
    from bot.adapters.slack import running
    from bot.cli import settle_heap
    from bot.core.engine import ChatEngine

    settings = bot_settings(
        job["endpoint"], job["redis"], f"bench:{uuid.uuid4().hex[:8]}", job["concurrency"],
        slack_bot_token=job["bot_token"], slack_signing_secret=job["signing_secret"],
        slack_api_url=job["api_url"], slack_mode="http", slack_http_port=0, **job["tiers"],
        # Every user's event may be on its way at once; past the cap (500 by default) the bot
        # answers 503 and Slack delivers again later, which is not what these rows measure.
        slack_http_max_connections=max(500, 2 * job["concurrency"]),
    )
    engine = ChatEngine.from_settings(settings)
    settle_heap()  # as `python -m bot` does for a serving process
    loop = asyncio.get_running_loop()
    try:
        async with running(settings, engine, host="127.0.0.1") as service:
            print(f"READY {service.url}/slack/events", flush=True)
            # The parent says "go" after the warm-up (so the peak is the run's) and "stop" at the end.
            reader = asyncio.StreamReader()
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
            await reader.readline()
            cpu_before = os.times()
            with RssSampler() as rss:
                await reader.readline()
            cpu = os.times()
    finally:
        await engine.aclose()
    return {
        "peak_rss_mb": rss.peak_mb, "vm_hwm_mb": peak_rss_mb(), "peak_threads": rss.peak_threads,
        "cpu_seconds": (cpu.user - cpu_before.user) + (cpu.system - cpu_before.system),
    }


def child_main(payload: str) -> int:
    counter = WarningCounter()
    logging.getLogger().addHandler(counter)
    result = asyncio.run(_serve_bot(json.loads(payload)))
    send_result(result | {"warnings": counter.counts})
    return 0


class BotProcess:
    """The bot under test, serving Slack events over HTTP in its own process."""

    def __init__(self, job: dict[str, Any]) -> None:
        self.job = job
        self.url = ""
        self._proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> "BotProcess":
        self._folder = tempfile.TemporaryDirectory()
        self._result = Path(self._folder.name) / "result.json"
        self._proc, self.url = start_serving(
            "bench.slack", ["--child", json.dumps(self.job)], env=child_env(self._result), stderr=subprocess.PIPE
        )
        return self

    def go(self) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write("go\n")
        self._proc.stdin.flush()

    def finish(self) -> dict[str, Any]:
        assert self._proc is not None
        _, err = self._proc.communicate("stop\n", timeout=120)
        self._proc = None
        return received_result(self._result, "bench.slack bot", err)

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(10)
        self._folder.cleanup()


# ------------------------------------------------------------------ Slack and its users

def _indexed_fake() -> Any:
    from fakes.slack import FakeSlack

    class IndexedSlack(FakeSlack):
        """FakeSlack with the calls also kept per channel and a wake-up per channel, so a
        thousand waiting users do not rescan every call ever made."""

        def __init__(self) -> None:
            super().__init__()
            self.by_channel: dict[str, list[Any]] = defaultdict(list)
            self.changed: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
            self._indexed = 0

        async def _api(self, request: Any) -> Any:
            response = await super()._api(request)
            for call in self.api_calls[self._indexed:]:
                channel = str(call.args.get("channel", ""))
                self.by_channel[channel].append(call)
                self.changed[channel].set()
            self._indexed = len(self.api_calls)
            return response

    return IndexedSlack()


def _answer_text(call: Any) -> bool:
    """Whether `call` shows answer text (not the placeholder a plain message starts with, nor
    the note its asker alone sees where the answer will come whole)."""
    if call.args.get("markdown_text") or call.args.get("chunks"):
        return True
    text = call.args.get("text")
    return call.method not in ("chat.startStream", "chat.postEphemeral") and bool(text) and text != THINKING


def _exhausted(calls: list[Any]) -> int:
    """Calls that were refused with 429 on every attempt the bot makes (the first and its
    three retries: `PausingRateLimits(max_retry_count=3)`), i.e. gave up."""
    attempts = 1 + RATE_LIMIT_RETRIES
    streak: dict[str, int] = defaultdict(int)
    given_up = 0
    for call in calls:
        if call.status != 429:
            streak[call.method] = 0
            continue
        streak[call.method] += 1
        if streak[call.method] == attempts:
            given_up += 1
            streak[call.method] = 0
    return given_up


async def _conversation(fake: Any, url: str, index: int, exchanges: int, offset: float, started: float,
                        records: list[dict[str, Any]], errors: dict[str, int], timeout: float,
                        own_workspace: bool = True) -> None:
    channel = f"C{index:05d}"
    await asyncio.sleep(max(0.0, started + offset - time.monotonic()))
    root: str | None = None
    for exchange in range(exchanges):
        tag = f"[q{index}-{exchange}]"
        payload = fake.mention(f"{tag} {QUESTION}", channel=channel, thread_ts=root)
        if own_workspace:
            payload["team_id"] = payload["event"]["team"] = f"T{index:05d}"
        root = root or payload["event"]["ts"]
        seen = len(fake.by_channel[channel])
        sent = time.monotonic()
        delivery = await fake.send_http_event(url, payload, timeout=timeout)
        if delivery.status != 200:
            errors[f"HTTP {delivery.status}"] = errors.get(f"HTTP {delivery.status}", 0) + 1
            return
        deadline = sent + timeout
        calls: list[Any] = []
        while not any(_final(c) for c in calls):
            event = fake.changed[channel]
            event.clear()
            calls = fake.by_channel[channel][seen:]
            if any(_final(c) for c in calls):
                break
            try:
                await asyncio.wait_for(event.wait(), max(0.01, deadline - time.monotonic()))
            except TimeoutError:
                errors["no final message"] = errors.get("no final message", 0) + 1
                return
        placeholder = next((c for c in calls if c.method in PLACEHOLDER_METHODS), None)
        shown = next((c for c in calls if _answer_text(c)), None)
        final = next(c for c in calls if _final(c))
        limited = [c for c in calls if c.status == 429]
        exhausted = _exhausted(calls)
        failed = [c.method for c in calls if not c.ok and c.status != 429]
        if failed:
            errors["slack call failed"] = errors.get("slack call failed", 0) + len(failed)
        records.append({
            "tag": tag, "sent": sent, "ack_ms": ms(delivery.elapsed),
            "placeholder_at": placeholder.at if placeholder else None,
            "shown_at": shown.at if shown else None, "final_at": final.at,
            "calls": len(calls), "methods": [c.method for c in calls], "limited": len(limited),
            "exhausted": exhausted,
        })


async def _drive(job: dict[str, Any], endpoint: EndpointProcess, bot: BotProcess, fake: Any) -> dict[str, Any]:
    import random

    profile = Profile(**job["profile"])
    n, exchanges = job["conversations"], job["exchanges"]
    # Warm-up in a channel of its own: first connections, botocore's models, bolt's first event.
    await _conversation(fake, bot.url, 99999, 1, 0.0, time.monotonic(), [], {}, 60.0)
    fake.reset_tiers()  # the warm-up's calls do not count against the run's tiers
    endpoint.timeline()
    before = command_stats(job["redis"])
    bot.go()
    rng = random.Random(7)
    offsets = sorted(rng.uniform(0, profile.seconds) for _ in range(n)) if n > 1 else [0.0]
    records: list[dict[str, Any]] = []
    errors: dict[str, int] = {}
    started = time.monotonic()
    own = job["workspaces"] == "many"
    # In one workspace, answers past its tiers finish as the tiers refill, minutes later.
    timeout = 60.0 + 4 * profile.seconds + (0 if own else 12 * n)
    await asyncio.gather(*(_conversation(fake, bot.url, i, exchanges, offsets[i], started, records, errors, timeout,
                                         own_workspace=own) for i in range(n)))
    actual = time.monotonic() - started
    commands = command_delta(before, command_stats(job["redis"]))
    timeline = endpoint.timeline()
    for record in records:
        record["first_token_at"] = timeline.get(record["tag"], [None, None])[1]
    ideal = max(offsets) + exchanges * profile.seconds
    return {"records": records, "errors": errors, "actual_seconds": actual, "ideal_seconds": ideal,
            "efficiency": ideal / actual if actual else 0.0, "redis_commands": commands,
            "redis_commands_per_exchange": sum(commands.values()) / len(records) if records else 0.0}


def run_scenario(conversations: int, exchanges: int, profile: Profile, redis_url: str,
                 endpoint: EndpointProcess, workspaces: str = "many") -> dict[str, Any]:
    async def main() -> dict[str, Any]:
        fake = _indexed_fake()
        tiers: dict[str, int] = {}
        if workspaces == "many":
            # The fake is one workspace, and to the bot (one token) every event comes from the
            # token's workspace; each of many would have its own tiers: lifted on both sides.
            fake.rate_tiers = {}
            tiers = {f"slack_tier{tier}_per_minute": 1_000_000 for tier in (2, 3, 4)}
        await fake.start()
        try:
            job = {"endpoint": endpoint.url, "redis": redis_url, "concurrency": max(64, conversations),
                   "bot_token": fake.bot_token, "signing_secret": fake.signing_secret, "api_url": fake.api_url,
                   "tiers": tiers}
            bot = BotProcess(job)
            # Started from a thread: the bot calls auth.test on this loop's fake Slack before it is READY.
            await asyncio.to_thread(bot.__enter__)
            try:
                driven = await _drive(job | {"conversations": conversations, "exchanges": exchanges,
                                             "profile": asdict(profile), "workspaces": workspaces}, endpoint, bot, fake)
                driven["bot"] = await asyncio.to_thread(bot.finish)
            finally:
                bot.__exit__()
        finally:
            await fake.close()
        return driven

    result = asyncio.run(main())
    result["scenario"] = {"conversations": conversations, "exchanges": exchanges, "profile": asdict(profile),
                          "workspaces": workspaces}
    return result


def summarize(result: dict[str, Any], baseline: dict[str, Any] | None) -> dict[str, Any]:
    records = result["records"]
    placeholder = [ms(r["placeholder_at"] - r["sent"]) for r in records if r["placeholder_at"]]
    first = [ms(r["shown_at"] - r["first_token_at"]) for r in records if r["shown_at"] and r["first_token_at"]]
    final = [ms(r["final_at"] - r["sent"]) for r in records]
    calls = [r["calls"] for r in records]
    p, f, e = spread(placeholder), spread(first), spread(final)
    bot = result["bot"]
    by_method: dict[str, int] = defaultdict(int)
    for record in records:
        for method in record["methods"]:
            by_method[method] += 1
    row = {
        "workspaces": result["scenario"].get("workspaces", "many"),
        "n": result["scenario"]["conversations"], "answers": len(records),
        "limited": sum(r.get("limited", 0) for r in records),
        "limited_pct": 100 * sum(r.get("limited", 0) for r in records) / max(1, sum(r["calls"] for r in records)),
        "exhausted": sum(r.get("exhausted", 0) for r in records),
        "calls_by_method": {m: round(c / len(records), 2) for m, c in sorted(by_method.items())} if records else {},
        "errors": sum(result["errors"].values()), "warnings": sum(bot.get("warnings", {}).values()),
        "ph_p50": p["p50"], "ph_p99": p["p99"], "first_p50": f["p50"], "first_p99": f["p99"],
        "final_p50": e["p50"], "final_p99": e["p99"], "calls": spread(calls)["mean"],
        "efficiency": result["efficiency"], "redis_per_ex": result["redis_commands_per_exchange"],
        "rss_mb": bot["peak_rss_mb"], "cpu_ms": ms(bot["cpu_seconds"] / len(records)) if records else 0.0,
        "load": (result.get("load_at_start") or [float("nan")])[0],
    }
    if baseline:
        b_latency = ms(baseline["latency_mean_s"])
        row |= {
            # The original showed nothing until the whole answer was back.
            "x_ph": ratio(p["p50"], b_latency), "x_final": ratio(e["p50"], b_latency),
            "x_rss": ratio(row["rss_mb"], baseline["peak_rss_mb"]),
        }
    return row


COLUMNS = [
    ("workspaces", "workspaces", "s"), ("n", "N", "d"), ("answers", "answers", "d"), ("errors", "errors", "d"),
    ("limited", "429s", "d"), ("limited_pct", "% calls 429", ".1f"), ("exhausted", "gave up after retries", "d"),
    ("warnings", "warnings", "d"),
    ("ph_p50", "event→placeholder p50 ms", ".0f"), ("ph_p99", "p99", ".0f"),
    ("first_p50", "1st token→1st text p50 ms", ".0f"), ("first_p99", "p99", ".0f"),
    ("final_p50", "event→final p50 ms", ".0f"), ("final_p99", "p99", ".0f"),
    ("calls", "Slack calls/answer", ".2f"), ("efficiency", "efficiency", ".3f"),
    ("redis_per_ex", "redis cmds/ex", ".1f"), ("rss_mb", "bot RSS MB", ".0f"), ("cpu_ms", "bot CPU ms/ex", ".2f"),
    ("load", "load", ".2f"),
]
RATIO_COLUMNS = [
    ("n", "N", "d"), ("x_ph", "event→placeholder ÷ baseline latency", ".4f"),
    ("x_final", "event→final ÷ baseline latency", ".3f"), ("x_rss", "RSS ÷ baseline", ".2f"),
]


def run(quick: bool, output: Path | None = None, baseline: dict[str, Any] | None = None,
        only: list[int] | None = None, workspaces: str = "both") -> dict[str, Any]:
    profile = QUICK_PROFILE if quick else FULL_PROFILE
    sizes = [n for n in ((1, 4) if quick else (1, 10, 50, 200, 1000)) if not only or n in only]
    busy = [n for n in ((4,) if quick else (10, 50, 200)) if not only or n in only]
    plan = [(kind, ns, exchanges) for kind, ns, exchanges in (("many", sizes, 2 if quick else 5), ("one", busy, 1))
            if workspaces in ("both", kind)]
    load = None if quick else wait_for_quiet()
    results = []
    with redis_for_bench() as redis_url, EndpointProcess(profile) as endpoint:
        if baseline is None:
            baseline = original.measure(endpoint, redis_url, profile, requests=3 if quick else 10)
        for kind, ns, exchanges in plan:
            for n in ns:
                quiet = None if quick else wait_for_quiet()  # before each scenario: the cores are shared
                scenario = run_scenario(n, exchanges, profile, redis_url, endpoint, kind)
                results.append(scenario | {"load_at_start": quiet})
    rows = [summarize(r, baseline) for r in results]
    print(f"chat through Slack (HTTP events, native streaming, Slack's rate tiers in one workspace); "
          f"endpoint: {profile.describe()}")
    print_tables(rows, COLUMNS, RATIO_COLUMNS, baseline)
    for row in rows:
        print(f"{row['workspaces']} workspace(s), N={row['n']}: Slack calls per answer by method {row['calls_by_method']}")
    for result in results:
        print_counts(result["scenario"]["conversations"], result["bot"].get("warnings", {}), "warning")
        print_counts(result["scenario"]["conversations"], result["errors"], "error")
    data = {"quick": quick, "load_at_start": load, "profile": profile.recorded(),
            "rows": rows, "results": results, "baseline": baseline}
    write_results("slack", data, output)
    return data


def main(argv: list[str] | None = None) -> int:
    parser = script_arguments("python -m bench.slack", __doc__)
    parser.add_argument("--only", type=numbers, help="comma-separated N values to run (e.g. 50)")
    parser.add_argument("--workspaces", choices=("both", "many", "one"), default="both",
                        help="which rows: many workspaces (the bot's own costs), one (under Slack's tiers), both")
    return part_main(parser, argv, run, child_main)


if __name__ == "__main__":
    sys.exit(main())
