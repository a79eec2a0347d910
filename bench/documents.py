"""Documents: extraction speed per format (bench.extraction, reused as is) and the summary of a
300-page Korean PDF through the core, against the endpoint process.

    python -m bench.documents [--quick]

For the summary: how many LLM calls at which levels (the Summarizer's plan, checked against what
the endpoint received), and the wall time against the ideal for the configured concurrency: each
level's calls run in ceil(calls / LLM_MAX_CONCURRENCY) rounds of one endpoint time, levels one after
another. Timed apart: extraction, planning (tokenizing and chunking the whole text) and the LLM
calls, so a miss can be put where it belongs."""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import sys
import time
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.common import (
    RESULTS, ROOT, RssSampler, bot_settings, part_main, ratio, redis_for_bench, run_in_bot_process, script_arguments,
    send_result, table, wait_for_quiet, write_results,
)
from bench.endpoint import EndpointProcess, Profile

# A map call writes a partial summary of up to 512 tokens: one second to the first token, then
# 40 tokens/s for a 320-token partial (9 s). The final call gets the same time.
SUMMARY_PROFILE = Profile(ttft=1.0, tps=40.0, tokens=321)
QUICK_SUMMARY_PROFILE = Profile(ttft=0.02, tps=1000.0, tokens=11)
CONCURRENCIES = (64, 8)  # the default LLM_MAX_CONCURRENCY, and a small endpoint's


def ideal_seconds(levels: list[int], concurrency: int, call_seconds: float) -> float:
    return sum(math.ceil(calls / concurrency) for calls in levels) * call_seconds


async def _summarize(job: dict[str, Any]) -> dict[str, Any]:
    from bot.core.conversation import ConversationKey
    from bot.cli import settle_heap
    from bot.core.engine import ChatEngine
    from bot.core.summary import Summarizer
    from fakes.documents import korean_pdf

    profile = Profile(**job["profile"])
    data = korean_pdf(job["pages"])
    settings = bot_settings(job["endpoint"], job["redis"], f"bench:{uuid.uuid4().hex[:8]}", job["concurrency"])
    engine = ChatEngine.from_settings(settings)
    settle_heap()  # as `python -m bot` does for a serving process
    key = ConversationKey("bench", ("documents", uuid.uuid4().hex[:8]))
    try:
        await engine.reply(ConversationKey("bench", ("warm-up",)), "안녕하세요")  # first connection, models
        started = time.perf_counter()
        document = await engine.read_document(data, "report.pdf")
        extracted = time.perf_counter()
        summarizer = Summarizer(engine.llm, engine.budget, engine.language)
        plan = summarizer.plan(document.text)
        planned = time.perf_counter()
        steps: list[tuple[int, int, float]] = []

        async def progress(done: int, total: int) -> None:
            steps.append((done, total, time.perf_counter()))

        with RssSampler() as rss:
            call_started = time.perf_counter()
            summary = await summarizer.summarize(document.text, "report.pdf", progress)
            finished = time.perf_counter()
        # The whole path a user takes (extract, store, plan, summarize, remember), timed once more.
        whole_started = time.perf_counter()
        await engine.summarize_document(key, data, "report.pdf")
        whole = time.perf_counter() - whole_started
    finally:
        await engine.aclose()
    # summarize() plans again inside; that time is counted in the LLM phase and reported apart.
    return {
        "pages": document.pages,
        "characters": len(document.text),
        "tokens": engine.tokens.count(document.text),
        "chunks": len(plan.chunks),
        "group_size": plan.group_size,
        "levels": plan.levels,
        "planned_calls": plan.total_calls,
        "concurrency": job["concurrency"],
        "extract_seconds": extracted - started,
        "plan_seconds": planned - extracted,
        "summarize_seconds": finished - call_started,
        "end_to_end_seconds": whole,
        "summary_chars": len(summary),
        "progress_steps": len(steps),
        "peak_rss_mb": rss.peak_mb,
        "call_seconds": profile.seconds,
    }


