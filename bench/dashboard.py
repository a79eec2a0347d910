"""`python -m bench.dashboard`: the Grafana dashboard (deploy/grafana/bot-dashboard.json) as it
looks after a short real run, for the README (docs/dashboard.png).

The bot (`python -m bot slack`, Socket Mode, METRICS_PORT set) answers people in a few DMs through
fakes/slack.py, with the fake SageMaker endpoint (a few throttled and failed model calls among
them), a real Redis, a few documents (PDF, DOCX, XLSX) and a couple of Slack 429s. A real
Prometheus (Debian's `prometheus`) scrapes it every second. After the run, every panel's query is
evaluated as the dashboard writes it, through Prometheus's HTTP API (query_range), and the panels
are drawn with matplotlib where the dashboard's grid (gridPos) puts them, with their titles,
units and legends. Grafana sends the same queries to the same API.

    python -m bench.dashboard                        # writes docs/dashboard.png (~4 minutes)
    python -m bench.dashboard --quick --output /tmp/dashboard.png

Exit codes: 0 every query returned data; 1 a query failed or returned nothing (named: a finding
about the dashboard); 2 Prometheus is not installed."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import ROOT, redis_for_bench, write_results

DASHBOARD = ROOT / "deploy" / "grafana" / "bot-dashboard.json"
SCRAPE_SECONDS = 1
STEP_SECONDS = 2
GRID_COLUMNS = 24  # Grafana's grid is 24 columns wide; a height unit is 30 px
QUESTIONS = [
    "다음 주 회의 안건을 정리해 줘.", "이 오류 메시지가 무슨 뜻이야?", "고객에게 보낼 사과 메일 초안을 써 줘.",
    "파이썬에서 비동기 함수를 테스트하는 방법은?", "분기 매출 보고서의 핵심을 세 줄로 요약해 줘.",
    "Explain the difference between a process and a thread.",
]


# ------------------------------------------------------------------ the dashboard as Grafana reads it

@dataclass(frozen=True)
class Target:
    ref: str
    expr: str
    legend: str


@dataclass(frozen=True)
class Panel:
    title: str
    kind: str
    unit: str
    x: int
    y: int
    w: int
    h: int
    targets: tuple[Target, ...]


def panels(dashboard: dict[str, Any]) -> list[Panel]:
    """The dashboard's panels with their place on the grid, unit and queries."""
    return [
        Panel(
            title=p["title"], kind=p["type"], unit=p.get("fieldConfig", {}).get("defaults", {}).get("unit", "short"),
            x=p["gridPos"]["x"], y=p["gridPos"]["y"], w=p["gridPos"]["w"], h=p["gridPos"]["h"],
            targets=tuple(Target(t["refId"], t["expr"], t.get("legendFormat", "")) for t in p["targets"]),
        )
        for p in dashboard["panels"]
    ]


def grafana_variables(step_seconds: int, scrape_seconds: int) -> dict[str, str]:
    """What Grafana puts for its built-in variables when it queries Prometheus at this step with
    this scrape interval: $__interval is the step; $__rate_interval is max($__interval + scrape
    interval, 4 × scrape interval), as Grafana computes it (grafana/grafana#77234, #84063)."""
    rate = max(step_seconds + scrape_seconds, 4 * scrape_seconds)
    return {
        "__interval": f"{step_seconds}s", "__interval_ms": str(step_seconds * 1000),
        "__rate_interval": f"{rate}s", "job": "bot",
    }


VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)")


def expand(expr: str, variables: dict[str, str]) -> str:
    """`expr` with Grafana's `$name` and `${name}` replaced; a name not in `variables` is an error
    (Prometheus would reject the query with a less helpful message)."""
    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in variables or not variables[name]:
            raise KeyError(f"Grafana variable ${name} has no value here")
        return variables[name]

    return VARIABLE.sub(value, expr)


def legend(template: str, labels: dict[str, str]) -> str:
    """Grafana's legendFormat: `{{label}}` replaced by the series' label (empty when missing)."""
    if not template:
        return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), template).strip()


def overlaps(layout: list[Panel]) -> list[tuple[str, str]]:
    """Pairs of panels whose grid rectangles overlap (Grafana would push one down)."""
    def cells(p: Panel) -> set[tuple[int, int]]:
        return {(x, y) for x in range(p.x, p.x + p.w) for y in range(p.y, p.y + p.h)}

    return [(a.title, b.title) for a, b in itertools.combinations(layout, 2) if cells(a) & cells(b)]


