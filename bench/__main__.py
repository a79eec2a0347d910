"""`python -m bench`: every benchmark, the original design's baseline first so that the others
report their figures as ratios to it.

    python -m bench                     # everything, full size (waits for a quiet machine)
    python -m bench --quick             # everything, small and fast: proves the scripts still run
    python -m bench chat slack          # some parts: baseline | chat | slack | documents
    python -m bench.extraction          # extraction speed alone (part of `documents`)

Each part prints a short table and writes its full results to bench/results/<part>.json."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from bench import baseline, chat, documents, slack
from bench.common import RESULTS

PARTS = ("baseline", "chat", "slack", "documents")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("parts", nargs="*", metavar="part", help=" | ".join(PARTS) + " (default: all)")
    parser.add_argument("--quick", action="store_true", help="small N, short latency: proves it runs")
    parser.add_argument("--output-dir", type=Path, default=RESULTS, help=f"results folder (default {RESULTS})")
    args = parser.parse_args(argv)
    if unknown := [part for part in args.parts if part not in PARTS]:
        parser.error(f"unknown part {unknown[0]!r}: choose from {', '.join(PARTS)}")
    parts = [part for part in PARTS if part in args.parts] if args.parts else list(PARTS)

    outputs = {part: args.output_dir / f"{part}.json" for part in PARTS}
    started = time.monotonic()
    reference: dict[str, Any] | None = None
    if "baseline" in parts or "chat" in parts or "slack" in parts:
        print("== baseline: the original design ==", flush=True)
        reference = baseline.run(args.quick, outputs["baseline"])
    if "chat" in parts:
        print("\n== chat load through the core ==", flush=True)
        chat.run(args.quick, outputs["chat"], baseline=reference)
    if "slack" in parts:
        print("\n== chat load through Slack ==", flush=True)
        slack.run(args.quick, outputs["slack"], baseline=reference)
    if "documents" in parts:
        print("\n== documents ==", flush=True)
        documents.run(args.quick, outputs["documents"])
    print(f"\nbench finished in {time.monotonic() - started:.0f} s; results in {args.output_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
