"""Legacy binary Office files (Word .doc, Excel .xls, PowerPoint .ppt), told apart by the streams
of their OLE compound file, never by their names: text, table rows, notes, and the files a
public-sector archive also holds (password-protected, damaged, hostile)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from bot.core.documents import ExtractionLimits, ExtractionPool, extract_sync
from bot.core.errors import (
    CorruptDocument,
    DocumentTooLarge,
    EncryptedDocument,
    TooManyPages,
    UnsupportedDocument,
)
from fakes import documents
from fakes.sagemaker import Reply
from tests.support import KOREAN, cli_env, prompts, run_bot
from tests.test_documents_hostile import bounded

MINUTES = ["주간 회의록", [["안건", "담당", "기한"], ["예산 검토", "홍길동", "3월 2일"]], "다음 회의는 금요일이다."]


def test_doc_paragraphs_and_table_rows() -> None:
    document = extract_sync(documents.doc_bytes(MINUTES, footnotes=["각주: 예산은 잠정치이다."]), "회의록.doc")
    assert (document.format, document.pages) == ("doc", 1)
    assert document.text.splitlines() == [
        "주간 회의록", "안건 | 담당 | 기한", "예산 검토 | 홍길동 | 3월 2일", "다음 회의는 금요일이다.",
        "", "각주: 예산은 잠정치이다.",
    ]


def test_doc_empty_cells_keep_their_columns() -> None:
    # Only the PAPX tells an empty last cell from the end of the row.
    table = [["Name", "Team", ""], ["", "Ops", "note"]]
    document = extract_sync(documents.doc_bytes(["Staff", table]), "staff.doc")
    assert document.text.splitlines() == ["Staff", "Name | Team", "| Ops | note"]


def test_xls_sheets_rows_and_numbers() -> None:
    workbook = {"예산": [["항목", "금액"], ["인건비", 1200.0], ["예비비", 0.0], ["비율", 0.25]], "메모": [["검토 완료"]]}
    document = extract_sync(documents.xls_bytes(workbook), "예산.xls")
    assert (document.format, document.pages) == ("xls", 2)
    assert document.text == (
        "[시트: 예산]\n항목 | 금액\n인건비 | 1200\n예비비 | 0\n비율 | 0.25\n\n[시트: 메모]\n검토 완료"
    )


def test_ppt_text_boxes_slide_list_and_notes() -> None:
    deck = documents.ppt_bytes(
        [["분기 실적 보고", "매출이 12% 늘었다"], ["향후 계획"]],
        notes={1: "질문을 받는다"}, listed={0: "목차에 적힌 제목"},
    )
    document = extract_sync(deck, "실적.ppt")
    assert (document.format, document.pages) == ("ppt", 2)
    assert document.text == (
        "[슬라이드 1]\n목차에 적힌 제목\n분기 실적 보고\n매출이 12% 늘었다\n\n"
        "[슬라이드 2]\n향후 계획\n[노트]\n질문을 받는다"
    )


@pytest.mark.parametrize(
    ("data", "name", "kind"),
    [(documents.doc_bytes(["본문"]), "report.hwp", "doc"),
     (documents.xls_bytes({"s": [["값"]]}), "data.doc", "xls"),
     (documents.ppt_bytes([["슬라이드"]]), "deck.xls", "ppt")],
)
def test_format_comes_from_the_streams_not_the_name(data: bytes, name: str, kind: str) -> None:
    assert extract_sync(data, name).format == kind


@pytest.mark.parametrize(
    "data",
    [documents.doc_bytes(["비밀"], encrypted=True), documents.xls_bytes({"s": [["비밀"]]}, encrypted=True),
     documents.ppt_bytes([["비밀"]], encrypted=True),
     documents.ole_file([("Root Entry", None, None), ("EncryptionInfo", b"\4\0\4\0", None),
                         ("EncryptedPackage", bytes(64), None)])],
    ids=["doc", "xls", "ppt", "docx-with-password"],
)
def test_password_protected_office_files_say_password(data: bytes) -> None:
    with pytest.raises(EncryptedDocument) as caught:
        extract_sync(data, "locked.doc")
    assert "암호" in KOREAN.for_error(caught.value)


def test_word_95_is_named_as_too_old() -> None:
    word = bytearray(documents.doc_bytes(["옛 문서"]))
    fib = word.index(struct.pack("<HH", 0xA5EC, 0x00C1))
    word[fib + 2 : fib + 4] = struct.pack("<H", 0x0068)  # nFib of Word 6.0/95
    with pytest.raises(UnsupportedDocument) as caught:
        extract_sync(bytes(word), "old.doc")
    assert KOREAN.for_error(caught.value) == (
        "Word 6.0/95 형식의 오래된 문서는 읽을 수 없습니다. 새 형식(DOCX)으로 저장해 다시 보내 주세요."
    )


def test_other_ole_files_are_unsupported_not_damaged() -> None:
    msi_like = documents.ole_file([("Root Entry", None, None), ("SummaryData", b"x", None)])
    with pytest.raises(UnsupportedDocument):
        extract_sync(msi_like, "setup.doc")


def test_ppt_slide_count_is_limited() -> None:
    deck = documents.ppt_bytes([[f"{n}번 슬라이드"] for n in range(5)])
    with pytest.raises(TooManyPages):
        extract_sync(deck, "long.ppt", ExtractionLimits(max_pages=4))


# --- hostile -----------------------------------------------------------------------------------------


def test_doc_piece_table_claiming_gigabytes_is_too_large() -> None:
    word = documents.doc_bytes(["짧은 문서"])
    # The one piece descriptor's end CP (the second CP of the PlcPcd) is set to 2^31 characters.
    table_at = word.index(b"\x02" + struct.pack("<I", 16))
    hostile = bytearray(word)
    hostile[table_at + 9 : table_at + 13] = struct.pack("<I", 2**31)
    with bounded(), pytest.raises(DocumentTooLarge):
        extract_sync(bytes(hostile), "huge.doc")


def test_ppt_edit_chain_loop_ends() -> None:
    deck = bytearray(documents.ppt_bytes([["a"]]))
    edit = deck.index(struct.pack("<HHI", 0, 0x0FF5, 28))  # the UserEditAtom's header
    # The Current User atom's offsetToCurrentEdit follows its header token.
    current_edit = deck[deck.index(struct.pack("<I", 0xE391C05F)) + 4 :][:4]
    deck[edit + 16 : edit + 20] = current_edit  # offsetLastEdit: this same edit, a cycle
    with bounded():
        document = extract_sync(bytes(deck), "loop.ppt")
    assert document.text == "[슬라이드 1]\na"


async def test_truncated_legacy_files_are_damaged(extraction_pool: ExtractionPool) -> None:
    for data, name in [(documents.doc_bytes(MINUTES), "a.doc"), (documents.ppt_bytes([["a"]]), "a.ppt"),
                       (documents.xls_bytes({"s": [["a"]]}), "a.xls")]:
        with bounded(), pytest.raises(CorruptDocument):
            await extraction_pool.extract(data[:1500], name)


# --- through `python -m bot summarize` ------------------------------------------------------------


def test_summarize_command_reads_a_doc_with_its_table(sagemaker_thread, tmp_path: Path) -> None:
    sagemaker_thread.default = Reply("요약: 회의록입니다.")
    path = tmp_path / "회의록.doc"
    path.write_bytes(documents.doc_bytes(MINUTES))
    result = run_bot("summarize", str(path), env=cli_env(sagemaker_thread))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "요약: 회의록입니다.\n"
    assert any("예산 검토 | 홍길동 | 3월 2일" in prompt for prompt in prompts(sagemaker_thread))
