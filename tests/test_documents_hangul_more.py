"""Hangul's other files: HWPML (.hml, the XML export) read as text, wherever its text sits, and
HWP 3.0 (Hangul 97 and older), tables and notes included."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.documents import ExtractionLimits, extract_sync
from bot.core.errors import CorruptDocument, DocumentTooLarge, EncryptedDocument
from fakes import documents
from fakes.sagemaker import Reply
from tests.support import cli_env, prompts, run_bot
from tests.test_documents_hostile import MIB, bounded


def test_hwpml_text_from_headers_tables_and_shapes_with_tabs_as_whitespace() -> None:
    pictures = "<BINDATASTORAGE><BINDATA>" + "QUJD" * 1000 + "</BINDATA></BINDATASTORAGE>"
    document = extract_sync(documents.hwpml_bytes(documents.HWPML_BODY, tail=pictures), "시험.hml")
    assert (document.format, document.pages) == ("hml", 1)
    assert document.text.splitlines() == [
        "문단 앞\t탭 \t사이", "다음 줄", "머리말 제목", "", "항목 | 금액", "인건비 | 3,000", "", "도형 안의 글",
    ]
    assert "QUJD" not in document.text and "2012년" not in document.text


def test_hwpml_is_known_by_its_root_whatever_its_name() -> None:
    document = extract_sync(documents.hwpml_bytes(documents.hwpml_paragraph("<CHAR>본문</CHAR>")), "export.xml")
    assert (document.format, document.text) == ("hml", "본문")


def test_hwpml_with_entity_expansion_is_refused_at_once() -> None:
    laughs = documents.billion_laughs("HWPML")
    with bounded(seconds=2.0), pytest.raises(CorruptDocument):
        extract_sync(laughs, "laughs.hml")


def test_damaged_hwpml_is_damaged() -> None:
    with pytest.raises(CorruptDocument):
        extract_sync(documents.hwpml_bytes(documents.HWPML_BODY)[:-40], "cut.hml")


def test_hwp3_paragraphs_tables_and_footnotes() -> None:
    document = extract_sync(documents.hwp3_bytes(), "옛문서.hwp")
    assert (document.format, document.pages) == ("hwp3", 1)
    assert document.text.splitlines() == [
        "옛 한글 문서의 첫 문단\t탭 뒤", "", "성명 | 소속", "홍길동 | 기획팀", "각주가 달린 문단", "각주의 글",
    ]


def test_encrypted_hwp3_says_password() -> None:
    with pytest.raises(EncryptedDocument):
        extract_sync(documents.hwp3_bytes(encrypted=True), "잠긴문서.hwp")


def test_hwp3_decompression_bomb_stops_at_the_budget() -> None:
    bomb = documents.hwp3_bytes(body=bytes(64 * MIB))
    with bounded(memory_mib=100), pytest.raises(DocumentTooLarge):
        extract_sync(bomb, "bomb.hwp", ExtractionLimits(max_uncompressed_bytes=16 * MIB))


def test_cut_or_garbled_hwp3_is_damaged() -> None:
    whole = documents.hwp3_bytes(compressed=False)
    for damaged in (whole[:-40], whole[:1200], whole[:1166] + bytes([0x13, 0x57]) * 500):
        with bounded(), pytest.raises(CorruptDocument):
            extract_sync(damaged, "damaged.hwp")


def test_summarize_command_reads_hwpml(sagemaker_thread, tmp_path: Path) -> None:
    sagemaker_thread.default = Reply("요약: 시험 문제입니다.")
    path = tmp_path / "시험.hml"
    path.write_bytes(documents.hwpml_bytes(documents.HWPML_BODY))
    result = run_bot("summarize", str(path), env=cli_env(sagemaker_thread))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "요약: 시험 문제입니다.\n"
    sent = "\n".join(prompts(sagemaker_thread))
    assert "인건비 | 3,000" in sent and "<CHAR>" not in sent


def test_summarize_command_reads_hwp3(sagemaker_thread, tmp_path: Path) -> None:
    sagemaker_thread.default = Reply("요약: 옛 문서입니다.")
    path = tmp_path / "옛문서.hwp"
    path.write_bytes(documents.hwp3_bytes())
    result = run_bot("summarize", str(path), env=cli_env(sagemaker_thread))
    assert result.returncode == 0, result.stderr
    assert any("홍길동 | 기획팀" in prompt for prompt in prompts(sagemaker_thread))
