"""The corpus documents shipped in tests/corpus (a plain clone has them) and the shared ones
(tested only when ../shared/corpus is there, which CI requires)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests import corpus_files
from tests.corpus_files import REPO_CORPUS, SHARED_CORPUS, corpus_file

REDISTRIBUTABLE = ("Apache-2.0", "MIT")
# MANIFEST-shared.tsv: rows of shared documents (their files stay in ../shared/corpus).
NOT_DOCUMENTS = {"MANIFEST.tsv", "MANIFEST-shared.tsv", "README.md", "LICENSE-Apache-2.0.txt"}


def _manifest(folder: Path, name: str = "MANIFEST.tsv") -> list[dict[str, str]]:
    with (folder / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def test_every_shipped_document_is_listed_with_a_licence_that_allows_it():
    rows = _manifest(REPO_CORPUS)
    assert rows and all(row["license"].startswith(REDISTRIBUTABLE) for row in rows)
    listed = {row["file"] for row in rows}
    present = {str(path.relative_to(REPO_CORPUS)) for path in REPO_CORPUS.rglob("*") if path.is_file()}
    assert present - NOT_DOCUMENTS == listed


def test_shipped_rows_are_the_shared_corpus_rows_unchanged():
    corpus_files.require_shared()
    # A wave-2 row moves into the shipped manifest once its format is read (shared/ itself is
    # read-only here): it must match its row in either of the shared manifests.
    rows = _manifest(SHARED_CORPUS) + _manifest(SHARED_CORPUS, "MANIFEST-wave2.tsv")
    shared = {row["file"]: row for row in rows}
    for row in _manifest(REPO_CORPUS):
        assert shared[row["file"]] == row
        assert (REPO_CORPUS / row["file"]).read_bytes() == (SHARED_CORPUS / row["file"]).read_bytes()


def test_without_the_shared_corpus_its_tests_skip_saying_why(monkeypatch, tmp_path):
    monkeypatch.setattr(corpus_files, "SHARED_CORPUS", tmp_path / "absent")
    monkeypatch.delenv(corpus_files.REQUIRE_SHARED, raising=False)
    assert corpus_file("hwp/weekly_report_form.hwp").is_file()  # shipped: always there
    with pytest.raises(pytest.skip.Exception, match="no shared corpus at .*absent"):
        corpus_file("pdf/assembly_minutes_20p.pdf")


def test_ci_turns_a_missing_shared_corpus_into_a_failure(monkeypatch, tmp_path):
    monkeypatch.setattr(corpus_files, "SHARED_CORPUS", tmp_path / "absent")
    monkeypatch.setenv(corpus_files.REQUIRE_SHARED, "1")
    with pytest.raises(pytest.fail.Exception, match="BOT_REQUIRE_SHARED_CORPUS=1 requires it"):
        corpus_file("pdf/assembly_minutes_20p.pdf")
