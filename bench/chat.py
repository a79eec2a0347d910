"""Chat load through the core: N conversations at once, each several exchanges with a growing
history, against the endpoint process and a real Redis.

    python -m bench.chat                  # full run: 1, 10, 50, 200, 1000 at once + overhead runs
    python -m bench.chat --quick          # seconds: proves it runs and reports
    python -m bench.chat --providers bedrock,openai   # only the rows of those model providers

Each scenario runs in a fresh bot process (`--child`), so its peak RSS is its own. Reported per
scenario: per-reply overhead (end-to-end time of `ChatEngine.stream_reply` minus the endpoint's own
time), time to first streamed text minus the endpoint's time to first token, efficiency (ideal
total time / actual total time), Redis commands per exchange (INFO commandstats delta), peak RSS
and CPU time of the bot process; and the same workload's figures for the original design
(bench.baseline) as ratios."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import random
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from bench import baseline as original
from bench.common import (
    RssSampler, WarningCounter, bot_settings, command_delta, command_stats, ms, numbers, part_main, peak_rss_mb,
    print_counts, print_tables, ratio, redis_for_bench, run_in_bot_process, script_arguments, send_result, spread,
    wait_for_quiet, words, write_results,
)
from bench.endpoint import FULL_PROFILE, QUICK_PROFILE, EndpointProcess, Profile, provider_settings
from bot import eventloop

# One sentence of an ordinary Korean question, repeated to size a message in tokens.
_QUESTION = "이번 분기 팀 회의에서 정리한 일정과 담당자를 다시 알려주실 수 있나요? "


@dataclass
class Scenario:
    name: str
    conversations: int
    exchanges: int
    profile: Profile
    history: int = 0            # exchanges seeded into memory before the run (window is 4)
    prompt_tokens: int = 0      # size the question so the prompt is about this long (0: short question)
    arrival: str = "spread"     # "spread": starts spread over one endpoint time; "burst": all at t=0
    max_concurrency: int = 0    # LLM_MAX_CONCURRENCY; 0: max(64, conversations per process)
    processes: int = 1          # bot processes sharing the conversations (and Redis), started together
    provider: str = "sagemaker"  # whose wire protocol the endpoint process speaks (LLM_PROVIDER)

    @property
    def concurrency(self) -> int:
        return self.max_concurrency or max(64, math.ceil(self.conversations / self.processes))


# ------------------------------------------------------------------ the bot process

def question(counter: Any, tokens: int) -> str:
    """A Korean question of about `tokens` Llama 3 tokens (at least one sentence)."""
    return question_chars(max(len(_QUESTION), round(tokens * len(_QUESTION) / max(1, counter.count(_QUESTION)))))


def question_chars(chars: int) -> str:
    return (_QUESTION * (chars // len(_QUESTION) + 1))[:chars].strip()


def sized_question(engine: Any, target: int, history: int, answer: str) -> str:
    """The question that makes the prompt about `target` tokens when the conversation's history
    holds `history` earlier exchanges of this same question and `answer` (the steady state of a
    run), measured with the real tokenizer through the engine's own budget."""
    from bot.core.memory import Exchange
    from bot.core.prompt import system_prompt

    system = system_prompt(engine.language, engine.settings.bot_system_prompt)

    def size(chars: int) -> int:
        text = "[q000000-00] " + question_chars(chars)
        turns = engine.budget.fit(system, [Exchange(text, answer)] * history, text)
        return engine.budget.count(turns)

    low, high = 1, 4 * max(2, target)
    while low < high:  # fewest characters whose prompt reaches the target
        mid = (low + high) // 2
        if size(mid) < target:
            low = mid + 1
        else:
            high = mid
    return question_chars(low)


