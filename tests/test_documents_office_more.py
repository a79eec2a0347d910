"""Office Open XML beyond the body: DOCX footnotes, endnotes, headers and footers, comments,
text boxes (once) and tracked changes; PPTX charts and SmartArt; XLSX formulas' cached values."""

from __future__ import annotations

from pathlib import Path

from bot.core.documents import extract_sync
from fakes import documents
from fakes.sagemaker import Reply
from tests.support import cli_env, prompts, run_bot


def test_docx_reads_what_word_keeps_outside_the_body() -> None:
    document = extract_sync(documents.docx_with_notes(), "계약서.docx")
    assert document.text.splitlines() == [
        "계약 기간은 3년이다.",  # the tracked insertion kept, the deletion (2년) dropped
        "그림 설명:", "글상자 속 안내문",  # the text box once, not again from its VML fallback
        "", "[각주]", "각주: 계약법 제3조",
        "", "[미주]", "미주: 참고 문헌",
        "", "[머리글]", "대외비 문서",  # two identical headers, read once
        "", "[바닥글]", "- 1 -",
        "", "[메모]", "기간을 다시 확인할 것",
    ]


def test_pptx_chart_titles_series_and_smartart() -> None:
    document = extract_sync(documents.pptx_with_chart_and_diagram(), "매출.pptx")
    assert document.text.splitlines() == [
        "[슬라이드 1]", "지역별 분기 매출", "서울 매출 | 부산 매출", "기획", "개발", "출시",
    ]


def test_xlsx_formula_gives_its_cached_value() -> None:
    document = extract_sync(documents.xlsx_with_formula(), "예산.xlsx")
    first_sheet = document.text.split("\n\n")[0]
    assert first_sheet.splitlines()[1:] == ["인건비 | 1200", "합계 | 2400"]


def test_summarize_command_sends_docx_footnotes(sagemaker_thread, tmp_path: Path) -> None:
    sagemaker_thread.default = Reply("요약: 계약서입니다.")
    path = tmp_path / "계약서.docx"
    path.write_bytes(documents.docx_with_notes())
    result = run_bot("summarize", str(path), env=cli_env(sagemaker_thread))
    assert result.returncode == 0, result.stderr
    sent = "\n".join(prompts(sagemaker_thread))
    assert "각주: 계약법 제3조" in sent and "2년" not in sent
