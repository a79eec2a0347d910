"""Where the corpus documents are: `tests/corpus` (shipped with the repository, always there) and
`../shared/corpus` (the documents whose licences keep them out of it, when it is beside the
checkout). Tests that need a shared document skip, saying why, when it is absent, and fail
instead where BOT_REQUIRE_SHARED_CORPUS=1 (CI sets it: there the shared corpus must be tested)."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REPO_CORPUS = ROOT / "tests" / "corpus"
SHARED_CORPUS = ROOT.parent / "shared" / "corpus"  # beside the checkout, as CI lays it
REQUIRE_SHARED = "BOT_REQUIRE_SHARED_CORPUS"


@dataclass(frozen=True)
class Entry:
    row: dict[str, str]  # a MANIFEST.tsv row
    path: Path

    @property
    def file(self) -> str:
        return self.row["file"]


def _rows(manifest: Path) -> list[dict[str, str]]:
    if not manifest.is_file():
        return []
    with manifest.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def entries() -> list[Entry]:
    """Every corpus document at hand: the shipped ones, then the shared ones not shipped (listed
    in the shared MANIFEST.tsv, or, for the formats read since, in MANIFEST-shared.tsv here)."""
    shipped = [Entry(row, REPO_CORPUS / row["file"]) for row in _rows(REPO_CORPUS / "MANIFEST.tsv")]
    names = {entry.file for entry in shipped}
    shared_rows = _rows(SHARED_CORPUS / "MANIFEST.tsv")
    if shared_present():
        shared_rows += _rows(REPO_CORPUS / "MANIFEST-shared.tsv")
    shared = [Entry(row, SHARED_CORPUS / row["file"]) for row in shared_rows if row["file"] not in names]
    return shipped + shared


def shared_present() -> bool:
    return (SHARED_CORPUS / "MANIFEST.tsv").is_file()


def require_shared() -> None:
    """Skip the calling test when the shared corpus is absent (fail under REQUIRE_SHARED=1)."""
    if shared_present():
        return
    reason = (
        f"no shared corpus at {SHARED_CORPUS}: the documents whose licences keep them out of this "
        "repository are tested only when it is beside the checkout"
    )
    if os.environ.get(REQUIRE_SHARED) == "1":
        pytest.fail(f"{reason} ({REQUIRE_SHARED}=1 requires it)", pytrace=False)
    pytest.skip(reason)


def corpus_file(name: str) -> Path:
    """The document `name` (as MANIFEST.tsv names it), shipped or shared."""
    shipped = REPO_CORPUS / name
    if shipped.is_file():
        return shipped
    require_shared()
    return SHARED_CORPUS / name
