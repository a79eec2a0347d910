"""A long document's parts are summarized one by one: each part still says which page, slide or
sheet its text came from, and the model is asked to cite them."""

from __future__ import annotations

import re

from bot.core.conversation import ConversationKey
from bot.core.documents import extract_sync
from fakes import documents
from fakes.sagemaker import Reply
from tests.support import make_engine

KEY = ConversationKey("console", ("places",))


async def test_every_part_of_a_long_pdf_names_its_page(sagemaker, redis_url, redis_prefix) -> None:
    sagemaker.default = Reply("부분 요약입니다.")
    engine = make_engine(sagemaker, redis_url, redis_prefix, llm_context_tokens=2048, llm_max_new_tokens=512)
    pdf = documents.korean_pdf(40, lines_per_page=30)
    try:
        await engine.summarize_document(KEY, pdf, "보고서.pdf")
    finally:
        await engine.aclose()
    maps = [r.json["inputs"] for r in sagemaker.requests if "번째 부분입니다" in r.json["inputs"]]
    assert len(maps) > 3
    for prompt in maps:
        body = prompt.split("괄호로 함께 적으세요.", 1)[1]
        assert re.match(r"\s*\[p\. \d+\]\n", body), body[:80]  # starts with the page it continues
    pages = [set(re.findall(r"\[p\. (\d+)\]", prompt)) for prompt in maps]
    assert set().union(*pages) == {str(n) for n in range(1, 41)}
    continued = [sorted(map(int, found))[0] for found in pages[1:]]
    assert any(str(first) in earlier for first, earlier in zip(continued, pages))  # a page split in two


def test_table_rows_read_the_same_in_every_format() -> None:
    rows = ["성명 | 소속", "홍길동 | 기획팀"]
    texts = {
        "hwp": extract_sync(documents.sample_hwp(), "a.hwp").text,
        "hwp3": extract_sync(documents.hwp3_bytes(), "a.hwp").text,
        "doc": extract_sync(documents.doc_bytes([[["성명", "소속"], ["홍길동", "기획팀"]]]), "a.doc").text,
        "xls": extract_sync(documents.xls_bytes({"s": [["성명", "소속"], ["홍길동", "기획팀"]]}), "a.xls").text,
        "hml": extract_sync(documents.hwpml_bytes(documents.hwpml_paragraph(
            "<TABLE><ROW><CELL><PARALIST><P><TEXT><CHAR>성명</CHAR></TEXT></P></PARALIST></CELL><CELL><PARALIST>"
            "<P><TEXT><CHAR>소속</CHAR></TEXT></P></PARALIST></CELL></ROW><ROW><CELL><PARALIST><P><TEXT>"
            "<CHAR>홍길동</CHAR></TEXT></P></PARALIST></CELL><CELL><PARALIST><P><TEXT><CHAR>기획팀</CHAR></TEXT>"
            "</P></PARALIST></CELL></ROW></TABLE>")), "a.hml").text,
    }
    for kind, text in texts.items():
        lines = text.splitlines()
        assert rows[0] in lines and lines[lines.index(rows[0]) + 1] == rows[1], kind
