"""The Slack benchmark runs and reports: signed events in, Web API calls out, three processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import QUICK_BENCH_SECONDS, quick_bench

pytestmark = pytest.mark.timeout(QUICK_BENCH_SECONDS + 30)


def test_quick_slack_benchmark_reports(tmp_path: Path) -> None:
    printed, report = quick_bench("slack", tmp_path)
    assert "event→placeholder" in printed
    for row, result in zip(report["rows"], report["results"]):
        spec = result["scenario"]
        assert row["answers"] == spec["conversations"] * spec["exchanges"] and row["errors"] == 0
        assert row["calls"] >= 2  # at least a placeholder and a final message per answer
        for record in result["records"]:
            assert record["sent"] < record["placeholder_at"] <= record["final_at"]
            assert record["first_token_at"] is not None  # the endpoint saw the tagged question
