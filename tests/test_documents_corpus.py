"""Real Korean documents from shared/corpus (see its README.md and MANIFEST.tsv): every expected
phrase must come out, every bad input must fail with its own clear error."""

from __future__ import annotations

import csv
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
from tests.support import CORPUS

MANIFEST = CORPUS / "MANIFEST.tsv"

# The rows without phrases, and what their notes say a correct extractor does with them.
BAD_INPUTS: dict[str, type[DocumentError]] = {
    "hwp/distribution_bid_notice.hwp": DistributionDocument,
    "hwp/password_12345.hwp": EncryptedDocument,
    "pdf/password_protected.pdf": EncryptedDocument,
    "pdf/scanned_image_only.pdf": NoTextLayer,
    "pdf/fake_jpg.pdf": CorruptDocument,
}
# Extensions lie: these files must be read as what their bytes say.
REAL_FORMATS = {"hwpx/hwp5_named_hwpx.hwpx": "hwp"}
TEXT_FOLDERS = {"txt", "csv", "html"}



def test_corpus_is_beside_the_checkout():
    # CI clones the project with shared/ beside it; without it every corpus test would vanish.
    assert MANIFEST.exists(), f"no corpus at {CORPUS}: clone the project beside shared/"


def _rows() -> list[dict[str, str]]:
    if not MANIFEST.exists():
        return []
    with MANIFEST.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def _phrases(row: dict[str, str]) -> list[str]:
    return [phrase.strip() for phrase in row["expected_phrases"].split(" | ") if phrase.strip()]


GOOD = [pytest.param(row, id=row["file"]) for row in _rows() if _phrases(row)]
BAD = [pytest.param(row, id=row["file"]) for row in _rows() if not _phrases(row)]


def expected_format(file: str) -> str:
    folder = file.split("/")[0]
    return REAL_FORMATS.get(file, "text" if folder in TEXT_FOLDERS else folder)


def squash(text: str) -> str:
    """Producers disagree on spaces (double spaces, line breaks inside table cells)."""
    return re.sub(r"\s+", "", text)


def test_manifest_bad_rows_all_have_an_expected_error() -> None:
    assert {row["file"] for row in _rows() if not _phrases(row)} == set(BAD_INPUTS)


@pytest.mark.parametrize("row", GOOD)
def test_expected_phrases_come_out(row: dict[str, str]) -> None:
    path = CORPUS / row["file"]
    document = extract_sync(path.read_bytes(), path.name)
    text = squash(document.text)
    missing = [phrase for phrase in _phrases(row) if squash(phrase) not in text]
    assert not missing, f"{row['file']} lacks {missing}"
    assert document.pages >= 1
    assert document.format == expected_format(row["file"])


@pytest.mark.parametrize("row", BAD)
def test_bad_inputs_fail_clearly(row: dict[str, str]) -> None:
    path = CORPUS / row["file"]
    with pytest.raises(BAD_INPUTS[row["file"]]):
        extract_sync(path.read_bytes(), path.name)


def test_distribution_stub_is_never_returned() -> None:
    data = (CORPUS / "hwp/distribution_bid_notice.hwp").read_bytes()
    with pytest.raises(DistributionDocument) as caught:
        extract_sync(data, "bid.hwp")
    assert "상위 버전의 배포용 문서" not in str(caught.value)


def test_pdf_pages_are_marked_in_order() -> None:
    document = extract_sync((CORPUS / "pdf/assembly_minutes_20p.pdf").read_bytes(), "minutes.pdf")
    assert document.pages == 20
    markers = re.findall(r"^\[p\. (\d+)\]$", document.text, flags=re.MULTILINE)
    assert markers == [str(n) for n in range(1, 21)]


def test_hwp_table_cells_are_kept_in_rows() -> None:
    document = extract_sync((CORPUS / "hwp/weekly_report_form.hwp").read_bytes(), "report.hwp")
    assert "업무내용 | 완결여부 | 산출물 | 비고" in document.text


def test_grouped_pptx_shapes_are_read() -> None:
    document = extract_sync((CORPUS / "pptx/pandas_concept.pptx").read_bytes(), "pandas.pptx")
    assert document.text.startswith("[슬라이드 1]")
    assert "[슬라이드 4]" in document.text and document.pages == 4


@pytest.mark.parametrize(
    "name", ["hwp/kps_ai_rfp.hwp", "hwpx/gangbuk_rfp.hwpx", "pdf/patent_ezpdf_22p.pdf"]
)
async def test_extraction_process_gives_the_same_text(name: str, extraction_pool: ExtractionPool) -> None:
    data = (CORPUS / name).read_bytes()
    assert await extraction_pool.extract(data, Path(name).name) == extract_sync(data, Path(name).name)


async def test_extraction_process_keeps_error_classes(extraction_pool: ExtractionPool) -> None:
    with pytest.raises(EncryptedDocument):
        await extraction_pool.extract((CORPUS / "hwp/password_12345.hwp").read_bytes(), "locked.hwp")
