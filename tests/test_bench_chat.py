"""The chat benchmark (and the baseline it is compared with) runs and reports; its speed is judged
in BENCHMARKS.md, not here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quick_chat_benchmark_reports(tmp_path: Path) -> None:
    output = tmp_path / "chat.json"
    finished = subprocess.run(
        [sys.executable, "-m", "bench.chat", "--quick", "--output", str(output)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )
    assert finished.returncode == 0, finished.stderr
    assert "overhead p50 ms" in finished.stdout and "÷ baseline" in finished.stdout
    report = json.loads(output.read_text(encoding="utf-8"))
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
    finished = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--output-dir", str(tmp_path), "baseline"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )
    assert finished.returncode == 0, finished.stderr
    assert "replies/s" in finished.stdout
    assert json.loads((tmp_path / "baseline.json").read_text(encoding="utf-8"))["requests"] == 3
    refused = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "nonsense"], cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert refused.returncode == 2 and "unknown part" in refused.stderr
