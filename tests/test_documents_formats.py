"""Each format family on documents built in memory (fakes/documents.py), format sniffing by
content, the limits, and the markup conventions other code relies on."""

from __future__ import annotations

import re

import pytest

from bot.config import Settings
from bot.core.documents import ExtractedDocument, ExtractionLimits, ExtractionPool, extract_sync
from bot.core.documents import sheets
from bot.core.documents.markup import tidy
from bot.core.errors import (
    CorruptDocument,
    DistributionDocument,
    DocumentTooLarge,
    EmptyDocument,
    EncryptedDocument,
    NoTextLayer,
    TooManyPages,
    UnsupportedDocument,
)
from tests.support import KOREAN
from fakes import documents

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(200)


# --- PDF ----------------------------------------------------------------------------------------


def test_long_korean_pdf_is_read_page_by_page() -> None:
    pages = 120
    document = extract_sync(documents.korean_pdf(pages, lines_per_page=10), "보고서.pdf")
    assert (document.format, document.pages) == ("pdf", pages)
    markers = re.findall(r"^\[p\. (\d+)\]$", document.text, flags=re.MULTILINE)
    assert markers == [str(n) for n in range(1, pages + 1)]
    page_57 = document.text.split("[p. 57]\n")[1].split("\n\n")[0]
    assert page_57.splitlines() == documents.korean_lines(pages * 10)[560:570]


def test_pdf_over_the_page_limit_is_refused() -> None:
    with pytest.raises(TooManyPages) as caught:
        extract_sync(documents.korean_pdf(12, lines_per_page=1), "a.pdf", ExtractionLimits(max_pages=10))
    assert caught.value.params == {"limit": 10}
    assert "10쪽" in KOREAN.for_error(caught.value)


def test_pdf_without_text_needs_ocr() -> None:
    with pytest.raises(NoTextLayer):
        extract_sync(documents.blank_pdf(3), "scan.pdf")


# --- HWP / HWPX ---------------------------------------------------------------------------------


@pytest.mark.parametrize("flags", [documents.HWP_COMPRESSED, 0], ids=["compressed", "stored"])
def test_hwp_paragraphs_tables_and_sections(flags: int) -> None:
    document = extract_sync(documents.sample_hwp(flags), "보고서.hwp")
    assert (document.format, document.pages) == ("hwp", 2)
    assert document.text.splitlines() == [
        "보고서 제목\t탭 뒤", "", "성명 | 소속", "홍길동 | 기획팀", "표 다음 문단입니다.", "", "두 번째 구역",
    ]


@pytest.mark.parametrize(
    ("flags", "error"),
    [(documents.HWP_PASSWORD, EncryptedDocument), (documents.HWP_DISTRIBUTION, DistributionDocument)],
)
def test_locked_hwp_is_refused(flags: int, error: type[Exception]) -> None:
    with pytest.raises(error):
        extract_sync(documents.sample_hwp(documents.HWP_COMPRESSED | flags), "locked.hwp")


def test_hwp_section_count_is_limited() -> None:
    with pytest.raises(TooManyPages):
        extract_sync(documents.sample_hwp(), "a.hwp", ExtractionLimits(max_pages=1))


def test_word_stream_without_a_fib_is_damaged() -> None:
    # Word files are read now (tests/test_documents_legacy.py); one without its FIB is broken.
    zeroed_word = documents.ole_file([("Root Entry", None, None), ("WordDocument", b"\0" * 100, None)])
    with pytest.raises(CorruptDocument):
        extract_sync(zeroed_word, "old.doc")


def test_hwpx_text_tabs_tables_and_sections() -> None:
    document = extract_sync(documents.sample_hwpx(), "문서.hwpx")
    assert (document.format, document.pages) == ("hwpx", 2)
    assert document.text.splitlines() == [
        "한글 문서의 첫 문단\t탭 뒤의 글", "", "항목 | 금액", "인건비 | 3,000만원", "", "두 번째 구역의 문단",
    ]


def test_hwpx_recognised_by_mimetype_alone() -> None:
    section = documents.hwpx_section(documents.hwpx_paragraph("본문"))
    package = documents.replace_member(
        documents.hwpx_bytes([]), "Contents/section1.xml", section.encode()
    )
    assert extract_sync(package, "x.zip").format == "hwpx"


