"""The chat benchmark (and the baseline it is compared with) runs and reports; its speed is judged
in BENCHMARKS.md, not here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import QUICK_BENCH_SECONDS, quick_bench, run_module

pytestmark = pytest.mark.timeout(QUICK_BENCH_SECONDS + 30)


def test_quick_chat_benchmark_reports(tmp_path: Path) -> None:
    printed, report = quick_bench("chat", tmp_path)
    assert "overhead p50 ms" in printed and "÷ baseline" in printed
    assert report["quick"] is True and report["machine"]["nproc"]
    assert report["baseline"]["requests"] == 3 and report["baseline"]["latency_mean_s"] > 0
    for row, result in zip(report["rows"], report["results"]):
        spec = result["scenario"]
        assert row["errors"] == 0 and row["warnings"] == 0
        assert result["exchanges_done"] == spec["conversations"] * spec["exchanges"]
        assert 0 < row["efficiency"] <= 1.05
        assert row["redis_per_ex"] > 0 and row["rss_mb"] > 0
    # Every exchange (and each bot process's warm-up) reached the endpoint process.
    seen = sum(stats["requests"] for stats in report["endpoint"])
    assert seen == sum(r["exchanges_done"] + r["scenario"]["processes"] for r in report["results"])
    assert [row["procs"] for row in report["rows"] if row["scenario"] == "replicas"] == [2]


def test_bench_runner_runs_a_part_and_refuses_unknown_ones(tmp_path: Path) -> None:
    finished = run_module("bench", "--quick", "--output-dir", str(tmp_path), "baseline")
    assert finished.returncode == 0, finished.stderr
    assert "replies/s" in finished.stdout
    assert json.loads((tmp_path / "baseline.json").read_text(encoding="utf-8"))["requests"] == 3
    refused = run_module("bench", "--quick", "nonsense")
    assert refused.returncode == 2 and "unknown part" in refused.stderr
