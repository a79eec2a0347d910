"""What every benchmark shares: percentiles, the printed table, the results file, the machine it
ran on, the load it ran under, the process's memory, the Redis it talks to, and the bot under test
started as a process of its own. Imports no other bench module: the parts import it."""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import math
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


# ------------------------------------------------------------------ statistics

def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile: p99 of 100 values is the 99th smallest, never an interpolation
    below a value that really occurred."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def spread(values: Sequence[float]) -> dict[str, float]:
    """p50 / p95 / p99 / max / mean of `values` (NaN when empty), for tables and JSON alike."""
    return {
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "max": max(values) if values else math.nan,
        "mean": sum(values) / len(values) if values else math.nan,
        "n": len(values),
    }


def ms(seconds: float) -> float:
    return seconds * 1000.0


def ratio(ours: float, theirs: float) -> float:
    return ours / theirs if theirs and not math.isnan(theirs) else math.nan


# ------------------------------------------------------------------ output

def table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str, str]]) -> str:
    """A fixed-width text table. `columns` are (key, header, format spec); a missing value or NaN
    prints as '-' so a row that does not apply stays readable."""
    cells = [[header for _, header, _ in columns]] + [_cells(row, columns) for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    out = []
    for n, line in enumerate(cells):
        out.append("  ".join(c.rjust(w) if n else c.ljust(w) for c, w in zip(line, widths)).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def print_tables(
    rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str, str]],
    ratio_columns: Sequence[tuple[str, str, str]], baseline: dict[str, Any],
) -> None:
    """A load part's table, then the same rows as ratios to the original design's figures."""
    print(table(rows, columns))
    print(f"\nratios to the original design (one synchronous chain at a time; {baseline['summary']})")
    print(table(rows, ratio_columns))


def print_counts(conversations: int, counts: dict[str, int], what: str) -> None:
    """How often each warning or error (`what` names which) happened in the run of `conversations`."""
    for message, count in counts.items():
        print(f"N={conversations}: {count} x {what} {message!r}")


def markdown(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str, str]]) -> str:
    """The same table as `table`, as Markdown (for BENCHMARKS.md)."""
    lines = ["| " + " | ".join(header for _, header, _ in columns) + " |",
             "| " + " | ".join("---" if not spec or spec == "" else "---:" for _, _, spec in columns) + " |"]
    lines += ["| " + " | ".join(_cells(row, columns)) + " |" for row in rows]
    return "\n".join(lines)


def _cells(row: dict[str, Any], columns: Sequence[tuple[str, str, str]]) -> list[str]:
    """`row`'s values formatted for `columns`; a missing value or NaN is '-'."""
    values = [row.get(key) for key, _, _ in columns]
    return ["-" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)
            for value, (_, _, spec) in zip(values, columns)]


def write_results(name: str, data: dict[str, Any], output: Path | None = None) -> Path:
    """Full results as JSON under bench/results/ (gitignored), with the context to reproduce them;
    says where."""
    path = output or RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {
        "benchmark": name,
        "date": datetime.date.today().isoformat(),
        "command": " ".join([Path(sys.executable).name, "-m", *_module_argv()]),
        "machine": machine(),
        **data,
    }
    path.write_text(json.dumps(body, ensure_ascii=False, indent=2, default=_jsonable) + "\n", encoding="utf-8")
    print(f"results written to {path}")
    return path


def _module_argv() -> list[str]:
    """`bench.chat --quick` for `python -m bench.chat --quick` (argv[0] is the module's file)."""
    if not sys.argv:
        return ["bench"]
    path = Path(sys.argv[0])
    module = "bench" if path.name == "__main__.py" else f"bench.{path.stem}"
    return [module, *sys.argv[1:]]


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "__dict__"):
        return value.__dict__
    return str(value)


def machine() -> dict[str, Any]:
    model = ""
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout.splitlines()
            if line.startswith("Model name")
        )
    except (OSError, StopIteration):
        model = platform.processor()
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "memory_mb": _meminfo_mb("MemTotal"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "loadavg": load(),
    }


def _meminfo_mb(field: str) -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


# ------------------------------------------------------------------ load

def load() -> tuple[float, float, float]:
    try:
        one, five, fifteen = Path("/proc/loadavg").read_text().split()[:3]
        return float(one), float(five), float(fifteen)
    except (OSError, ValueError):
        return os.getloadavg()


def wait_for_quiet(max_load: float = 1.0, timeout: float = 300.0, poll: float = 10.0) -> tuple[float, float, float]:
    """Block until the 1-minute load average is below `max_load` (other people's test runs share
    these cores and would be measured as our overhead), or give up after `timeout` and say so."""
    deadline = time.monotonic() + timeout
    while True:
        now = load()
        if now[0] < max_load:
            return now
        if time.monotonic() > deadline:
            print(f"warning: load still {now[0]:.2f} after {timeout:.0f} s; measuring anyway", file=sys.stderr)
            return now
        print(f"waiting for a quiet machine: load {now[0]:.2f} >= {max_load}", file=sys.stderr, flush=True)
        time.sleep(poll)


# ------------------------------------------------------------------ memory

def _status_kb(field: str, pid: int | str = "self") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_mb(pid: int | str = "self") -> float:
    return _status_kb("VmRSS", pid) / 1024


def peak_rss_mb(pid: int | str = "self") -> float:
    """The kernel's high-water mark of resident memory (VmHWM), in MiB; falls back to getrusage."""
    kb = _status_kb("VmHWM", pid)
    if not kb and pid == "self":
        import resource

        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024


