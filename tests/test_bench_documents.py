"""The documents benchmark runs and reports: extraction (reused) and a map-reduce summary."""

from __future__ import annotations

from pathlib import Path

from tests.support import quick_bench


def test_quick_documents_benchmark_reports(tmp_path: Path) -> None:
    printed, report = quick_bench("documents", tmp_path, timeout=90)
    assert "text PDF:" in printed and "÷ ideal" in printed
    assert (tmp_path / "extraction.json").exists()
    (row,) = report["rows"]
    (summary,) = report["summaries"]
    assert summary["pages"] == 30 and len(summary["levels"]) >= 2  # it really went map-reduce
    assert row["calls"] == sum(summary["levels"]) == row["endpoint_calls"]
    assert row["ideal"] > 0 and row["summarize"] > 0