async def _run_scenario(
    spec: Scenario, endpoint_url: str, redis_url: str, part: int = 0, start_at: float | None = None
) -> dict[str, Any]:
    """Conversations `part`, `part + processes`, ... of the scenario; with `start_at` (a
    CLOCK_MONOTONIC time, shared by every process on the machine) they start then, so that
    several bot processes run one scenario together."""
    from bot.cli import settle_heap
    from bot.core.budget import Budget
    from bot.core.conversation import ConversationKey
    from bot.core.engine import ChatEngine
    from bot.core.memory import Exchange
    from bot.core.prompt import system_prompt

    prefix = f"bench:{uuid.uuid4().hex[:8]}"
    settings = bot_settings(endpoint_url, redis_url, prefix, spec.concurrency, **provider_settings(spec.provider, endpoint_url))
    engine = ChatEngine.from_settings(settings)
    settle_heap()  # as `python -m bot` does for a serving process
    profile = spec.profile
    answer = "".join(profile.token_list())
    window = engine.settings.memory_window
    steady = min(window, spec.history or spec.exchanges - 1)
    text = sized_question(engine, spec.prompt_tokens, steady, answer) if spec.prompt_tokens else question(engine.tokens, 30)
    # Every question carries a tag ("[q12-3]"): the endpoint process reports its own times per tag.
    tagged = "[q000000-00] " + text
    budget: Budget = engine.budget
    prompt_tokens = budget.count(budget.fit(system_prompt(engine.language), [Exchange(tagged, answer)] * steady, tagged))

    try:
        # Warm-up on a key of its own: botocore's service model, the first connection, the tokenizer.
        await engine.reply(ConversationKey("bench", (prefix, "warm-up")), text)
        numbers = range(part, spec.conversations, spec.processes)
        keys = [ConversationKey("bench", (prefix, str(i))) for i in numbers]
        for i, key in zip(numbers, keys):
            for n in range(spec.history):  # a history of the same shape as the run's own exchanges
                async with engine.memory.turn(key) as turn:
                    turn.remember(Exchange(f"[q{i}-h{n}] {text}", answer))

        rng = random.Random(7)
        period = profile.seconds if spec.arrival == "spread" else 0.0
        every = sorted(rng.uniform(0, period) for _ in range(spec.conversations)) if period else [0.0] * spec.conversations
        offsets = [every[i] for i in numbers]
        records: list[tuple[str, float, float, float]] = []  # (tag, start, first text, end)
        errors: dict[str, int] = {}

        async def conversation(number: int, key: Any, offset: float, started: float) -> None:
            await asyncio.sleep(max(0.0, started + offset - time.monotonic()))
            for index in range(spec.exchanges):
                tag = f"[q{number}-{index}]"
                t0 = time.monotonic()
                first = 0.0
                try:
                    async for _delta in engine.stream_reply(key, f"{tag} {text}"):
                        if not first:
                            first = time.monotonic()
                except Exception as error:  # counted, not fatal: "with no errors" is a result
                    errors[type(error).__name__] = errors.get(type(error).__name__, 0) + 1
                    continue
                records.append((tag, t0, first, time.monotonic()))

        before = command_stats(redis_url)
        cpu_before = os.times()
        await asyncio.sleep(max(0.0, (start_at or 0.0) - time.monotonic()))
        with RssSampler() as rss:
            started = start_at or time.monotonic()
            await asyncio.gather(*(conversation(i, k, o, started) for i, k, o in zip(numbers, keys, offsets)))
            actual = time.monotonic() - started
        cpu = os.times()
        commands = command_delta(before, command_stats(redis_url))
    finally:
        await engine.aclose()

    done = len(records)
    ideal = (max(every) if every else 0.0) + spec.exchanges * profile.seconds
    cpu_seconds = (cpu.user - cpu_before.user) + (cpu.system - cpu_before.system)
    return {
        "scenario": asdict(spec) | {"concurrency": spec.concurrency},
        "prompt_tokens_last": prompt_tokens,
        "question_tokens": engine.tokens.count(tagged),
        "exchanges_done": done,
        "errors": errors,
        "ideal_seconds": ideal,
        "actual_seconds": actual,
        "efficiency": ideal / actual if actual else 0.0,
        # Against the profile's nominal times; the parent replaces these with the endpoint's
        # measured own time per exchange (bench.endpoint's timeline), see `charge`.
        "overhead_nominal_ms": [round(ms(end - t0 - profile.seconds), 3) for _, t0, _, end in records],
        "records": records,
        "redis_commands": commands,
        "redis_commands_per_exchange": sum(commands.values()) / done if done else 0.0,
        "peak_rss_mb": rss.peak_mb,
        "vm_hwm_mb": peak_rss_mb(),
        "peak_threads": rss.peak_threads,
        "cpu_seconds": cpu_seconds,
        "cpu_ms_per_exchange": ms(cpu_seconds / done) if done else 0.0,
    }