def test_encrypted_hwpx_is_refused() -> None:
    manifest = b'<manifest><file-entry><encryption-data algorithm="AES"/></file-entry></manifest>'
    package = documents.hwpx_bytes(["garbage"], extra={"META-INF/manifest.xml": manifest})
    with pytest.raises(EncryptedDocument):
        extract_sync(package, "locked.hwpx")


# --- DOCX / PPTX / XLSX -------------------------------------------------------------------------


def test_docx_body_order_headings_and_tables() -> None:
    document = extract_sync(documents.docx_bytes(), "계획.docx")
    assert document.format == "docx"
    assert document.text.splitlines() == [
        "# 사업 계획서",
        "첫 번째 문단은 표 앞에 있습니다.",
        "구분 | 예산 | 비고",
        "인건비 | 1,000 | 연간 중첩 표",
        "합계는 병합된 셀",
        "## 세부 내용",
        "마지막 문단은 표 뒤에 있습니다.",
    ]


def test_pptx_slides_groups_tables_and_notes() -> None:
    document = extract_sync(documents.pptx_bytes(), "발표.pptx")
    assert (document.format, document.pages) == ("pptx", 2)
    assert document.text.split("\n\n") == [
        "[슬라이드 1]\n분기 실적 발표\n그룹 안의 글상자\n그룹 속 그룹의 글\n지역 | 매출\n서울 | 120억\n"
        "[노트]\n발표자 노트: 전년 대비 증가",
        "[슬라이드 2]\n두 번째 슬라이드",
    ]


def test_xlsx_sheets_rows_and_values() -> None:
    document = extract_sync(documents.xlsx_bytes(), "매출.xlsx")
    assert (document.format, document.pages) == ("xlsx", 2)
    assert document.text.split("\n\n") == [
        "[시트: 매출]\n지역 | 금액 | 날짜\n지점1 | 1000 | 2026-11-01\n지점2 | 1001 | 2026-11-02\n"
        "지점3 | 1002 | 2026-11-03",
        "[시트: 메모]\n비고 | | 끝",
    ]


def test_xlsx_long_sheets_are_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sheets, "MAX_ROWS_PER_SHEET", 5)
    text = extract_sync(documents.xlsx_bytes(rows=20), "big.xlsx").text
    sheet = text.split("\n\n")[0].splitlines()
    assert len(sheet) == 1 + 5 + 1 and "생략" in sheet[-1]


@pytest.mark.parametrize(
    ("data", "name"),
    [(documents.empty_docx(), "empty.docx"), (documents.pptx_bytes(empty=True), "empty.pptx"),
     (b" \n\t\n", "blank.txt")],
)
def test_documents_without_content_are_empty(data: bytes, name: str) -> None:
    with pytest.raises(EmptyDocument):
        extract_sync(data, name)


# --- text-like ----------------------------------------------------------------------------------

KOREAN_TEXT = "안녕하세요, 한국어 문서입니다.\n둘째 줄"


@pytest.mark.parametrize(
    "data",
    [KOREAN_TEXT.encode(), b"\xef\xbb\xbf" + KOREAN_TEXT.encode(), KOREAN_TEXT.encode("utf-16"),
     KOREAN_TEXT.encode("cp949"), KOREAN_TEXT.encode("euc-kr")],
    ids=["utf-8", "utf-8-bom", "utf-16", "cp949", "euc-kr"],
)
def test_text_encodings(data: bytes) -> None:
    document = extract_sync(data, "메모.txt")
    assert (document.format, document.text, document.pages) == ("text", KOREAN_TEXT, 1)


def test_cp949_notepad_file() -> None:
    assert "가나다라마바사" in extract_sync(documents.cp949_text(), "memo.txt").text


def test_html_shows_only_visible_text() -> None:
    html = (
        "<!DOCTYPE html><html><head><title>공지</title><style>p{color:red}</style>"
        "<script>alert('x')</script></head><body><h2>제목</h2><div><div>첫 줄</div><div>둘째"
        "   줄</div></div><table><tr><td>가</td><td>나</td></tr></table><p>끝&amp;</p></body></html>"
    )
    text = extract_sync(html.encode(), "page.html").text
    assert text == "공지\n\n## 제목\n\n첫 줄\n둘째 줄\n\n가 | 나\n\n끝&"