def threads(pid: int | str = "self") -> int:
    return _status_kb("Threads", pid)


# ------------------------------------------------------------------ Redis

@contextmanager
def redis_for_bench() -> Iterator[str]:
    """`REDIS_URL` when it is set and answers; otherwise a private redis-server for this run (so
    INFO commandstats counts only the benchmark's own commands)."""
    from fakes.redis_server import RedisServer, ping

    url = os.environ.get("REDIS_URL")
    if url and ping(url):
        yield url
        return
    with RedisServer() as server:
        yield server.url


def command_stats(url: str) -> dict[str, int]:
    """INFO commandstats as {command: calls}. Commands run inside Lua scripts are counted too."""
    import redis

    with redis.Redis.from_url(url) as client:
        info = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(stats["calls"]) for name, stats in info.items()}


def command_delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    delta = {name: after.get(name, 0) - before.get(name, 0) for name in after}
    # The INFO call that took `after` is itself counted; it is not the bot's.
    delta["info"] = delta.get("info", 0) - 1
    return {name: calls for name, calls in sorted(delta.items()) if calls > 0}


# ------------------------------------------------------------------ sampling

class RssSampler:
    """Samples this process's RSS and thread count in a daemon thread, for the peak while a
    scenario runs (VmHWM alone would also include whatever an earlier scenario left)."""

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self.peak_mb = 0.0
        self.peak_threads = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self) -> None:
        self.peak_mb = max(self.peak_mb, rss_mb())
        self.peak_threads = max(self.peak_threads, threads())

    def __enter__(self) -> "RssSampler":
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


# ------------------------------------------------------------------ the bot under test, a process of its own

def bot_settings(endpoint_url: str, redis_url: str, prefix: str, concurrency: int, **extra: Any) -> Any:
    """The bot's settings against the benchmark's endpoint process and Redis."""
    from bot.config import Settings

    return Settings(
        _env_file=None,
        sagemaker_endpoint_name="bench",
        aws_region="us-east-1",
        sagemaker_endpoint_url=endpoint_url,
        redis_url=redis_url,
        redis_key_prefix=prefix,
        llm_max_concurrency=concurrency,
        llm_timeout_seconds=300.0,
        **extra,
    )


class WarningCounter(logging.Handler):
    """Counts the bot's warnings by message template: a run that silently lost Redis ("answering
    without memory") must not pass for a fast one."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[str(record.msg)] = self.counts.get(str(record.msg), 0) + 1


def child_env(result: Path) -> dict[str, str]:
    """Environment of a bot process under test: fake AWS credentials, and where to put its result."""
    return {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_EC2_METADATA_DISABLED": "true", "BENCH_RESULT_FILE": str(result)}


def send_result(result: Any) -> None:
    """A child's result, for the parent that started it: in a file, not on stdout, which the bot's
    libraries share (a large result line once came back cut at 64 KiB)."""
    Path(os.environ["BENCH_RESULT_FILE"]).write_text(json.dumps(result))


def received_result(result: Path, what: str, stderr: str) -> Any:
    try:
        return json.loads(result.read_text())
    except (OSError, ValueError):
        raise RuntimeError(f"{what} gave no result:\n{stderr[-3000:]}") from None


def run_in_bot_process(module: str, job: dict[str, Any], timeout: float = 1800) -> Any:
    """Run `python -m <module> --child <job>` (a fresh bot process) and return its result."""
    with tempfile.TemporaryDirectory() as folder:
        result = Path(folder) / "result.json"
        finished = subprocess.run(
            [sys.executable, "-m", module, "--child", json.dumps(job)],
            cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False, env=child_env(result),
        )
        if finished.returncode != 0:
            raise RuntimeError(f"{module} child failed ({finished.returncode}):\n{finished.stderr[-3000:]}")
        return received_result(result, f"{module} child", finished.stderr)


def start_serving(module: str, args: list[str], env: dict[str, str], stderr: int | None = None) -> tuple[Any, str]:
    """`python -m <module> ARGS` once it has printed "READY <url>" as its first line: the process
    (steered through its stdin) and the URL it serves on."""
    process = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True, bufsize=1, env=env,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("READY "):
        process.kill()
        _, err = process.communicate(timeout=30)
        raise RuntimeError(f"{module} did not start: {line!r}\n{(err or '')[-3000:]}")
    return process, line.split()[1]


# ------------------------------------------------------------------ command line

def script_arguments(prog: str, doc: str | None) -> argparse.ArgumentParser:
    """The options every part shares: --quick, --output, and --child (how a part starts the bot
    under test as its own process)."""
    parser = argparse.ArgumentParser(prog=prog, description=(doc or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small N, short latency: proves it runs")
    parser.add_argument("--output", type=Path, help="results JSON (default: bench/results/<part>.json)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    return parser


def numbers(text: str) -> list[int]:
    """`--only 50,200` as [50, 200]."""
    return [int(n) for n in text.split(",")]


def words(text: str) -> list[str]:
    """`--scenarios load,burst` as ["load", "burst"]."""
    return text.split(",")


def part_main(
    parser: argparse.ArgumentParser, argv: list[str] | None, run: Callable[..., object], child_main: Callable[[str], int]
) -> int:
    """A part's command line: as the bot under test (--child JOB) `child_main(JOB)`; otherwise
    `run(quick, output, **the part's own options)`."""
    options = vars(parser.parse_args(argv))
    if child := options.pop("child"):
        return child_main(child)
    run(options.pop("quick"), options.pop("output"), **options)
    return 0