def child_main(payload: str) -> int:
    job = json.loads(payload)
    results = []
    for raw in job["scenarios"]:
        spec = Scenario(**(raw | {"profile": Profile(**raw["profile"])}))
        counter = WarningCounter()
        logging.getLogger().addHandler(counter)
        try:
            endpoint = job["endpoints"][spec.provider]
            result = eventloop.run(_run_scenario(spec, endpoint, job["redis"], job.get("part", 0), job.get("start_at")))
        finally:
            logging.getLogger().removeHandler(counter)
        results.append(result | {"warnings": counter.counts})
    send_result(results)
    return 0


# ------------------------------------------------------------------ the parent

def run_in_bot_processes(job: dict[str, Any], processes: int, setup_seconds: float) -> list[dict[str, Any]]:
    """The job in one bot process, or shared by several started together (one scenario per job);
    `setup_seconds` leaves every process time to import, warm up and seed Redis first."""
    if processes == 1:
        return run_in_bot_process("bench.chat", job)
    start_at = time.monotonic() + setup_seconds
    jobs = [job | {"part": part, "start_at": start_at} for part in range(processes)]
    with ThreadPoolExecutor(max_workers=processes) as pool:
        parts = [done[0] for done in pool.map(lambda j: run_in_bot_process("bench.chat", j), jobs)]
    return [merge_parts(parts)]