def child_main(payload: str) -> int:
    send_result(asyncio.run(_summarize(json.loads(payload))))
    return 0


def extraction(quick: bool, output: Path) -> dict[str, Any]:
    """bench.extraction in its own process (it pins itself to one core), its table echoed."""
    finished = subprocess.run(
        [sys.executable, "-m", "bench.extraction", *(["--quick"] if quick else []), "--output", str(output)],
        cwd=ROOT, capture_output=True, text=True, timeout=900, check=False,
    )
    if finished.returncode != 0:
        raise RuntimeError(f"bench.extraction failed:\n{finished.stderr[-3000:]}")
    print(finished.stdout.rstrip())
    return json.loads(output.read_text(encoding="utf-8"))


COLUMNS = [
    ("concurrency", "LLM_MAX_CONCURRENCY", "d"), ("pages", "pages", "d"), ("tokens", "doc tokens", "d"),
    ("levels", "calls per level", ""), ("calls", "LLM calls", "d"), ("endpoint_calls", "endpoint saw", "d"),
    ("extract", "extract s", ".2f"), ("plan", "plan s", ".2f"), ("summarize", "summarize s", ".2f"),
    ("ideal", "ideal s", ".2f"), ("x_ideal", "÷ ideal", ".3f"), ("end_to_end", "whole path s", ".2f"),
    ("x_baseline", "÷ one-at-a-time", ".3f"),
]


def run(quick: bool, output: Path | None = None) -> dict[str, Any]:
    load = None if quick else wait_for_quiet()
    folder = output.parent if output else RESULTS
    extracted = extraction(quick, folder / "extraction.json")
    profile = QUICK_SUMMARY_PROFILE if quick else SUMMARY_PROFILE
    pages = 30 if quick else 300
    rows, results = [], []
    with redis_for_bench() as redis_url, EndpointProcess(profile) as endpoint:
        for concurrency in (CONCURRENCIES[:1] if quick else CONCURRENCIES):
            quiet = None if quick else wait_for_quiet()
            endpoint.stats()
            job = {"endpoint": endpoint.url, "redis": redis_url, "profile": asdict(profile),
                   "pages": pages, "concurrency": concurrency}
            result = run_in_bot_process("bench.documents", job)
            seen = endpoint.stats()
            result["endpoint"] = seen
            result["load_at_start"] = quiet
            results.append(result)
            ideal = ideal_seconds(result["levels"], concurrency, profile.seconds)
            # The original design answered one call at a time (and read only ~3,000 characters);
            # one-at-a-time is what the same plan would cost without concurrency.
            serial = result["planned_calls"] * profile.seconds
            rows.append({
                "concurrency": concurrency, "pages": result["pages"], "tokens": result["tokens"],
                "levels": "+".join(str(n) for n in result["levels"]), "calls": result["planned_calls"],
                # warm-up (1) + summarize() + the whole-path run, which makes the same calls again
                "endpoint_calls": (seen["requests"] - 1) // 2,
                "extract": result["extract_seconds"], "plan": result["plan_seconds"],
                "summarize": result["summarize_seconds"], "ideal": ideal,
                "x_ideal": ratio(result["summarize_seconds"], ideal), "end_to_end": result["end_to_end_seconds"],
                "x_baseline": ratio(result["summarize_seconds"], serial),
            })
    print(f"\nsummary of a {pages}-page Korean PDF; endpoint per call: {profile.describe()}")
    print(table(rows, COLUMNS))
    pdf = extracted["results"][0]
    data = {"quick": quick, "load_at_start": load, "profile": profile.recorded(),
            "extraction": extracted, "text_pdf_pages_per_second": pdf["pages_per_second"],
            "rows": rows, "summaries": results}
    write_results("documents", data, output)
    return data


def main(argv: list[str] | None = None) -> int:
    return part_main(script_arguments("python -m bench.documents", __doc__), argv, run, child_main)


if __name__ == "__main__":
    sys.exit(main())
