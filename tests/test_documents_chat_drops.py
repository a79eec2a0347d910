"""The new formats dropped in a chat: a Word 97 file in Slack and an HWP 3.0 file through
Discord's /summarize are read like any document, tables and all; a password-protected legacy file
gets its own message in the thread."""

from __future__ import annotations

from fakes import documents
from fakes.sagemaker import FakeSageMaker, Reply
from fakes.slack import FakeSlack
from tests.discord_support import Harness
from tests.slack_support import StartSlackBot
from tests.support import KOREAN, prompts

MINUTES = ["주간 회의록", [["안건", "담당"], ["예산 검토", "홍길동"]]]


async def test_doc_dropped_in_slack_is_summarized_with_its_table(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    sagemaker.script("요약: 예산 검토는 홍길동 담당입니다.")
    async with slack_bot() as bot:
        file = fake_slack.add_file(documents.doc_bytes(MINUTES), "회의록.doc", "application/msword", "doc")
        mention = fake_slack.mention("", files=[file])
        await bot.send(mention)
        assert await bot.answered("C0001", mention["event"]["ts"], timeout=20) == ["요약: 예산 검토는 홍길동 담당입니다."]
    assert "예산 검토 | 홍길동" in prompts(sagemaker)[0]


async def test_locked_xls_dropped_in_slack_says_password(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    async with slack_bot() as bot:
        locked = documents.xls_bytes({"s": [["비밀"]]}, encrypted=True)
        file = fake_slack.add_file(locked, "예산.xls", "application/vnd.ms-excel", "xls")
        mention = fake_slack.mention("", files=[file])
        await bot.send(mention)
        [answer] = await bot.answered("C0001", mention["event"]["ts"], timeout=20)
    assert answer == KOREAN("doc_encrypted")
    assert sagemaker.requests == []


async def test_hwp3_through_discord_summarize(harness: Harness, sagemaker: FakeSageMaker) -> None:
    sagemaker.script(Reply("한 줄 요약: 옛 한글 문서입니다."))
    attachment = harness.fake.add_attachment(documents.hwp3_bytes(), "옛문서.hwp")
    summary = await harness.command("summarize", attachment=attachment)
    assert await harness.answered(summary, timeout=20) == "한 줄 요약: 옛 한글 문서입니다."
    assert "홍길동 | 기획팀" in prompts(sagemaker)[0]
