"""The documents benchmark runs and reports: extraction (reused) and a map-reduce summary."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quick_documents_benchmark_reports(tmp_path: Path) -> None:
    output = tmp_path / "documents.json"
    finished = subprocess.run(
        [sys.executable, "-m", "bench.documents", "--quick", "--output", str(output)],
        cwd=ROOT, capture_output=True, text=True, timeout=90, check=False,
    )
    assert finished.returncode == 0, finished.stderr
    assert "text PDF:" in finished.stdout and "÷ ideal" in finished.stdout
    assert (tmp_path / "extraction.json").exists()
    report = json.loads(output.read_text(encoding="utf-8"))
    (row,) = report["rows"]
    (summary,) = report["summaries"]
    assert summary["pages"] == 30 and len(summary["levels"]) >= 2  # it really went map-reduce
    assert row["calls"] == sum(summary["levels"]) == row["endpoint_calls"]
    assert row["ideal"] > 0 and row["summarize"] > 0
