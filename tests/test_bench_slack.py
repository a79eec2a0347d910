"""The Slack benchmark runs and reports: signed events in, Web API calls out, three processes."""

from __future__ import annotations

from pathlib import Path

from tests.support import quick_bench


def test_quick_slack_benchmark_reports(tmp_path: Path) -> None:
    printed, report = quick_bench("slack", tmp_path, timeout=90)
    assert "event→placeholder" in printed
    for row, result in zip(report["rows"], report["results"]):
        spec = result["scenario"]
        assert row["answers"] == spec["conversations"] * spec["exchanges"] and row["errors"] == 0
        assert row["calls"] >= 2  # at least a placeholder and a final message per answer
        for record in result["records"]:
            assert record["sent"] < record["placeholder_at"] <= record["final_at"]
            assert record["first_token_at"] is not None  # the endpoint saw the tagged question
