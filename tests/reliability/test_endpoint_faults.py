"""The endpoint misbehaves (throttles, 5xx, hangs, dies mid-stream) while someone asks in Slack:
they still get the answer or a short Korean message, a partial answer is marked as cut off, and
a failed exchange leaves the conversation's memory as it was.

Everything runs for real: the Slack adapter (bolt, HTTP mode) against the fake Slack, the engine,
Redis, and each provider's client library against its fake (a SageMaker endpoint, a Bedrock
runtime, an OpenAI-compatible server) scripted to fail."""

from __future__ import annotations

import time

import pytest
import redis.asyncio as aioredis

from tests.support import KOREAN
from fakes.slack import FakeSlack
from tests.provider_support import ModelServer, model_requests, reply_for
from tests.reliability.helpers import slack_thread, stored_history
from tests.slack_support import StartSlackBot, message_calls

THINKING = KOREAN("thinking")
CUT = KOREAN("llm_stream_cut")


def never_stuck(fake: FakeSlack, channel: str, root: str) -> None:
    """No message of the bot's in the thread was left saying "thinking…", with a cursor, or
    still streaming."""
    for message in fake.message_records(channel, root):
        assert message.text != THINKING and not message.text.endswith("▌"), message.text
        assert message.stream_state in (None, "completed"), message.stream_state


async def test_throttled_twice_then_the_answer_arrives(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, model_server: ModelServer, redis_prefix: str,
    redis_client: aioredis.Redis
) -> None:
    model_server.script(
        reply_for(model_server, fault="throttle"), reply_for(model_server, fault="throttle"),
        reply_for(model_server, "서울은 대한민국의 수도입니다."),
    )  # fmt: skip
    async with slack_bot(model=model_server) as bot:
        mention = fake_slack.mention("서울은 어떤 곳이야?")
        root = mention["event"]["ts"]
        await bot.send(mention)
        answer = await bot.answered("C0001", root)

    # Retried with backoff behind the user's back: they see the answer only.
    assert answer == ["서울은 대한민국의 수도입니다."]
    assert model_requests(model_server) == 3
    assert await stored_history(redis_client, redis_prefix, slack_thread(root)) == [
        {"user": "서울은 어떤 곳이야?", "assistant": "서울은 대한민국의 수도입니다."}
    ]


@pytest.mark.parametrize("native_streaming", [True, False], ids=["native-stream", "edited-placeholder"])
async def test_unavailable_until_retries_run_out_ends_in_a_korean_message(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, model_server: ModelServer, redis_prefix: str,
    redis_client: aioredis.Redis, native_streaming: bool
) -> None:
    fake_slack.streaming_supported = native_streaming
    model_server.default = reply_for(model_server, fault="unavailable")  # 503, every time
    async with slack_bot(model=model_server, llm_max_retries=3) as bot:
        mention = fake_slack.mention("지금 답할 수 있어?")
        root = mention["event"]["ts"]
        await bot.send(mention)
        answer = await bot.answered("C0001", root)

    assert answer == [KOREAN("llm_unavailable")]  # "지금은 언어 모델에 연결할 수 없습니다. …"
    assert "언어 모델에 연결할 수 없습니다" in answer[0]
    never_stuck(fake_slack, "C0001", root)
    assert model_requests(model_server) == 4  # the first try and three retries, then it gave up
    assert await stored_history(redis_client, redis_prefix, slack_thread(root)) == []


async def test_hung_endpoint_gets_the_timeout_message_in_time(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, model_server: ModelServer, redis_prefix: str,
    redis_client: aioredis.Redis
) -> None:
    timeout = 1.5
    fake_slack.streaming_supported = False  # plain messages: nothing may be left standing
    model_server.default = reply_for(model_server, fault="hang")
    async with slack_bot(model=model_server, llm_timeout_seconds=timeout) as bot:
        mention = fake_slack.mention("대답이 늦어도 괜찮아")
        root = mention["event"]["ts"]
        sent = time.monotonic()
        await bot.send(mention)
        answer = await bot.answered("C0001", root, timeout=timeout + 5)

    assert answer == [KOREAN("llm_timeout")]
    [message] = fake_slack.message_records("C0001", root)
    told = message_calls(fake_slack, "C0001", message.ts)[-1]  # posted, or a placeholder edited
    assert told.args["text"] == KOREAN("llm_timeout")
    assert told.at - sent <= timeout + 1.0, told.at - sent
    never_stuck(fake_slack, "C0001", root)
    assert await stored_history(redis_client, redis_prefix, slack_thread(root)) == []


@pytest.mark.parametrize("fault", ["die_midway", "drop_midway"], ids=["stream-error-event", "connection-cut"])
async def test_stream_dying_midway_is_marked_cut_off_and_memory_is_unchanged(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, model_server: ModelServer, redis_prefix: str,
    redis_client: aioredis.Redis, fault: str
) -> None:
    words = ["부산은 ", "해운대와 ", "광안리가 ", "유명하고 ", "음식도 ", "맛있습니다."]
    model_server.script(
        reply_for(model_server, "부산은 대한민국 제2의 도시입니다."),
        reply_for(model_server, "".join(words), tokens=words, fault=fault, die_after_tokens=3, token_delay=0.05),
    )
    async with slack_bot(model=model_server) as bot:
        mention = fake_slack.mention("부산은 어떤 곳이야?")
        root = mention["event"]["ts"]
        await bot.send(mention)
        await bot.answered("C0001", root)
        before = await stored_history(redis_client, redis_prefix, slack_thread(root))

        await bot.send(fake_slack.thread_message("가 볼 만한 곳은?", root))
        first, cut = await bot.answered("C0001", root, count=2)

    assert first == "부산은 대한민국 제2의 도시입니다."
    # What arrived stays, and says it is incomplete: it never passes for a whole answer.
    assert cut.startswith("부산은 해운대와 광안리가") and "유명하고" not in cut, cut
    assert cut.endswith(CUT), cut
    never_stuck(fake_slack, "C0001", root)
    # The cut exchange is not remembered: memory holds exactly what it held before.
    assert before == [{"user": "부산은 어떤 곳이야?", "assistant": "부산은 대한민국 제2의 도시입니다."}]
    assert await stored_history(redis_client, redis_prefix, slack_thread(root)) == before
