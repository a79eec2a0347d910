"""Text in pictures and scanned PDF pages, read by Tesseract (Korean and English models) in the
extraction process: every picture format, pages of a scan, a PDF mixing text and scans, and the
limits a scan meets (page cap, time limit, huge pictures, no Tesseract installed)."""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path

import pytest

from bot.core.documents import ExtractionLimits, ExtractionPool, extract_sync
from bot.core.errors import (
    ExtractionTimeout,
    ImageTooLarge,
    NothingRecognized,
    OcrUnavailable,
    TooManyScannedPages,
)
from fakes import documents
from fakes.sagemaker import Reply
from tests.corpus_files import corpus_file
from tests.support import KOREAN, cli_env, prompts, run_bot
from tests.test_documents_hostile import bounded

READ = "Quarterly budget report\n\nPersonnel costs rose by twelve percent"


@pytest.mark.parametrize("format", ["PNG", "JPEG", "TIFF", "WEBP", "GIF"])
def test_every_picture_format_is_read(format: str) -> None:
    document = extract_sync(documents.picture_bytes(format), f"scan.{format.lower()}")
    assert (document.format, document.pages, document.text) == ("image", 1, READ)


def test_korean_page_picture_is_read() -> None:
    document = extract_sync(corpus_file("image/nuri_press_page1.jpg").read_bytes(), "보도자료.jpg")
    text = re.sub(r"\s+", "", document.text)
    assert "우주까지확장된새로운세상을연다는의미" in text and "명칭공모전에1만건이상응모" in text


def test_multipage_tiff_is_read_page_by_page() -> None:
    pages = [["First page of the scan"], ["Second page of the scan"]]
    document = extract_sync(documents.picture_bytes("TIFF", pages), "scan.tif")
    assert document.pages == 2
    assert document.text == "[p. 1]\nFirst page of the scan\n\n[p. 2]\nSecond page of the scan"


def test_pdf_mixing_text_and_scanned_pages_gets_both() -> None:
    pdf = documents.scanned_pdf([None, documents.SCAN_LINES])
    document = extract_sync(pdf, "mixed.pdf")
    assert (document.format, document.pages) == ("pdf", 2)
    assert document.text == f"[p. 1]\n텍스트가 있는 쪽입니다.\n\n[p. 2]\n{READ}"


def test_scanned_page_with_only_a_stamp_in_its_text_layer_is_read_too() -> None:
    document = extract_sync(documents.stamped_scan_pdf(documents.SCAN_LINES, "팩스 수신 1/1"), "fax.pdf")
    assert document.text.startswith(f"[p. 1]\n팩스 수신 1/1\n{READ}")


def test_picture_without_text_says_nothing_was_recognized() -> None:
    with pytest.raises(NothingRecognized) as caught:
        extract_sync(documents.noise_picture(), "noise.png")
    assert "글자를 알아보지 못했습니다" in KOREAN.for_error(caught.value)


# --- limits ------------------------------------------------------------------------------------------


async def test_thousand_page_scan_is_refused_at_once(extraction_pool: ExtractionPool) -> None:
    with bounded(seconds=3.0), pytest.raises(TooManyScannedPages) as caught:
        await extraction_pool.extract(documents.blank_pdf(1000), "scan.pdf")
    assert caught.value.params == {"limit": ExtractionLimits().max_ocr_pages}
    assert "문자 인식(OCR)은 한 문서에 20쪽까지만" in KOREAN.for_error(caught.value)


def test_huge_picture_is_refused_from_its_header() -> None:
    with bounded(seconds=1.0, memory_mib=50), pytest.raises(ImageTooLarge) as caught:
        extract_sync(documents.png_claiming(60_000, 60_000), "huge.png")
    assert "50백만 화소" in KOREAN.for_error(caught.value)


def test_scan_that_cannot_be_read_in_time_ends_in_the_timeout_message() -> None:
    with pytest.raises(ExtractionTimeout):
        extract_sync(documents.picture_bytes("PNG"), "scan.png", ExtractionLimits(timeout_seconds=0.001))


async def test_pages_read_are_reported_as_they_are_done(extraction_pool: ExtractionPool) -> None:
    reported: list[tuple[int, int]] = []
    scan = documents.scanned_pdf([["Page one"], ["Page two"], ["Page three"]])
    document = await extraction_pool.extract(scan, "scan.pdf", progress=lambda *step: reported.append(step))
    await asyncio.sleep(0)  # the last report is scheduled on the loop just before the reply
    assert reported == [(1, 3), (2, 3), (3, 3)]
    assert "[p. 3]\nPage three" in document.text


# --- through `python -m bot summarize` ------------------------------------------------------------


def test_summarize_command_reads_a_scanned_picture(sagemaker_thread, tmp_path: Path) -> None:
    sagemaker_thread.default = Reply("요약: 예산 보고서입니다.")
    path = tmp_path / "스캔.png"
    path.write_bytes(documents.picture_bytes("PNG"))
    result = run_bot("summarize", str(path), env=cli_env(sagemaker_thread))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "요약: 예산 보고서입니다.\n"
    assert any("Personnel costs rose by twelve percent" in prompt for prompt in prompts(sagemaker_thread))


def test_summarize_command_shows_the_scanned_pages_as_they_are_read(sagemaker_thread, tmp_path: Path) -> None:
    sagemaker_thread.default = Reply("요약: 두 쪽짜리 스캔입니다.")
    path = tmp_path / "스캔.tif"
    path.write_bytes(documents.picture_bytes("TIFF", [["First page of the scan"], ["Second page of the scan"]]))
    result = run_bot("summarize", str(path), env=cli_env(sagemaker_thread))
    assert result.returncode == 0, result.stderr
    assert KOREAN("doc_ocr_progress", done=1, total=2) in result.stderr  # while page 2 was read


def test_without_tesseract_the_bot_says_so(sagemaker_thread, tmp_path: Path) -> None:
    path = tmp_path / "스캔.png"
    path.write_bytes(documents.picture_bytes("PNG"))
    no_tesseract = tmp_path / "bin"
    no_tesseract.mkdir()
    assert shutil.which("tesseract", path=str(no_tesseract)) is None
    env = {**cli_env(sagemaker_thread), "PATH": str(no_tesseract)}
    result = run_bot("summarize", str(path), env=env)
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines()[-1] == KOREAN.for_error(OcrUnavailable())
    assert sagemaker_thread.requests == []
