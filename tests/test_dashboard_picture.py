"""The README's dashboard picture (bench/dashboard.py) puts every panel of the real Grafana
dashboard where Grafana would, and asks Prometheus what Grafana would ask: its variables filled,
its legends named. (Drawing it needs Prometheus and a bench run: `make dashboard`.)"""

from __future__ import annotations

import json

from bench.dashboard import DASHBOARD, GRID_COLUMNS, expand, grafana_variables, legend, overlaps, panels


def test_the_picture_lays_out_every_panel_of_the_dashboard_and_fills_grafanas_variables() -> None:
    layout = panels(json.loads(DASHBOARD.read_text(encoding="utf-8")))
    assert len(layout) == 11 and not overlaps(layout)
    assert all(0 <= p.x and p.x + p.w <= GRID_COLUMNS and p.targets for p in layout)

    variables = grafana_variables(step_seconds=2, scrape_seconds=1)
    assert all("$" not in expand(t.expr, variables) for p in layout for t in p.targets)
    # $__rate_interval is max($__interval + scrape interval, 4 × scrape interval), as Grafana has it
    assert expand("rate(x[$__rate_interval])", variables) == "rate(x[4s])"
    assert expand("rate(x[${__interval}]) by ($job)", variables) == "rate(x[2s]) by (bot)"
    assert expand("rate(x[$__rate_interval])", grafana_variables(30, 15)) == "rate(x[60s])"
    assert legend("{{platform}} {{method}}", {"platform": "slack", "method": "chat.update"}) == "slack chat.update"
