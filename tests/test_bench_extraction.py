"""The extraction benchmark runs and reports; its speed is judged in BENCHMARKS.md, not here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quick_benchmark_reports(tmp_path: Path) -> None:
    output = tmp_path / "extraction.json"
    # A subprocess: the benchmark pins itself to one core, which must not outlive it.
    finished = subprocess.run(
        [sys.executable, "-m", "bench.extraction", "--quick", "--output", str(output)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert finished.returncode == 0, finished.stderr
    assert "pages/s" in finished.stdout and "text PDF:" in finished.stdout
    report = json.loads(output.read_text(encoding="utf-8"))
    assert report["quick"] is True and report["machine"]["python"]
    cases = {result["case"]: result for result in report["results"]}
    assert cases["pdf synthetic 30p"]["pages"] == 30
    for result in cases.values():
        assert result["seconds"] > 0 and result["pages"] >= result["files"] >= 1
    assert report["worker_round_trip_seconds"] > 0
