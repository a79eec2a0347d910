"""Hangul's other files: HWPML (.hml, the XML export) read as text, wherever its text sits;
HWP 3.0 named as the old format it is, with what to do about it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.documents import extract_sync
from bot.core.errors import CorruptDocument, EncryptedDocument, OldFormatDocument
from fakes import documents
from fakes.sagemaker import Reply
from tests.support import KOREAN, cli_env, prompts, run_bot
from tests.test_documents_hostile import bounded


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


def test_hwp3_names_the_old_version_and_what_to_do() -> None:
    with pytest.raises(OldFormatDocument) as caught:
        extract_sync(documents.hwp3_bytes(), "옛문서.hwp")
    assert KOREAN.for_error(caught.value) == (
        "한글 3.0(HWP 3) 형식의 오래된 문서는 읽을 수 없습니다. 새 형식(HWP 또는 HWPX)으로 저장해 다시 보내 주세요."
    )


def test_encrypted_hwp3_says_password() -> None:
    with pytest.raises(EncryptedDocument):
        extract_sync(documents.hwp3_bytes(encrypted=True), "잠긴문서.hwp")


def test_summarize_command_reads_hwpml(sagemaker_thread, tmp_path: Path) -> None:
    sagemaker_thread.default = Reply("요약: 시험 문제입니다.")
    path = tmp_path / "시험.hml"
    path.write_bytes(documents.hwpml_bytes(documents.HWPML_BODY))
    result = run_bot("summarize", str(path), env=cli_env(sagemaker_thread))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "요약: 시험 문제입니다.\n"
    sent = "\n".join(prompts(sagemaker_thread))
    assert "인건비 | 3,000" in sent and "<CHAR>" not in sent


def test_summarize_command_explains_hwp3(sagemaker_thread, tmp_path: Path) -> None:
    path = tmp_path / "옛문서.hwp"
    path.write_bytes(documents.hwp3_bytes())
    result = run_bot("summarize", str(path), env=cli_env(sagemaker_thread))
    assert result.returncode == 1
    assert "한글 3.0(HWP 3)" in result.stderr.strip().splitlines()[-1]
    assert sagemaker_thread.requests == []
