"""`python -m bot usage`: who used how much of the model, for admins. Reads the usage ledger in
Redis (bot.core.memory.ledger) for the last days of USAGE_TIMEZONE's calendar, and prints a
table, or CSV, grouped by day, team, user or channel; `--plot FILE.png` draws tokens, answers
and documents per day (matplotlib, the `chart` extra)."""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TextIO

from bot.config import Settings, mask_url
from bot.core.memory.health import REDIS_DOWN, RedisHealth
from bot.core.memory.ledger import METRICS, Layout, RedisLedger, Totals, UsageRow
from bot.core.memory.connection import RedisTarget, connect
from bot.core.usage import Calendar

# What a report can be grouped by: its columns, read from a row.
GROUPS: dict[str, tuple[str, ...]] = {
    "day": ("day",),
    "team": ("platform", "team"),
    "user": ("platform", "team", "user"),
    "channel": ("platform", "team", "channel"),
    "all": ("day", "platform", "team", "user", "channel"),
}


@dataclass(frozen=True)
class ReportRequest:
    days: int
    team: str | None
    by: str
    as_csv: bool
    plot: Path | None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ReportRequest:
        return cls(args.days, args.team, args.by, args.csv, args.plot)


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    usage = commands.add_parser("usage", help="report who used how much of the model (needs REDIS_URL)")
    usage.add_argument("--days", type=_positive, default=30, help="the last N days, today included (default 30)")
    usage.add_argument("--team", help="only this team: a Slack workspace or Discord server id")
    usage.add_argument("--by", choices=list(GROUPS), default="user", help="one row per ... (default user)")
    usage.add_argument("--csv", action="store_true", help="CSV on standard output instead of a table")
    usage.add_argument("--plot", type=Path, metavar="FILE.png", help="also draw use per day into this PNG")


def _positive(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 3660:
        raise argparse.ArgumentTypeError("give 1 to 3660 days")
    return value


async def run_report(settings: Settings, request: ReportRequest, out: TextIO = sys.stdout) -> int:
    if not settings.redis_url:
        print(
            "REDIS_URL가 없습니다: 사용량은 Redis에 기록됩니다. / REDIS_URL is not set: usage is kept in Redis "
            "(without it each bot process counts only for itself, and nothing is left to report).",
            file=sys.stderr,
        )
        return 2
    if request.plot is not None and not _has_matplotlib():
        print("--plot needs matplotlib: pip install 'bot[chart]'", file=sys.stderr)
        return 2
    calendar = Calendar.named(settings.usage_timezone)
    days = calendar.last_days(request.days, time.time())
    client = connect(RedisTarget.from_settings(settings), max_connections=2, timeout_seconds=settings.redis_timeout_seconds)
    ledger = RedisLedger(client, Layout(settings.redis_key_prefix, calendar), 0, RedisHealth())
    try:
        rows = await ledger.rows(days)
    except REDIS_DOWN as error:
        print(f"연결 실패 / cannot connect: Redis at {mask_url(settings.redis_url)} ({type(error).__name__})", file=sys.stderr)
        return 1
    finally:
        await client.aclose()
    rows = [row for row in rows if request.team is None or request.team in (row.team, f"{row.platform}:{row.team}")]
    grouped = group(rows, request.by)
    (write_csv if request.as_csv else write_table)(GROUPS[request.by], grouped, out)
    if request.plot is not None:
        plot(days, rows, request.plot, _title(request), str(calendar.zone))
        print(f"chart: {request.plot}", file=sys.stderr)
    return 0


def group(rows: list[UsageRow], by: str) -> dict[tuple[str, ...], Totals]:
    columns = GROUPS[by]
    grouped: dict[tuple[str, ...], Totals] = defaultdict(Totals)
    for row in rows:
        grouped[tuple(getattr(row, column) for column in columns)] += row.totals
    return dict(sorted(grouped.items()))


def _cells(totals: Totals) -> list[int]:
    return [getattr(totals, metric) for metric in METRICS]


def write_csv(columns: tuple[str, ...], grouped: dict[tuple[str, ...], Totals], out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*columns, *METRICS])
    for key, totals in grouped.items():
        writer.writerow([*key, *_cells(totals)])


def write_table(columns: tuple[str, ...], grouped: dict[tuple[str, ...], Totals], out: TextIO) -> None:
    total = sum(grouped.values(), Totals())
    lines = [[*columns, *METRICS]]
    lines += [[*key, *(f"{n:,}" for n in _cells(totals))] for key, totals in grouped.items()]
    lines.append(["total", *[""] * (len(columns) - 1), *(f"{n:,}" for n in _cells(total))])
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    for index, line in enumerate(lines):
        if index in (1, len(lines) - 1):
            print("  ".join("-" * width for width in widths), file=out)
        labels = [cell.ljust(width) for cell, width in zip(line[: len(columns)], widths)]
        numbers = [cell.rjust(width) for cell, width in zip(line[len(columns) :], widths[len(columns) :])]
        print("  ".join(labels + numbers).rstrip(), file=out)


def _title(request: ReportRequest) -> str:
    team = f"team {request.team}" if request.team else "all teams"
    return f"Model use per day, last {request.days} days, {team}"


def _has_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def plot(days: list[str], rows: list[UsageRow], path: Path, title: str, zone: str) -> None:
    """Tokens in and out per day (stacked bars), answers and documents per day (lines).
    Labels are ASCII: a Korean font is not guaranteed where the report runs."""
    from matplotlib.dates import DateFormatter, DayLocator, date2num
    from matplotlib.figure import Figure  # no pyplot: no global state, Agg canvas by default
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    per_day = group(rows, "day")
    daily = [per_day.get((day,), Totals()) for day in days]
    x = [date.fromisoformat(day) for day in days]

    def column(metric: str) -> list[int]:
        return [getattr(totals, metric) for totals in daily]

    figure = Figure(figsize=(10, 5.6), dpi=110, layout="constrained")
    tokens = figure.add_subplot()
    tokens.bar(x, column("tokens_in"), width=0.8, color="#457b9d", label="tokens in (prompt)")
    tokens.bar(x, column("tokens_out"), width=0.8, bottom=column("tokens_in"), color="#e63946", label="tokens out (answer)")
    tokens.set_ylabel("tokens per day")
    tokens.set_xlabel(f"day ({zone})")
    tokens.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    tokens.grid(axis="y", alpha=0.3)
    counts = tokens.twinx()
    counts.plot(x, column("answers"), color="#1d3557", marker="o", label="answers")
    counts.plot(x, column("documents"), color="#2a9d8f", marker="s", linestyle="--", label="documents")
    counts.set_ylabel("answers and documents per day")
    counts.set_ylim(bottom=0)
    counts.yaxis.set_major_locator(MaxNLocator(integer=True))
    # One label a day, or every few days for long reports: never two labels for one day.
    tokens.xaxis.set_major_locator(DayLocator(interval=max(1, math.ceil(len(days) / 14))))
    tokens.xaxis.set_major_formatter(DateFormatter("%b %d"))
    tokens.set_xlim(date2num(x[0]) - 0.6, date2num(x[-1]) + 0.6)
    handles = [*tokens.get_legend_handles_labels()[0], *counts.get_legend_handles_labels()[0]]
    tokens.legend(handles, [str(h.get_label()) for h in handles], loc="upper left", fontsize="small")
    tokens.set_title(title)
    figure.savefig(path, format="png")

