"""The extraction benchmark runs and reports; its speed is judged in BENCHMARKS.md, not here."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import QUICK_BENCH_SECONDS, quick_bench

pytestmark = pytest.mark.timeout(QUICK_BENCH_SECONDS + 30)


def test_quick_benchmark_reports(tmp_path: Path) -> None:
    # A subprocess: the benchmark pins itself to one core, which must not outlive it.
    printed, report = quick_bench("extraction", tmp_path)
    assert "pages/s" in printed and "text PDF:" in printed
    assert report["quick"] is True and report["machine"]["python"]
    cases = {result["case"]: result for result in report["results"]}
    assert cases["pdf synthetic 30p"]["pages"] == 30
    for result in cases.values():
        assert result["seconds"] > 0 and result["pages"] >= result["files"] >= 1
    assert report["process_round_trip_seconds"] > 0
