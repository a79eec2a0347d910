"""Two replicas of the Slack bot share one Redis: a file delivered to both (and retried) is read
and summarized once, and messages of one thread that land on different replicas are answered in
the order they were sent, each seeing the ones before.

(Also covered elsewhere: one event delivered to both replicas and retried is answered once,
tests/test_slack_transport.py; the same on Discord, tests/test_discord_messages.py; ordering
across two engines, tests/test_core_memory.py.)"""

from __future__ import annotations

import re

import redis.asyncio as aioredis

from fakes.sagemaker import FakeSageMaker, Reply
from fakes.slack import FakeSlack
from tests.reliability.helpers import slack_dm, slack_thread, stored_history
from tests.slack_support import StartSlackBot
from tests.support import prompts

CHAPTER = "이 장은 사업의 추진 배경과 일정, 담당 조직의 역할을 설명한다. 회의는 매월 첫째 주에 열린다. " * 40
REPORT = "\n\n".join(f"{n}장. {CHAPTER}" for n in range(1, 13)).encode()  # too long for one prompt


async def test_a_file_delivered_to_two_replicas_and_retried_is_summarized_once(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker, redis_prefix: str,
    redis_client: aioredis.Redis
) -> None:
    # Each summary step takes a moment, so a second summary would overlap the first.
    sagemaker.default = Reply("요약: 사업 추진 계획입니다.", delay=0.2)
    shared = fake_slack.dm("", files=[fake_slack.add_file(REPORT, "사업계획.txt", "text/plain", "text")])
    async with (
        slack_bot() as first,
        slack_bot(mode="socket") as second,
    ):
        await first.send(shared)
        await second.send(shared, retry_attempt=1, retry_reason="timeout")
        await first.send(shared, retry_num=2, retry_reason="http_timeout")
        await first.answered("D0001", timeout=20)
        await second.answered("D0001", timeout=20)

    # One message for the user, one download, and the endpoint calls of one summary: every part
    # of the document summarized once ("i/n번째 부분" in the map prompts), one final call.
    [message] = fake_slack.message_records("D0001")
    assert message.text == "요약: 사업 추진 계획입니다."
    assert len(fake_slack.downloads) == 1
    parts = sorted(m.groups() for p in prompts(sagemaker) if (m := re.search(r"(\d+)/(\d+)번째 부분", p)))
    total = int(parts[0][1])
    assert total > 1 and parts == [(str(i), str(total)) for i in range(1, total + 1)], parts
    assert sum("한 줄 요약:" in p for p in prompts(sagemaker)) == 1
    # Redis holds the document once and the summary exchange once.
    key = slack_dm()
    assert await redis_client.llen(f"{redis_prefix.rstrip(':')}:{{{key.id}}}:documents") == 1
    assert [e["assistant"] for e in await stored_history(redis_client, redis_prefix, key)] == [message.text]


async def test_two_messages_of_a_thread_on_two_replicas_are_answered_in_order(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker, redis_prefix: str,
    redis_client: aioredis.Redis
) -> None:
    # The first answer is slow: the follow-up, sent meanwhile to the other replica, must wait for
    # it rather than overtake it, and must see it.
    sagemaker.script(Reply("천천히 쓴 첫 답변입니다.", first_token_delay=0.8), Reply("두 번째 답변입니다."))
    async with (
        slack_bot() as first,
        slack_bot(mode="socket") as second,
    ):
        mention = fake_slack.mention("첫 질문")
        root = mention["event"]["ts"]
        await first.send(mention)
        await fake_slack.wait_for(lambda: len(sagemaker.requests) == 1, what="the first question at the endpoint")
        await second.send(fake_slack.thread_message("이어지는 질문", root))
        await first.answered("C0001", root, count=2)
        await second.answered("C0001", root, count=2)

    assert fake_slack.messages("C0001", root) == ["천천히 쓴 첫 답변입니다.", "두 번째 답변입니다."]
    assert "천천히 쓴 첫 답변입니다." in prompts(sagemaker)[1]
    assert await stored_history(redis_client, redis_prefix, slack_thread(root)) == [
        {"user": "첫 질문", "assistant": "천천히 쓴 첫 답변입니다."},
        {"user": "이어지는 질문", "assistant": "두 번째 답변입니다."},
    ]
