"""OpenDocument text, spreadsheets and presentations (.odt, .ods, .odp): what a reader sees, in
order, with tracked deletions and comments left out and repeated empty cells not multiplied."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.documents import ExtractionLimits, extract_sync
from bot.core.errors import CorruptDocument, EncryptedDocument, TooManyPages
from fakes import documents
from fakes.sagemaker import Reply
from tests.support import cli_env, prompts, run_bot
from tests.test_documents_hostile import MIB, bounded


def test_odt_headings_paragraphs_lists_tables_boxes_and_notes() -> None:
    document = extract_sync(documents.odf_bytes("text", documents.ODT_BODY), "계획.odt")
    assert (document.format, document.pages) == ("odt", 1)
    assert document.text.splitlines() == [
        "# 사업 계획", "예산은 3억 원\t이다.", "다음 줄", "각주 내용", "첫 항목",
        "항목 | 금액", "인건비 | 1,200", "", "글상자 안의 글",
    ]
    assert "지운 문장" not in document.text and "메모는 빼고" not in document.text


def test_ods_sheets_keep_columns_and_real_repeats_only() -> None:
    document = extract_sync(documents.odf_bytes("spreadsheet", documents.ODS_BODY), "예산.ods")
    assert (document.format, document.pages) == ("ods", 1)
    assert document.text == "[시트: 예산]\n항목 | | | 비고\n같은 행\n같은 행"


def test_odp_slides_groups_tables_and_notes() -> None:
    document = extract_sync(documents.odf_bytes("presentation", documents.ODP_BODY), "발표.odp")
    assert (document.format, document.pages) == ("odp", 2)
    assert document.text == (
        "[슬라이드 1]\n발표 제목\n묶인 도형의 글\n[노트]\n발표자 노트\n\n[슬라이드 2]\n가 | 나"
    )


def test_encrypted_opendocument_says_password() -> None:
    manifest = ('<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
                '<manifest:file-entry manifest:full-path="content.xml"><manifest:encryption-data/>'
                "</manifest:file-entry></manifest:manifest>")
    with pytest.raises(EncryptedDocument):
        extract_sync(documents.odf_bytes("text", "<text:p>x</text:p>", manifest), "locked.odt")


def test_opendocument_limits_and_hostile_content() -> None:
    deck = documents.odf_bytes("presentation", "<draw:page/>" * 5)
    with pytest.raises(TooManyPages):
        extract_sync(deck, "long.odp", ExtractionLimits(max_pages=4))
    laughs = documents.replace_member(documents.odf_bytes("text", "<text:p>x</text:p>"), "content.xml",
                                      documents.billion_laughs("office:document-content"))
    with bounded(seconds=2.0), pytest.raises(CorruptDocument):
        extract_sync(laughs, "laughs.odt")
    bomb = documents.add_zeros_member(documents.odf_bytes("text", "<text:p>x</text:p>"), "Pictures/z.bin", 64 * MIB)
    with bounded(), pytest.raises(CorruptDocument, match="zip bomb"):
        extract_sync(bomb, "bomb.odt")


def test_summarize_command_reads_an_odt(sagemaker_thread, tmp_path: Path) -> None:
    sagemaker_thread.default = Reply("요약: 사업 계획입니다.")
    path = tmp_path / "계획.odt"
    path.write_bytes(documents.odf_bytes("text", documents.ODT_BODY))
    result = run_bot("summarize", str(path), env=cli_env(sagemaker_thread))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "요약: 사업 계획입니다.\n"
    assert any("인건비 | 1,200" in prompt for prompt in prompts(sagemaker_thread))
