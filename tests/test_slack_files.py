"""Files dropped for the bot: fetched with the bot token, read whole, summarized in the thread
with progress, and discussed afterwards; too large or unreachable files get a clear message; the
token goes to Slack's file host and nowhere else."""

from __future__ import annotations

import re

import pytest

from bot.adapters.slack.files import trusted_hosts
from bot.frontend.downloads import UntrustedSource
from fakes.documents import pdf_pages
from fakes.file_host import FileHost
from fakes.sagemaker import FakeSageMaker, Reply
from fakes.slack import FakeSlack
from tests.slack_support import StartSlackBot
from tests.support import prompts

PDF = pdf_pages([
    ["펀드 운용 보고서 (기준일 2023-09-30)", "9월 KOSPI 지수는 2,465.07pt를 기록했다."],
    ["같은 달 펀드 수익률은 -3.57%였다.", "비교지수 대비 0.72%p 앞섰다."],
])  # fmt: skip


def pdf_file(fake: FakeSlack, name: str = "펀드보고서.pdf") -> dict:
    return fake.add_file(PDF, name, "application/pdf", "pdf")


async def test_dropped_pdf_is_summarized_in_the_thread_and_discussed_after(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    sagemaker.script("**요약**: 9월 KOSPI는 하락했습니다.", "-3.57%입니다.")
    async with slack_bot() as bot:
        mention = fake_slack.mention("", files=[pdf_file(fake_slack)])
        root = mention["event"]["ts"]
        await bot.send(mention)
        assert await bot.answered("C0001", root, timeout=20) == ["*요약*: 9월 KOSPI는 하락했습니다."]
        await bot.send(fake_slack.thread_message("9월 KOSPI 수익률은?", root))
        await bot.answered("C0001", root, count=2)

    [download] = fake_slack.downloads
    assert download.authorized and download.completed
    [progress] = fake_slack.message_records("C0001", root)[:1]
    assert progress.texts[0] == "문서를 읽고 있어요…"
    summary_prompt, question_prompt = prompts(sagemaker)
    assert "2,465.07pt" in summary_prompt and "펀드보고서.pdf" in summary_prompt
    assert "9월 KOSPI 수익률은?" in question_prompt and "-3.57%" in question_prompt


async def test_text_with_files_is_the_question_and_each_file_is_handled(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    sagemaker.default = Reply("기준일은 2023-09-30입니다.")
    text = fake_slack.add_file("둘째 문서: 기준일 2023-09-30".encode(), "둘째.txt", "text/plain", "text")
    files = [pdf_file(fake_slack, "첫째.pdf"), text]
    async with slack_bot() as bot:
        await bot.send(fake_slack.dm("기준일이 언제야?", files=files))
        answers = await bot.answered("D0001", count=2, timeout=20)

    assert answers == ["기준일은 2023-09-30입니다."] * 2
    assert len(fake_slack.downloads) == 2
    assert all("기준일이 언제야?" in prompt for prompt in prompts(sagemaker))


async def test_too_large_files_are_refused_without_being_downloaded(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    big = fake_slack.add_file(b"%PDF-1.7\n" + b"0" * 300_000, "큰파일.pdf", "application/pdf", "pdf")
    lying = fake_slack.add_file(b"%PDF-1.7\n" + b"0" * 32_000_000, "거짓크기.pdf", "application/pdf", "pdf", chunked=True)
    lying = {**lying, "size": 1_000}  # the event says small, no Content-Length: the download stops at the limit
    async with slack_bot(doc_max_bytes=200_000) as bot:
        await bot.send(fake_slack.dm("", files=[big]))
        [refused] = await bot.answered("D0001")
        await bot.send(fake_slack.dm("", files=[lying], channel="D0002"))
        [stopped] = await bot.answered("D0002")
        await fake_slack.wait_for(lambda: all(d.done for d in fake_slack.downloads))

    assert refused == stopped == "파일이 너무 큽니다. 0.2MB 이하의 파일만 읽을 수 있습니다."
    [download] = fake_slack.downloads  # the honest one was never fetched
    assert download.file_id == lying["id"] and not download.completed and download.bytes_sent < 16_000_000
    assert sagemaker.requests == []


async def test_long_document_shows_progress_while_it_is_read(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    sagemaker.default = Reply("부분 요약", delay=0.7)  # each step of the summary takes a while
    chapter = "이 장은 사업의 추진 배경과 일정, 담당 조직의 역할을 설명한다. 회의는 매월 첫째 주에 열린다. " * 40
    report = "\n\n".join(f"{n}장. {chapter}" for n in range(1, 13)).encode()
    async with slack_bot() as bot:
        await bot.send(fake_slack.dm("", files=[fake_slack.add_file(report, "보고서.txt", "text/plain", "text")]))
        [summary] = await bot.answered("D0001", timeout=30)

    [message] = fake_slack.message_records("D0001")
    steps = [m for t in message.texts if (m := re.fullmatch(r"문서를 읽고 요약하는 중이에요… \((\d+)/(\d+)\)", t))]
    assert summary == "부분 요약" and steps and len(sagemaker.requests) > 2
    assert all(int(m[2]) == len(sagemaker.requests) for m in steps), message.texts


async def test_files_slack_does_not_hand_over_are_reported(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    fake_slack.files_read_scope = False  # Slack answers its sign-in page instead of the file
    async with slack_bot() as bot:
        await bot.send(fake_slack.dm("", files=[pdf_file(fake_slack)]))
        [message] = await bot.answered("D0001")

    assert message == "파일을 내려받지 못했습니다: 펀드보고서.pdf. 봇에 files:read 권한이 있는지 확인해 주세요."
    assert [d.authorized for d in fake_slack.downloads] == [True]
    assert sagemaker.requests == []


async def test_the_token_never_goes_to_a_host_named_in_a_file_object(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    async with FileHost() as foreign, slack_bot() as bot:  # same address as the fake Slack, other port
        foreign.files["/stolen.pdf"] = PDF
        forged = {**pdf_file(fake_slack, "위조.pdf"), "url_private_download": foreign.url("/stolen.pdf")}
        await bot.send(fake_slack.dm("", files=[forged]))
        [answer] = await bot.answered("D0001")

    assert foreign.connections == 0 and not any("Authorization" in r.headers for r in foreign.received)
    assert answer == "파일이 허용되지 않은 주소에 있어 내려받지 않았습니다: 위조.pdf. 메신저에 직접 올린 파일만 읽을 수 있어요."
    assert sagemaker.requests == []


@pytest.mark.parametrize("external_type", ["gdrive", "app"])  # a shared Drive file; files.remote.add
async def test_files_stored_outside_slack_are_refused_with_the_reason(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker, external_type: str
) -> None:
    async with FileHost() as drive, slack_bot() as bot:
        drive.files["/d/1/export"] = PDF
        external = fake_slack.add_external_file(drive.url("/d/1/export"), "드라이브문서.pdf", external_type=external_type)
        await bot.send(fake_slack.dm("요약해 줘", files=[external]))
        [message] = await bot.answered("D0001")

    assert message == (
        "Slack 밖(Google Drive 등)에 저장된 외부 파일이라 읽지 않았습니다: 드라이브문서.pdf. "
        "파일을 내려받아 Slack에 직접 올려 주세요."
    )
    assert drive.connections == 0 and fake_slack.downloads == [] and sagemaker.requests == []


def test_slack_file_hosts_are_https_files_hosts_of_the_api_in_use() -> None:
    slack, gov = trusted_hosts(), trusted_hosts("https://slack-gov.com/api/")
    local = trusted_hosts("http://127.0.0.1:8/api/")  # a test's fake Slack

    slack.check("https://files.slack.com/files-pri/T1-F1/download/a.pdf", "a.pdf")
    gov.check("https://files.slack-gov.com/files-pri/T1-F1/a.pdf", "a.pdf")
    local.check("http://127.0.0.1:8/files-pri/T1-F1/a.pdf", "a.pdf")
    for trusted, url in [
        (slack, "http://files.slack.com/files-pri/T1-F1/a.pdf"),  # not over https
        (slack, "https://files.slack.com.example.net/a.pdf"),
        (slack, "https://files.slack.com:8443/a.pdf"),
        (slack, "https://slack.com/api/files.info"),  # the API host is not a file host
        (slack, "https://evil.example/a.pdf"),
        (gov, "https://files.slack.com/files-pri/T1-F1/a.pdf"),  # GovSlack's files are on its own host
        (local, "http://127.0.0.1:9/a.pdf"),
        (local, "https://127.0.0.1:8/a.pdf"),
    ]:
        with pytest.raises(UntrustedSource):
            trusted.check(url, "a.pdf")
