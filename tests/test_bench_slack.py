"""The Slack benchmark runs and reports: signed events in, Web API calls out, three processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quick_slack_benchmark_reports(tmp_path: Path) -> None:
    output = tmp_path / "slack.json"
    finished = subprocess.run(
        [sys.executable, "-m", "bench.slack", "--quick", "--output", str(output)],
        cwd=ROOT, capture_output=True, text=True, timeout=90, check=False,
    )
    assert finished.returncode == 0, finished.stderr
    assert "event→placeholder" in finished.stdout
    report = json.loads(output.read_text(encoding="utf-8"))
    for row, result in zip(report["rows"], report["results"]):
        spec = result["scenario"]
        assert row["answers"] == spec["conversations"] * spec["exchanges"] and row["errors"] == 0
        assert row["calls"] >= 2  # at least a placeholder and a final message per answer
        for record in result["records"]:
            assert record["sent"] < record["placeholder_at"] <= record["final_at"]
            assert record["first_token_at"] is not None  # the endpoint saw the tagged question
