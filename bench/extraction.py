"""Document extraction throughput, one process pinned to one core.

    python -m bench.extraction            # full run, results in bench/results/extraction.json
    python -m bench.extraction --quick    # seconds, for CI: checks that it runs, not how fast

Pages/s for a 300-page Korean text PDF (built by fakes/documents.py) and for the corpus PDFs;
MB/s (of input file) for the corpus HWP, HWPX, DOCX, PPTX, XLSX and text files. The worker process's
start-up and per-document round trip are measured apart, since they are not single-core work."""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bot.core.documents import ExtractionLimits, extract_sync
from bot.core.documents.sniff import sniff
from bot.core.documents.worker import WorkerPool
from fakes.documents import korean_pdf, sample_hwpx

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
RESULTS = ROOT / "bench" / "results" / "extraction.json"
MIB = 1024 * 1024
TARGET_PDF_PAGES_PER_SECOND = 100


@dataclass
class Result:
    case: str
    files: int
    megabytes: float
    pages: int
    seconds: float  # median time of one pass over all files
    rounds: int

    @property
    def megabytes_per_second(self) -> float:
        return self.megabytes / self.seconds

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds


def corpus_by_format() -> dict[str, list[tuple[str, bytes]]]:
    """The readable corpus files (MANIFEST rows that expect phrases), grouped by what their bytes
    are, not by their folder: hwpx/hwp5_named_hwpx.hwpx is an HWP 5 file."""
    manifest = CORPUS / "MANIFEST.tsv"
    if not manifest.exists():
        return {}
    with manifest.open(encoding="utf-8", newline="") as handle:
        rows = [row for row in csv.DictReader(handle, delimiter="\t") if row["expected_phrases"].strip()]
    groups: dict[str, list[tuple[str, bytes]]] = {}
    for row in rows:
        data = (CORPUS / row["file"]).read_bytes()
        groups.setdefault(sniff(data, row["file"]), []).append((row["file"], data))
    return groups


def cases(quick: bool) -> dict[str, list[tuple[str, bytes]]]:
    pages = 30 if quick else 300
    found = {f"pdf synthetic {pages}p": [(f"korean_{pages}p.pdf", korean_pdf(pages))]}
    corpus = corpus_by_format()
    for kind in ("pdf", "hwp", "hwpx", "docx", "pptx", "xlsx", "text"):
        if kind in corpus:
            found[f"{kind} corpus"] = corpus[kind]
    return found


def measure(case: str, files: list[tuple[str, bytes]], min_seconds: float, min_rounds: int) -> Result:
    pages = sum(extract_sync(data, Path(name).name).pages for name, data in files)  # warm-up
    timings: list[float] = []
    while len(timings) < min_rounds or sum(timings) < min_seconds:
        started = time.perf_counter()
        for name, data in files:
            extract_sync(data, Path(name).name)
        timings.append(time.perf_counter() - started)
    megabytes = sum(len(data) for _, data in files) / MIB
    return Result(case, len(files), megabytes, pages, statistics.median(timings), len(timings))


async def worker_costs(rounds: int) -> dict[str, float]:
    """Seconds to start a worker, and the round trip of a small document through a warm one."""
    pool = WorkerPool(size=1)
    data = sample_hwpx()
    try:
        started = time.perf_counter()
        await pool.extract(data, "small.hwpx", ExtractionLimits())
        first = time.perf_counter() - started
        trips = []
        for _ in range(rounds):
            started = time.perf_counter()
            await pool.extract(data, "small.hwpx", ExtractionLimits())
            trips.append(time.perf_counter() - started)
    finally:
        pool.close()
    round_trip = statistics.median(trips)
    return {"worker_start_seconds": first - round_trip, "worker_round_trip_seconds": round_trip}


def pin_to_one_core() -> str:
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity)"
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return f"pinned to CPU {core}"


def machine() -> dict[str, object]:
    models = (line.split(":", 1)[1].strip() for line in _read_lines("/proc/cpuinfo")
              if line.startswith("model name"))
    return {
        "nproc": os.cpu_count(), "cpu": next(models, platform.processor()),
        "python": sys.version.split()[0], "platform": platform.platform(),
    }


def _read_lines(path: str) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []


def table(results: list[Result], costs: dict[str, float]) -> str:
    header = ("case", "files", "MB", "pages", "s/pass", "MB/s", "pages/s")
    lines = ["{:<20} {:>5} {:>7} {:>6} {:>8} {:>7} {:>8}".format(*header)]
    for r in results:
        lines.append(
            f"{r.case:<20} {r.files:>5} {r.megabytes:>7.2f} {r.pages:>6} {r.seconds:>8.3f}"
            f" {r.megabytes_per_second:>7.2f} {r.pages_per_second:>8.0f}"
        )
    lines.append(
        f"worker start-up {costs['worker_start_seconds']:.2f} s;"
        f" round trip of a small document {costs['worker_round_trip_seconds'] * 1000:.1f} ms"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.extraction", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="a few seconds; proves it runs")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    args = parser.parse_args(argv)
    min_seconds, min_rounds = (0.0, 1) if args.quick else (2.0, 5)

    pinning = pin_to_one_core()
    results = [measure(name, files, min_seconds, min_rounds) for name, files in cases(args.quick).items()]
    costs = asyncio.run(worker_costs(rounds=3 if args.quick else 20))
    print(table(results, costs))
    pdf = results[0]
    print(f"text PDF: {pdf.pages_per_second:.0f} pages/s"
          f" (target >= {TARGET_PDF_PAGES_PER_SECOND}); {pinning}")

    report = {
        "date": datetime.date.today().isoformat(),
        "command": "python -m bench.extraction" + (" --quick" if args.quick else ""),
        "quick": args.quick,
        "pinning": pinning,
        "machine": machine(),
        "results": [
            asdict(r) | {"megabytes_per_second": r.megabytes_per_second,
                         "pages_per_second": r.pages_per_second}
            for r in results
        ],
        **costs,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"results written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
