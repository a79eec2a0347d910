"""Document extraction throughput, one process pinned to one core.

    python -m bench.extraction            # full run, results in bench/results/extraction.json
    python -m bench.extraction --quick    # seconds, for CI: checks that it runs, not how fast

Pages/s for a 300-page Korean text PDF (built by fakes/documents.py) and for the corpus PDFs;
MB/s (of input file) for the corpus HWP, HWPX, DOCX, PPTX, XLSX, legacy Office, OpenDocument,
HWPML and text files; OCR pages/s for the corpus pictures (Korean pages) and a synthetic scanned
PDF. The extraction process's start-up and per-document round trip are measured apart, since they
are not single-core work."""

from __future__ import annotations

import asyncio
import csv
import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.common import ROOT, script_arguments, table, write_results
from bot.core.documents import ExtractionLimits, ExtractionPool, extract_sync
from bot.core.documents.sniff import sniff
from fakes.documents import SCAN_LINES, korean_pdf, sample_hwpx, scanned_pdf

CORPUS = ROOT.parent / "shared" / "corpus"
REPO_CORPUS = ROOT / "tests" / "corpus"
# Manifests and the folder their files are in (tests/corpus/README.md).
MANIFESTS = (
    (CORPUS / "MANIFEST.tsv", CORPUS), (REPO_CORPUS / "MANIFEST.tsv", REPO_CORPUS),
    (REPO_CORPUS / "MANIFEST-shared.tsv", CORPUS),
)
KINDS = (
    "pdf", "hwp", "hwp3", "hwpx", "docx", "pptx", "xlsx", "doc", "xls", "ppt", "odt", "hml", "text", "image",
)
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
    """The readable corpus files (MANIFEST rows that expect phrases), each once, grouped by what
    their bytes are, not by their folder: hwpx/hwp5_named_hwpx.hwpx is an HWP 5 file."""
    groups: dict[str, list[tuple[str, bytes]]] = {}
    seen: set[str] = set()
    for manifest, folder in MANIFESTS:
        if not (manifest.exists() and (folder / "MANIFEST.tsv").exists()):
            continue
        with manifest.open(encoding="utf-8", newline="") as handle:
            rows = [row for row in csv.DictReader(handle, delimiter="\t") if row["expected_phrases"].strip()]
        for row in rows:
            if row["file"] in seen:
                continue
            seen.add(row["file"])
            data = (folder / row["file"]).read_bytes()
            groups.setdefault(sniff(data, row["file"]), []).append((row["file"], data))
    return groups


def cases(quick: bool) -> dict[str, list[tuple[str, bytes]]]:
    pages = 30 if quick else 300
    scans = 2 if quick else 10
    found = {
        f"pdf synthetic {pages}p": [(f"korean_{pages}p.pdf", korean_pdf(pages))],
        f"ocr pdf synthetic {scans}p": [(f"scan_{scans}p.pdf", scanned_pdf([SCAN_LINES] * scans))],
    }
    corpus = corpus_by_format()
    for kind in KINDS:
        if kind in corpus:
            found[f"{'ocr ' if kind == 'image' else ''}{kind} corpus"] = corpus[kind]
    return found


def measure(case: str, files: list[tuple[str, bytes]], min_seconds: float, min_rounds: int) -> Result:
    """The median pass after a warm-up one; with `min_rounds` 0 (--quick, which checks that the
    benchmark runs, not how fast) the warm-up is the only pass."""
    started = time.perf_counter()
    pages = sum(extract_sync(data, Path(name).name).pages for name, data in files)
    timings = [time.perf_counter() - started] if min_rounds == 0 else []
    while len(timings) < min_rounds or sum(timings) < min_seconds:
        started = time.perf_counter()
        for name, data in files:
            extract_sync(data, Path(name).name)
        timings.append(time.perf_counter() - started)
    megabytes = sum(len(data) for _, data in files) / MIB
    return Result(case, len(files), megabytes, pages, statistics.median(timings), len(timings))


async def process_costs(rounds: int) -> dict[str, float]:
    """Seconds to start an extraction process, and the round trip of a small document through a
    warm one."""
    pool = ExtractionPool(size=1)
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
    return {"process_start_seconds": first - round_trip, "process_round_trip_seconds": round_trip}


def pin_to_one_core() -> str:
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity)"
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return f"pinned to CPU {core}"


COLUMNS = [
    ("case", "case", ""), ("files", "files", "d"), ("megabytes", "MB", ".2f"), ("pages", "pages", "d"),
    ("seconds", "s/pass", ".3f"), ("megabytes_per_second", "MB/s", ".2f"), ("pages_per_second", "pages/s", ".1f"),
]


def main(argv: list[str] | None = None) -> int:
    args = script_arguments("python -m bench.extraction", __doc__).parse_args(argv)
    min_seconds, min_rounds = (0.0, 0) if args.quick else (2.0, 5)

    pinning = pin_to_one_core()
    results = [measure(name, files, min_seconds, min_rounds) for name, files in cases(args.quick).items()]
    costs = asyncio.run(process_costs(rounds=3 if args.quick else 20))
    rows = [asdict(r) | {"megabytes_per_second": r.megabytes_per_second, "pages_per_second": r.pages_per_second}
            for r in results]
    print(table(rows, COLUMNS))
    print(f"extraction process start-up {costs['process_start_seconds']:.2f} s;"
          f" round trip of a small document {costs['process_round_trip_seconds'] * 1000:.1f} ms")
    print(f"text PDF: {results[0].pages_per_second:.0f} pages/s (target >= {TARGET_PDF_PAGES_PER_SECOND}); {pinning}")
    write_results("extraction", {"quick": args.quick, "pinning": pinning, "results": rows, **costs}, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