def merge_parts(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One scenario's result from its processes: they started at the same instant, so the run
    lasted as long as the slowest; memory and CPU add up."""
    merged = dict(parts[0])
    done = sum(p["exchanges_done"] for p in parts)
    actual = max(p["actual_seconds"] for p in parts)
    cpu = sum(p["cpu_seconds"] for p in parts)
    # Each process counted every command Redis ran during the (common) run, not just its own.
    commands = max(parts, key=lambda p: sum(p["redis_commands"].values()))["redis_commands"]
    merged |= {
        "exchanges_done": done,
        "errors": _added([p["errors"] for p in parts]),
        "warnings": _added([p.get("warnings", {}) for p in parts]),
        "actual_seconds": actual,
        "efficiency": parts[0]["ideal_seconds"] / actual if actual else 0.0,
        "overhead_nominal_ms": [v for p in parts for v in p["overhead_nominal_ms"]],
        "records": [r for p in parts for r in p["records"]],
        "redis_commands": commands,
        "redis_commands_per_exchange": sum(commands.values()) / done if done else 0.0,
        "peak_rss_mb": sum(p["peak_rss_mb"] for p in parts),
        "vm_hwm_mb": sum(p["vm_hwm_mb"] for p in parts),
        "peak_threads": sum(p["peak_threads"] for p in parts),
        "cpu_seconds": cpu,
        "cpu_ms_per_exchange": ms(cpu / done) if done else 0.0,
    }
    return merged


def _added(counts: list[dict[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for each in counts:
        for name, n in each.items():
            total[name] = total.get(name, 0) + n
    return total


def charge(result: dict[str, Any], timeline: dict[str, list[float]]) -> None:
    """Per-reply overhead = end-to-end time minus the endpoint's own time for that same exchange
    (arrival of the request to its last byte, as the endpoint process measured it), and time to
    first text minus the endpoint's own time to its first token. Measured rather than nominal, so
    that the endpoint process's own lateness under load is not charged to the bot."""
    over, first, missing = [], [], 0
    for tag, t0, shown, end in result["records"]:
        times = timeline.get(tag)
        if not times or times[1] is None:
            missing += 1
            continue
        received, first_token, done = times
        over.append(round(ms((end - t0) - (done - received)), 3))
        first.append(round(ms((shown - t0) - (first_token - received)), 3))
    result["overhead_ms"], result["first_text_ms"], result["unmatched"] = over, first, missing


def scenarios(quick: bool) -> list[Scenario]:
    if quick:
        p = QUICK_PROFILE
        return [
            Scenario("load", 1, 2, p),
            Scenario("load", 5, 2, p),
            Scenario("overhead", 3, 2, p, history=4, prompt_tokens=400),
            Scenario("replicas", 4, 2, p, processes=2),
            *(Scenario("load", 3, 2, p, provider=provider) for provider in ("bedrock", "openai")),
        ]
    p = FULL_PROFILE
    load = [Scenario("load", n, 5, p) for n in (1, 10, 50, 200, 1000)]
    # The overhead targets: history of 4 exchanges, 1,000-token prompts; one user asks 20 times.
    overhead = [Scenario("overhead", 1, 20, p, history=4, prompt_tokens=1000),
                Scenario("overhead", 50, 5, p, history=4, prompt_tokens=1000)]
    burst = [Scenario("burst", n, 5, p, arrival="burst") for n in (50, 200, 1000)]
    # Memory with 1,000 LLM calls really in flight at once: an 8 s wait for the first token lets
    # every call be sent and held open before tokens arrive (at 2 s, the bot's CPU caps how many
    # are open together; see BENCHMARKS.md).
    inflight = [Scenario("in-flight", 1000, 1, Profile(ttft=8.0, tps=20.0, tokens=31), arrival="burst")]
    # One process tops out near one core; two bot processes on this 2-core machine, sharing Redis
    # as replicas do, answer the same 1,000 conversations.
    replicas = [Scenario("replicas", 1000, 5, p, processes=2), Scenario("replicas", 1000, 5, p, arrival="burst", processes=2)]
    # The same method for the other providers: the overhead target's workload and 200 at once.
    providers = [
        scenario
        for provider in ("bedrock", "openai")
        for scenario in (Scenario("overhead", 50, 5, p, history=4, prompt_tokens=1000, provider=provider),
                         Scenario("load", 200, 5, p, provider=provider))
    ]  # fmt: skip
    return load + overhead + burst + inflight + replicas + providers


def summarize(result: dict[str, Any], baseline: dict[str, Any] | None) -> dict[str, Any]:
    spec = result["scenario"]
    over, first = spread(result["overhead_ms"]), spread(result["first_text_ms"])
    row = {
        "scenario": spec["name"],
        "provider": spec.get("provider", "sagemaker"),
        "n": spec["conversations"],
        "procs": spec.get("processes", 1),
        "arrival": spec["arrival"],
        "prompt": result["prompt_tokens_last"],
        "done": result["exchanges_done"],
        "unmatched": result.get("unmatched", 0),
        "errors": sum(result["errors"].values()),
        "warnings": sum(result.get("warnings", {}).values()),
        "over_p50": over["p50"], "over_p95": over["p95"], "over_p99": over["p99"],
        "first_p50": first["p50"], "first_p99": first["p99"],
        "efficiency": result["efficiency"],
        "redis_per_ex": result["redis_commands_per_exchange"],
        "rss_mb": result["peak_rss_mb"],
        "cpu_ms": result["cpu_ms_per_exchange"],
        "load": (result.get("load_at_start") or [math.nan])[0],
    }
    row["in_flight"] = result.get("endpoint_max_concurrent")
    if baseline and baseline["profile"]["seconds"] == spec["profile"]["ttft"] + (spec["profile"]["tokens"] - 1) / spec["profile"]["tps"]:
        b_over = spread(baseline["overhead_ms"])
        # The original answered one request at a time: the same workload takes every exchange's
        # full latency back to back.
        b_total = spec["conversations"] * spec["exchanges"] * baseline["latency_mean_s"]
        row |= {
            "x_over_p50": ratio(row["over_p50"], b_over["p50"]),
            "x_over_p99": ratio(row["over_p99"], b_over["p99"]),
            "x_first": ratio(first["p50"] + ms(result["scenario"]["profile"]["ttft"]), ms(baseline["latency_mean_s"])),
            "x_time": ratio(result["actual_seconds"], b_total),
            "x_rss": ratio(row["rss_mb"], baseline["peak_rss_mb"]),
        }
    return row


COLUMNS = [
    ("scenario", "scenario", ""), ("provider", "provider", ""), ("n", "N", "d"), ("procs", "bot procs", "d"), ("arrival", "arrival", ""), ("prompt", "prompt tok", "d"),
    ("done", "replies", "d"), ("errors", "errors", "d"), ("warnings", "warnings", "d"),
    ("over_p50", "overhead p50 ms", ".1f"), ("over_p95", "p95", ".1f"), ("over_p99", "p99", ".1f"),
    ("first_p50", "1st text-TTFT p50 ms", ".1f"), ("first_p99", "p99", ".1f"),
    ("efficiency", "efficiency", ".3f"), ("redis_per_ex", "redis cmds/ex", ".1f"), ("in_flight", "max in flight", "d"),
    ("rss_mb", "peak RSS MB", ".0f"), ("cpu_ms", "CPU ms/ex", ".2f"), ("load", "load", ".2f"),
]
RATIO_COLUMNS = [
    ("scenario", "scenario", ""), ("provider", "provider", ""), ("n", "N", "d"),
    ("x_over_p50", "overhead p50 ÷ baseline", ".3f"), ("x_over_p99", "overhead p99 ÷ baseline", ".3f"),
    ("x_first", "time to 1st text ÷ baseline", ".3f"), ("x_time", "total time ÷ baseline", ".5f"),
    ("x_rss", "RSS ÷ baseline", ".2f"),
]


def run(quick: bool, output: Any = None, baseline: dict[str, Any] | None = None, only: list[int] | None = None,
        names: list[str] | None = None, providers: list[str] | None = None) -> dict[str, Any]:
    """All chat scenarios; `baseline` (bench.baseline.measure for the same profile) adds ratios."""
    chosen = [
        s for s in scenarios(quick)
        if (not only or s.conversations in only) and (not names or s.name in names)
        and (not providers or s.provider in providers)
    ]  # fmt: skip
    profile = chosen[0].profile
    load = None if quick else wait_for_quiet()
    results: list[dict[str, Any]] = []  # each records the load it started under
    endpoint_stats: list[dict[str, Any]] = []
    protocols = list(dict.fromkeys(["sagemaker", *(s.provider for s in chosen)]))
    with redis_for_bench() as redis_url, contextlib.ExitStack() as stack:
        endpoints = {name: stack.enter_context(EndpointProcess(profile, name)) for name in protocols}
        if baseline is None:
            baseline = original.measure(endpoints["sagemaker"], redis_url, profile, requests=3 if quick else 10)
        for each in endpoints.values():
            each.stats()
            each.timeline()
        # A fresh bot process per full scenario; quick ones share one, except those that need several.
        single = [s for s in chosen if s.processes == 1]
        shared = [single] if quick and single else [[s] for s in single]
        groups = shared + [[s] for s in chosen if s.processes > 1]
        for group in groups:
            # Before every full scenario, not just the first: the cores are shared, and someone
            # else's test run starting mid-way would be measured as our overhead.
            quiet = None if quick else wait_for_quiet()
            used = [endpoints[name] for name in dict.fromkeys(s.provider for s in group)]
            for endpoint in used:
                endpoint.set_profile(group[0].profile)
            job = {"endpoints": {name: e.url for name, e in endpoints.items()}, "redis": redis_url,
                   "scenarios": [asdict(s) for s in group]}  # fmt: skip
            done = run_in_bot_processes(job, group[0].processes, setup_seconds=8.0 if quick else 20.0)
            for result in done:
                result["load_at_start"] = quiet
            timeline = {tag: times for endpoint in used for tag, times in endpoint.timeline().items()}
            for result in done:
                charge(result, timeline)
            stats = [endpoint.stats() for endpoint in used]
            for result in done:
                result["endpoint_max_concurrent"] = max(each["max_concurrent"] for each in stats)
            results += done
            endpoint_stats += stats
    rows = [summarize(r, baseline) for r in results]
    print(f"chat through the core; endpoint: {profile.describe()}")
    print_tables(rows, COLUMNS, RATIO_COLUMNS, baseline)
    for result in results:
        print_counts(result["scenario"]["conversations"], result.get("warnings", {}), "warning")
    lateness = [s["lateness_ms"]["p99"] for s in endpoint_stats]
    print(f"endpoint process lateness p99 per run (ms): {', '.join(f'{v:.1f}' for v in lateness)}")
    data = {"quick": quick, "load_at_start": load, "profile": profile.recorded(),
            "rows": rows, "results": results, "endpoint": endpoint_stats, "baseline": baseline}
    write_results("chat", data, output)
    return data


def main(argv: list[str] | None = None) -> int:
    parser = script_arguments("python -m bench.chat", __doc__)
    parser.add_argument("--only", type=numbers, help="comma-separated N values to run (e.g. 200,1000)")
    parser.add_argument("--scenarios", dest="names", type=words,
                        help="comma-separated scenario names to run (load, overhead, burst, in-flight, replicas)")
    parser.add_argument("--providers", type=words, help="comma-separated providers to run (sagemaker, bedrock, openai)")
    return part_main(parser, argv, run, child_main)


if __name__ == "__main__":
    sys.exit(main())
