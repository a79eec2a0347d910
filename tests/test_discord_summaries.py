"""/summarize without a file: the thread asked in, whole, or the channel's last hours, read through
Discord's message history (the fake pages it as Discord does), through a real discord.py client, the
fake Discord, real Redis and the fake SageMaker endpoint."""

from __future__ import annotations

from fakes.sagemaker import FakeSageMaker, Reply
from tests.discord_support import Harness, open_thread
from tests.support import KOREAN, prompts


async def test_summarize_in_a_thread_reads_every_message_of_it_and_links_the_key_ones(
    harness: Harness, sagemaker: FakeSageMaker
) -> None:
    fake = harness.fake
    thread = await open_thread(fake, owner_id=42)
    said = [fake.message_create(f"{n}번째 의견: 항목 {n * 7}", author_id=40 + n % 3, channel_id=thread) for n in range(250)]
    sagemaker.default = Reply("핵심: 예산 합의 [#1], 일정 확정 [#250]")

    interaction = await harness.command("summarize", channel_id=thread, user_id=42)
    link = f"https://discord.com/channels/{fake.guild_id}/{thread}"
    linked = f"핵심: 예산 합의 [#1]({link}/{said[0]['id']}), 일정 확정 [#250]({link}/{said[-1]['id']})"
    await harness.answered(interaction, expect=linked, timeout=30)  # the progress line comes first
    sent = "\n".join(prompts(sagemaker))
    assert all(f"{n}번째 의견: 항목 {n * 7}" in sent for n in range(250))  # every message, across chunks
    assert "user40" in sent  # who said it
    pages = fake.requests_to(f"GET /channels/{thread}/messages")
    assert len(pages) >= 3 and all(int(p.query["limit"]) <= 100 for p in pages)


async def test_summarize_in_a_channel_reads_only_the_hours_asked(harness: Harness, sagemaker: FakeSageMaker) -> None:
    fake = harness.fake
    fake.message_create("세 시간 전: 지난 분기 이야기", author_id=41, ago=3 * 3600)
    fake.message_create("방금: 내일 배포합니다", author_id=42)
    fake.message_create("방금: 테스트는 끝났어요", author_id=43)
    sagemaker.script(Reply("내일 배포, 테스트 완료."))

    interaction = await harness.command("summarize", {"시간": 1}, user_id=42)
    await harness.answered(interaction, expect="내일 배포, 테스트 완료.", timeout=20)
    assert "방금: 내일 배포합니다" in prompts(sagemaker)[0] and "방금: 테스트는 끝났어요" in prompts(sagemaker)[0]
    assert "세 시간 전" not in prompts(sagemaker)[0]
    assert all("after" in r.query for r in fake.requests_to(f"GET /channels/{fake.channel_id}/messages"))


async def test_a_channel_the_bot_cannot_read_is_said_so(harness: Harness, sagemaker: FakeSageMaker) -> None:
    fake = harness.fake
    fake.add_guild(300, "다른 서버", channels={301: "잡담"})  # the app is used there as a user's app
    fake.guilds[300]["members"].discard(fake.bot_id)
    interaction = await harness.command("summarize", channel_id=301, user_id=42)
    await harness.answered(interaction, expect=KOREAN("discord_history_unreadable"))
    assert sagemaker.requests == []
