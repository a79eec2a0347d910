"""Text files beyond the plain ones: UTF-16 saved without a BOM, and XML (RSS feeds, exports)
whose markup is removed while its text, CDATA included, is kept."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bot.core.documents import extract_sync
from bot.core.errors import CorruptDocument, UnsupportedDocument
from fakes import documents
from fakes.sagemaker import Reply
from tests.support import cli_env, prompts, run_bot
from tests.test_documents_hostile import bounded

MEMO = "한글 윈도우 메모장에서 BOM 없이 저장한 파일입니다.\r\n두 번째 줄: 가나다 ABC 123\r\n"
FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>과학기술 소식</title>
<item><title>누리호 명칭 확정</title><link>https://example.org/nuri</link>
<description><![CDATA[<p>국민이 정한 <b>이름</b>은 누리</p>]]></description></item>
<item><title>두 번째 소식</title><description>&lt;p&gt;발사는 &amp;lt;10월&amp;gt;&lt;/p&gt;</description></item>
</channel></rss>"""


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_text(encoding: str) -> None:
    document = extract_sync(MEMO.encode(encoding), "메모.txt")
    assert (document.format, document.text) == ("text", "한글 윈도우 메모장에서 BOM 없이 저장한 파일입니다.\n두 번째 줄: 가나다 ABC 123")


def test_binary_with_nul_bytes_is_still_not_text() -> None:
    for seed in range(20):
        with pytest.raises(UnsupportedDocument):
            extract_sync(random.Random(seed).randbytes(4096), "data.bin")


def test_rss_feed_keeps_its_text_and_cdata_without_markup() -> None:
    document = extract_sync(FEED.encode(), "feed.xml")
    assert document.text.splitlines() == [
        "과학기술 소식", "", "누리호 명칭 확정", "", "https://example.org/nuri", "", "국민이 정한 이름은 누리",
        "", "두 번째 소식", "", "발사는 <10월>",
    ]


def test_xml_in_a_declared_korean_encoding() -> None:
    data = '<?xml version="1.0" encoding="EUC-KR"?><명단><이름>홍길동</이름></명단>'.encode("euc-kr")
    assert extract_sync(data, "명단.xml").text == "홍길동"


def test_xml_entity_declarations_are_refused_not_expanded() -> None:
    with bounded(seconds=2.0), pytest.raises(CorruptDocument):
        extract_sync(documents.billion_laughs("feed"), "laughs.xml")


def test_malformed_xml_keeps_its_text() -> None:
    assert extract_sync("<?xml version='1.0'?><a><b>남은 글</a>".encode(), "cut.xml").text == "남은 글"


def test_summarize_command_reads_a_feed_without_its_markup(sagemaker_thread, tmp_path: Path) -> None:
    sagemaker_thread.default = Reply("요약: 누리호 소식입니다.")
    path = tmp_path / "feed.rss"
    path.write_text(FEED, encoding="utf-8")
    result = run_bot("summarize", str(path), env=cli_env(sagemaker_thread))
    assert result.returncode == 0, result.stderr
    sent = "\n".join(prompts(sagemaker_thread))
    assert "국민이 정한 이름은 누리" in sent and "CDATA" not in sent and "<description>" not in sent
