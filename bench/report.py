"""`python -m bench.report`: the tables of the last results in bench/results, as Markdown (for
BENCHMARKS.md)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench import baseline, chat, documents, slack
from bench.common import RESULTS, markdown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    parts = {"baseline": None, "chat": (chat.COLUMNS, chat.RATIO_COLUMNS), "slack": (slack.COLUMNS, slack.RATIO_COLUMNS),
             "documents": (documents.COLUMNS,)}
    for part, columns in parts.items():
        path = args.dir / f"{part}.json"
        if not path.exists():
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        print(f"### {part} ({data['date']}, `{data['command']}`, load when written {data['machine']['loadavg']})\n")
        if part == "baseline":
            print(markdown(baseline.rows(data), baseline.COLUMNS) + "\n")
            continue
        for cols in columns or ():
            print(markdown(data["rows"], cols) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