def test_tabs_and_indentation_of_text_files_survive() -> None:
    source = "def f():\n    return 1\n\n\n\n이름\t나이\n홍길동\t30   \n"
    assert extract_sync(source.encode(), "a.py").text == "def f():\n    return 1\n\n이름\t나이\n홍길동\t30"


# --- sniffing by content ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name", "kind"),
    [(documents.docx_bytes(), "misnamed.pdf", "docx"), (documents.korean_pdf(1, 1), "scan.txt", "pdf"),
     (documents.sample_hwp(), "misnamed.hwpx", "hwp"), (documents.xlsx_bytes(), "noextension", "xlsx")],
)
def test_format_comes_from_the_bytes(data: bytes, name: str, kind: str) -> None:
    assert extract_sync(data, name).format == kind


@pytest.mark.parametrize(
    ("data", "name", "error"),
    # Pictures are read by OCR now (tests/test_documents_ocr.py); this JPEG is only a header.
    [(JPEG, "photo.pdf", CorruptDocument), (JPEG, "photo.jpg", CorruptDocument),
     (documents.replace_member(documents.docx_bytes(), "word/document.xml", b"<broken"), "b.docx",
      CorruptDocument),
     (documents.hwpx_bytes([]), "empty.hwpx", CorruptDocument)],
    ids=["jpeg-named-pdf", "broken-jpeg", "broken-docx-xml", "hwpx-without-sections"],
)
def test_non_documents_get_their_clear_error(data: bytes, name: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        extract_sync(data, name)


def test_plain_zip_archive_is_unsupported() -> None:
    archive = documents.replace_member(documents.hwpx_bytes([]), "mimetype", b"application/zip")
    with pytest.raises(UnsupportedDocument):
        extract_sync(archive, "files.zip")


# --- limits and markup ----------------------------------------------------------------------------


def test_limits_from_settings() -> None:
    settings = Settings(
        doc_max_bytes=2048, doc_max_pages=7, doc_extract_timeout_seconds=3.5,
        doc_max_uncompressed_bytes=4096, doc_max_compression_ratio=50,
    )
    assert ExtractionLimits.from_settings(settings) == ExtractionLimits(2048, 7, 3.5, 4096, 50)


def test_size_is_checked_before_any_work() -> None:
    limits = ExtractionLimits(max_bytes=5 * 1024 * 1024)
    with pytest.raises(DocumentTooLarge) as caught:
        extract_sync(b"\0" * (limits.max_bytes + 1), "huge.bin", limits)
    assert caught.value.params == {"limit_mb": 5}
    assert "5MB" in KOREAN.for_error(caught.value)


def test_tidy_collapses_spaces_but_keeps_paragraphs() -> None:
    raw = "  첫째\u3000\u3000문단   입니다  \r\n두 번째 줄\n\n\n\n\n둘째 문단\x07\n"
    assert tidy(raw) == "첫째 문단 입니다\n두 번째 줄\n\n둘째 문단"


# --- through the extraction process -------------------------------------------------------------------


async def test_extraction_process_equals_in_process(extraction_pool: ExtractionPool) -> None:
    data = documents.docx_bytes()
    document = await extraction_pool.extract(data, "계획.docx")
    assert isinstance(document, ExtractedDocument)
    assert document == extract_sync(data, "계획.docx")


async def test_extraction_process_error_keeps_its_parameters(extraction_pool: ExtractionPool) -> None:
    with pytest.raises(TooManyPages) as caught:
        await extraction_pool.extract(documents.korean_pdf(3, 1), "a.pdf", ExtractionLimits(max_pages=2))
    assert caught.value.params == {"limit": 2}


async def test_too_large_is_refused_before_the_extraction_process(extraction_pool: ExtractionPool) -> None:
    with pytest.raises(DocumentTooLarge):
        await extraction_pool.extract(b"x" * 2048, "a.txt", ExtractionLimits(max_bytes=1024))


def test_every_readable_format_is_known_to_the_metrics_without_loading_the_readers() -> None:
    from bot.core.documents.extract import EXTRACTORS
    from bot.core.metrics import DOCUMENT_FORMATS

    assert sorted(DOCUMENT_FORMATS) == sorted(EXTRACTORS)