# ------------------------------------------------------------------ Prometheus

@dataclass
class Series:
    name: str
    times: list[float]
    values: list[float]


@dataclass
class Result:
    series: dict[str, list[Series]] = field(default_factory=dict)  # by panel title
    problems: list[str] = field(default_factory=list)


@contextmanager
def prometheus(target: str) -> Iterator[str]:
    """A real Prometheus on loopback scraping `target` every second, with storage in a temp
    directory; yields its URL."""
    binary = shutil.which("prometheus")
    assert binary
    from fakes.redis_server import free_port

    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-prometheus-") as folder:
        config = Path(folder) / "prometheus.yml"
        config.write_text(json.dumps({  # JSON is YAML
            "global": {"scrape_interval": f"{SCRAPE_SECONDS}s", "evaluation_interval": f"{SCRAPE_SECONDS}s"},
            "scrape_configs": [{"job_name": "bot", "static_configs": [{"targets": [target]}]}],
        }))
        process = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={folder}/data",
             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


async def wait_http(session: aiohttp.ClientSession, url: str, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            async with session.get(url) as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError(f"{what} not ready at {url} within {timeout:.0f} s")


async def evaluate(session: aiohttp.ClientSession, url: str, layout: list[Panel], start: float, end: float,
                   variables: dict[str, str]) -> Result:
    """Every panel's queries over [start, end] through /api/v1/query_range."""
    result = Result()
    for panel in layout:
        found = result.series.setdefault(panel.title, [])
        for target in panel.targets:
            name = f"{panel.title!r} query {target.ref}"
            params = {"query": expand(target.expr, variables), "start": f"{start:.3f}", "end": f"{end:.3f}",
                      "step": f"{STEP_SECONDS}s"}
            async with session.get(f"{url}/api/v1/query_range", params=params) as response:
                body = await response.json()
            if body.get("status") != "success":
                result.problems.append(f"{name} failed: {body.get('error')}")
                continue
            rows = body["data"]["result"]
            if not rows:
                result.problems.append(f"{name} returned nothing: {target.expr}")
            for row in rows:
                points = [(float(t), float(v)) for t, v in row["values"]]
                found.append(Series(legend(target.legend, row["metric"]), [t for t, _ in points], [v for _, v in points]))
    return result


# ------------------------------------------------------------------ the bot and its users

@asynccontextmanager
async def bot_serving(fake: Any, endpoint: Any, redis_url: str, metrics_port: int) -> AsyncIterator[None]:
    """`python -m bot slack` in Socket Mode, with METRICS_PORT, two model slots (so some answers
    wait) and answers growing by chat.update (Slack's streaming methods switched off in the fake)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_", "REDIS_"))}
    env |= {
        **endpoint.env(), "SAGEMAKER_ENDPOINT_NAME": "bench", "SLACK_BOT_TOKEN": fake.bot_token,
        "SLACK_APP_TOKEN": fake.app_token, "SLACK_API_URL": fake.api_url, "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": f"bench-dashboard-{os.getpid()}", "METRICS_PORT": str(metrics_port),
        "LLM_MAX_CONCURRENCY": "2", "LLM_RETRY_BASE_SECONDS": "0.2", "LOG_LEVEL": "WARNING",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "slack", env=env, cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 30)
        except asyncio.TimeoutError:
            process.kill()
            await process.wait()


def model_reply(counter: Iterator[int]) -> Any:
    """The fake endpoint's answers: tokens at a model's pace, every 9th call throttled and every
    17th a model error (the bot retries both), so the error panel has something to show."""
    from fakes.sagemaker import Reply

    def reply(_: Any) -> Any:
        n = next(counter)
        if n % 9 == 4:
            return Reply(fault="throttle")
        if n % 17 == 8:
            return Reply(fault="model_error")
        text = " ".join("답변 문장입니다. 필요한 내용을 정리했습니다." for _ in range(3 + n % 8))
        return Reply(text, first_token_delay=0.3 + (n % 5) * 0.2, token_delay=0.02)

    return reply


def documents() -> list[tuple[bytes, str, str, str]]:
    from fakes.documents import docx_bytes, pdf_pages, xlsx_bytes

    pdf = pdf_pages([[f"2026년 사업 계획 {page}쪽: 예산은 {page * 3}억 원입니다."] for page in range(1, 4)])
    return [
        (pdf, "사업계획.pdf", "application/pdf", "pdf"),
        (docx_bytes(), "회의록.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
        (xlsx_bytes(), "매출.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    ]


async def users(fake: Any, seconds: float, session: aiohttp.ClientSession, metrics: str) -> int:
    """Eight people asking in their DMs, a question every 4 s and every 1.5 s in the middle third
    (more chat.update calls than Slack's tier allows a workspace, so some 429s are Slack's own), a
    document every 13th message, two 429s injected; waits until every question is answered.
    Returns the questions asked."""
    files = itertools.cycle(documents())
    started = time.monotonic()
    asked = 0
    for n in itertools.count():
        elapsed = time.monotonic() - started
        if elapsed >= seconds:
            break
        person = n % 8
        user, channel = f"U{person + 1:04d}", f"D{person + 1:04d}"
        if n % 13 == 6:
            content, name, mimetype, kind = next(files)
            event = fake.dm("", user=user, channel=channel, files=[fake.add_file(content, name, mimetype, kind, user=user)])
        else:
            event = fake.dm(QUESTIONS[n % len(QUESTIONS)], user=user, channel=channel)
            asked += 1
        if n in (5, 30):
            fake.fail_next("chat.update", retry_after=1)
        await fake.push_socket_event(event, timeout=10)
        busy = seconds / 3 <= elapsed < 2 * seconds / 3
        await asyncio.sleep(1.5 if busy else 4)
    await answered(session, metrics, asked)
    return asked


async def answered(session: aiohttp.ClientSession, metrics: str, asked: int, timeout: float = 120) -> None:
    """Waits until /metrics counts at least `asked` answers and none in flight."""
    from prometheus_client.parser import text_string_to_metric_families

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with session.get(metrics) as response:
            text = await response.text()
        totals: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                totals[sample.name] = totals.get(sample.name, 0.0) + sample.value
        if totals.get("bot_answers_total", 0) >= asked and totals.get("bot_answers_in_flight", 1) == 0:
            return
        await asyncio.sleep(0.5)
    raise RuntimeError(f"the bot did not answer all {asked} questions within {timeout:.0f} s")


async def run(layout: list[Panel], seconds: float) -> tuple[Result, float, float]:
    from fakes.redis_server import free_port
    from fakes.sagemaker import FakeSageMaker
    from fakes.slack import FakeSlack

    metrics_port = free_port()
    with redis_for_bench() as redis_url, prometheus(f"127.0.0.1:{metrics_port}") as prom:
        async with FakeSageMaker() as endpoint, FakeSlack() as fake, aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=30)
        ) as session:
            endpoint.responder(model_reply(itertools.count()))
            fake.streaming_supported = False
            await wait_http(session, f"{prom}/-/ready", "Prometheus")
            async with bot_serving(fake, endpoint, redis_url, metrics_port):
                await wait_http(session, f"http://127.0.0.1:{metrics_port}/readyz", "the bot", timeout=60)
                start = time.time()
                asked = await users(fake, seconds, session, f"http://127.0.0.1:{metrics_port}/metrics")
                await asyncio.sleep(10 * SCRAPE_SECONDS)  # the last answers scraped, the panels' tails drawn
                end = time.time()
            print(f"{asked} questions answered in {end - start:.0f} s; {len(fake.calls())} Slack calls,"
                  f" {sum(c.status == 429 for c in fake.calls())} of them 429")
            variables = grafana_variables(STEP_SECONDS, SCRAPE_SECONDS)
            return await evaluate(session, prom, layout, start, end, variables), start, end


# ------------------------------------------------------------------ drawing

def unit_text(value: float, unit: str) -> str:
    if value == 0:
        return "0"
    if unit == "s":
        return f"{value * 1000:.0f} ms" if abs(value) < 1 else f"{value:.2g} s"
    return f"{value / 1000:.3g} K" if abs(value) >= 1000 else f"{value:.3g}"  # Grafana's "short"


def draw(layout: list[Panel], result: Result, start: float, end: float, output: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    rows = max(p.y + p.h for p in layout)
    figure = plt.figure(figsize=(16, rows * 0.42), layout="constrained")
    grid = figure.add_gridspec(rows, GRID_COLUMNS)
    span = f"{_clock(start)}–{_clock(end)} UTC"
    figure.suptitle(f"Korean LLM chatbot: deploy/grafana/bot-dashboard.json over a bench run ({span}),"
                    f" Prometheus scraping every {SCRAPE_SECONDS} s", fontsize=13)
    for panel in layout:
        axes = figure.add_subplot(grid[panel.y:panel.y + panel.h, panel.x:panel.x + panel.w])
        axes.set_title(panel.title, loc="left", fontsize=11, fontweight="bold")
        series = result.series.get(panel.title, [])
        if not series:
            axes.text(0.5, 0.5, "No data", ha="center", va="center", transform=axes.transAxes, color="grey")
            axes.set_axis_off()
        elif panel.kind == "stat":
            _stat(axes, series, panel.unit)
        else:
            for line in series:
                axes.plot([datetime.fromtimestamp(t, timezone.utc) for t in line.times], line.values,
                          label=line.name, linewidth=1.6)
            axes.set_xlim(datetime.fromtimestamp(start, timezone.utc), datetime.fromtimestamp(end, timezone.utc))
            axes.xaxis.set_major_locator(_ticks(end - start))
            axes.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S", tz=timezone.utc))
            axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _, unit=panel.unit: unit_text(v, unit)))
            # NaN (a quantile over a window without answers) is a gap, as in Grafana
            top = max((v for line in series for v in line.values if math.isfinite(v)), default=0.0)
            axes.set_ylim(0, top * 1.3 or 1)  # room for the legend above the lines
            axes.grid(alpha=0.3)
            axes.tick_params(labelsize=9)
            axes.legend(fontsize=9, loc="upper left", frameon=False, ncols=min(len(series), 4))
    figure.savefig(output, dpi=100)
    plt.close(figure)


def _stat(axes: Any, series: list[Series], unit: str) -> None:
    """Grafana's stat panel: the last value of each series, large, its name under it."""
    axes.set_xticks([])
    axes.set_yticks([])
    for spine in axes.spines.values():
        spine.set_color("#ccc")
    for n, line in enumerate(series):
        x = (n + 0.5) / len(series)
        last = line.values[-1]
        axes.text(x, 0.45, unit_text(last, unit), ha="center", va="center", fontsize=30, fontweight="bold",
                  color="#37872d" if last >= 1 else "#c4162a", transform=axes.transAxes)
        axes.text(x, 0.08, line.name, ha="center", va="center", fontsize=10, color="#555", transform=axes.transAxes)


def _ticks(span: float) -> Any:
    """A tick every 10 s to 5 min, five to eight across the run."""
    import matplotlib.dates as mdates

    every = next((s for s in (10, 15, 30, 60, 120, 300) if span / s <= 8), 600)
    if every < 60:
        return mdates.SecondLocator(bysecond=range(0, 60, every), tz=timezone.utc)
    return mdates.MinuteLocator(byminute=range(0, 60, every // 60), tz=timezone.utc)


def _clock(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%H:%M:%S")


# ------------------------------------------------------------------ command line

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard", description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "dashboard.png")
    parser.add_argument("--seconds", type=float, default=180, help="how long people ask (default 180)")
    parser.add_argument("--quick", action="store_true", help="40 s of questions: proves it runs")
    parser.add_argument("--replot", type=Path, help="draw again from a run's results JSON, without a run")
    args = parser.parse_args(argv)
    layout = panels(json.loads(DASHBOARD.read_text(encoding="utf-8")))
    if args.replot:
        saved = json.loads(args.replot.read_text(encoding="utf-8"))
        found = {title: [Series(**line) for line in lines] for title, lines in saved["series"].items()}
        result, start, end = Result(found, saved["problems"]), saved["start"], saved["end"]
    elif not shutil.which("prometheus"):
        print("Prometheus is not installed: sudo apt-get install prometheus", file=sys.stderr)
        return 2
    else:
        result, start, end = asyncio.run(run(layout, 40 if args.quick else args.seconds))
        write_results("dashboard", {"start": start, "end": end, **asdict(result)})
    args.output.parent.mkdir(parents=True, exist_ok=True)
    draw(layout, result, start, end, args.output)
    print(f"dashboard written to {args.output}")
    for problem in result.problems:
        print(f"dashboard finding: {problem}", file=sys.stderr)
    return 1 if result.problems else 0


if __name__ == "__main__":
    sys.exit(main())
