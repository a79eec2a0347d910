"""The documents benchmark runs and reports: extraction (bench.extraction, run by it as is) and a
map-reduce summary. Speeds are judged in BENCHMARKS.md, not here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import QUICK_BENCH_SECONDS, quick_bench

pytestmark = pytest.mark.timeout(QUICK_BENCH_SECONDS + 30)


def test_quick_documents_benchmark_reports_extraction_and_the_summary(tmp_path: Path) -> None:
    # Subprocesses: bench.extraction pins itself to one core, which must not outlive it.
    printed, report = quick_bench("documents", tmp_path)
    assert "pages/s" in printed and "text PDF:" in printed and "÷ ideal" in printed

    extraction = json.loads((tmp_path / "extraction.json").read_text(encoding="utf-8"))
    assert extraction["quick"] is True and extraction["machine"]["python"]
    cases = {result["case"]: result for result in extraction["results"]}
    assert cases["pdf synthetic 30p"]["pages"] == 30
    for result in cases.values():
        assert result["seconds"] > 0 and result["pages"] >= result["files"] >= 1
    assert extraction["process_round_trip_seconds"] > 0

    (row,) = report["rows"]
    (summary,) = report["summaries"]
    assert summary["pages"] == 30 and len(summary["levels"]) >= 2  # it really went map-reduce
    assert row["calls"] == sum(summary["levels"]) == row["endpoint_calls"]
    assert row["ideal"] > 0 and row["summarize"] > 0
