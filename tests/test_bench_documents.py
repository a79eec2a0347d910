"""The documents benchmark runs and reports: extraction (reused) and a map-reduce summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import QUICK_BENCH_SECONDS, quick_bench

pytestmark = pytest.mark.timeout(QUICK_BENCH_SECONDS + 30)


def test_quick_documents_benchmark_reports(tmp_path: Path) -> None:
    printed, report = quick_bench("documents", tmp_path)
    assert "text PDF:" in printed and "÷ ideal" in printed
    assert (tmp_path / "extraction.json").exists()
    (row,) = report["rows"]
    (summary,) = report["summaries"]
    assert summary["pages"] == 30 and len(summary["levels"]) >= 2  # it really went map-reduce
    assert row["calls"] == sum(summary["levels"]) == row["endpoint_calls"]
    assert row["ideal"] > 0 and row["summarize"] > 0
