"""Real Korean documents (tests/corpus, and ../shared/corpus when it is there: see
tests/corpus_files.py and each MANIFEST.tsv): every expected phrase must come out, every bad input
must fail with its own clear error."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.core.documents import ExtractionPool, extract_sync
from bot.core.errors import (
    CorruptDocument,
    DistributionDocument,
    DocumentError,
    EncryptedDocument,
    NoTextLayer,
)
from tests.corpus_files import SHARED_CORPUS, Entry, corpus_file, entries, require_shared, shared_present

# The rows without phrases, and what their notes say a correct extractor does with them.
BAD_INPUTS: dict[str, type[DocumentError]] = {
    "hwp/distribution_bid_notice.hwp": DistributionDocument,
    "hwp/password_12345.hwp": EncryptedDocument,
    "pdf/password_protected.pdf": EncryptedDocument,
    "pdf/scanned_image_only.pdf": NoTextLayer,
    "pdf/fake_jpg.pdf": CorruptDocument,
}
# Extensions lie: these files must be read as what their bytes say.
REAL_FORMATS = {"hwpx/hwp5_named_hwpx.hwpx": "hwp", "odf/mfds_sop_word2013.odt": "odt"}
TEXT_FOLDERS = {"txt", "csv", "html"}


def test_shared_corpus_is_tested_when_present() -> None:
    # Skipped, with the reason, on a plain clone; CI requires it (BOT_REQUIRE_SHARED_CORPUS=1).
    require_shared()
    assert any(entry.path.is_relative_to(SHARED_CORPUS) for entry in entries())


def _phrases(entry: Entry) -> list[str]:
    return [phrase.strip() for phrase in entry.row["expected_phrases"].split(" | ") if phrase.strip()]


GOOD = [pytest.param(entry, id=entry.file) for entry in entries() if _phrases(entry)]
BAD = [pytest.param(entry, id=entry.file) for entry in entries() if not _phrases(entry)]


def expected_format(file: str) -> str:
    folder = file.split("/")[0]
    return REAL_FORMATS.get(file, "text" if folder in TEXT_FOLDERS else folder)


def squash(text: str) -> str:
    """Producers disagree on spaces (double spaces, line breaks inside table cells)."""
    return re.sub(r"\s+", "", text)


def test_manifest_bad_rows_all_have_an_expected_error() -> None:
    bad = {entry.file for entry in entries() if not _phrases(entry)}
    assert bad <= set(BAD_INPUTS)
    if shared_present():
        assert bad == set(BAD_INPUTS)


@pytest.mark.parametrize("entry", GOOD)
def test_expected_phrases_come_out(entry: Entry) -> None:
    document = extract_sync(entry.path.read_bytes(), entry.path.name)
    text = squash(document.text)
    missing = [phrase for phrase in _phrases(entry) if squash(phrase) not in text]
    assert not missing, f"{entry.file} lacks {missing}"
    assert document.pages >= 1
    assert document.format == expected_format(entry.file)


@pytest.mark.parametrize("entry", BAD)
def test_bad_inputs_fail_clearly(entry: Entry) -> None:
    with pytest.raises(BAD_INPUTS[entry.file]):
        extract_sync(entry.path.read_bytes(), entry.path.name)


def test_distribution_stub_is_never_returned() -> None:
    data = corpus_file("hwp/distribution_bid_notice.hwp").read_bytes()
    with pytest.raises(DistributionDocument) as caught:
        extract_sync(data, "bid.hwp")
    assert "상위 버전의 배포용 문서" not in str(caught.value)


def test_pdf_pages_are_marked_in_order() -> None:
    document = extract_sync(corpus_file("pdf/assembly_minutes_20p.pdf").read_bytes(), "minutes.pdf")
    assert document.pages == 20
    markers = re.findall(r"^\[p\. (\d+)\]$", document.text, flags=re.MULTILINE)
    assert markers == [str(n) for n in range(1, 21)]


def test_hwp_table_cells_are_kept_in_rows() -> None:
    document = extract_sync(corpus_file("hwp/weekly_report_form.hwp").read_bytes(), "report.hwp")
    assert "업무내용 | 완결여부 | 산출물 | 비고" in document.text


def test_grouped_pptx_shapes_are_read() -> None:
    document = extract_sync(corpus_file("pptx/pandas_concept.pptx").read_bytes(), "pandas.pptx")
    assert document.text.startswith("[슬라이드 1]")
    assert "[슬라이드 4]" in document.text and document.pages == 4


@pytest.mark.parametrize(
    "name", ["hwp/kps_ai_rfp.hwp", "hwpx/gangbuk_rfp.hwpx", "pdf/patent_ezpdf_22p.pdf"]
)
async def test_extraction_process_gives_the_same_text(name: str, extraction_pool: ExtractionPool) -> None:
    data = corpus_file(name).read_bytes()
    assert await extraction_pool.extract(data, Path(name).name) == extract_sync(data, Path(name).name)


async def test_extraction_process_keeps_error_classes(extraction_pool: ExtractionPool) -> None:
    with pytest.raises(EncryptedDocument):
        await extraction_pool.extract(corpus_file("hwp/password_12345.hwp").read_bytes(), "locked.hwp")
