"""Redis going away must not take the bot down: answers continue without memory (said once in
the logs, never to users), and memory returns as soon as Redis does."""

from __future__ import annotations

import asyncio
import logging

import pytest
import redis.asyncio as aioredis

from bot.core.conversation import ConversationKey
from fakes.redis_server import RedisServer
from fakes.sagemaker import FakeSageMaker
from fakes.slack import FakeSlack
from tests.reliability.helpers import slack_dm, stored_history
from tests.slack_support import StartSlackBot
from tests.support import make_engine, prompts

KEY = ConversationKey("console", ("outage",))


async def test_redis_down_mid_conversation_then_back(sagemaker, fresh_redis_server, redis_prefix, caplog):
    engine = make_engine(sagemaker, fresh_redis_server.url, redis_prefix)
    try:
        sagemaker.script("첫 답변", "레디스 없이 답변", "다시 기억하는 답변", "마지막 답변")
        await engine.reply(KEY, "첫 질문")

        await asyncio.to_thread(fresh_redis_server.stop)
        with caplog.at_level(logging.WARNING, logger="bot.core.memory"):
            assert await engine.reply(KEY, "레디스가 꺼진 동안의 질문") == "레디스 없이 답변"
        assert sum("Redis unreachable" in r.getMessage() for r in caplog.records) == 1

        await asyncio.to_thread(fresh_redis_server.start)
        assert await engine.reply(KEY, "돌아온 뒤의 질문") == "다시 기억하는 답변"
        await engine.reply(KEY, "확인 질문")
    finally:
        await engine.aclose()
    # The test server keeps nothing on disk, so memory restarts empty: the last prompt holds the
    # exchange made after Redis came back, and nothing from the outage.
    assert "돌아온 뒤의 질문" in prompts(sagemaker)[3]
    assert "레디스가 꺼진 동안의 질문" not in prompts(sagemaker)[3]


async def test_redis_down_at_start_up_still_answers(sagemaker, fresh_redis_server, redis_prefix):
    url = fresh_redis_server.url
    await asyncio.to_thread(fresh_redis_server.stop)
    engine = make_engine(sagemaker, url, redis_prefix)
    try:
        sagemaker.script("레디스 없이도 답합니다")
        assert await engine.reply(KEY, "질문") == "레디스 없이도 답합니다"
    finally:
        await engine.aclose()


async def test_slack_keeps_answering_through_a_redis_outage_and_remembers_again_after(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker, fresh_redis_server: RedisServer,
    redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Answers say which question they answer, so each can be matched to its prompt.
    sagemaker.responder(lambda body: "답: " + body["inputs"].rsplit("user<|end_header_id|>\n\n", 1)[1].split("<|")[0])
    async with slack_bot(redis_url=fresh_redis_server.url) as bot:
        await bot.send(fake_slack.dm("장애 전 질문"))
        await bot.answered("D0001")

        await asyncio.to_thread(fresh_redis_server.stop)
        with caplog.at_level(logging.WARNING):
            # The same person and three others ask while Redis is away, all at once.
            asking = [("U0001", "D0001"), ("U0002", "D0002"), ("U0003", "D0003"), ("U0004", "D0004")]
            for user, channel in asking:
                await bot.send(fake_slack.dm(f"{user} 장애 중 질문", user=user, channel=channel))
            for user, channel in asking:
                await bot.answered(channel, count=2 if user == "U0001" else 1)

        await asyncio.to_thread(fresh_redis_server.start)
        await bot.send(fake_slack.dm("복구 후 질문"))
        await bot.answered("D0001", count=3)
        await bot.send(fake_slack.dm("복구 확인"))
        await bot.answered("D0001", count=4)

    # Every message got its answer, and only the answer: users are not told about Redis.
    assert fake_slack.messages("D0001") == ["답: 장애 전 질문", "답: U0001 장애 중 질문", "답: 복구 후 질문", "답: 복구 확인"]
    for user, channel in asking[1:]:
        assert fake_slack.messages(channel) == [f"답: {user} 장애 중 질문"]
    # The operator is told once per outage, not once per message.
    warnings = [r.getMessage() for r in caplog.records if "Redis unreachable" in r.getMessage()]
    assert len(warnings) == 1, warnings
    # Without Redis there was no memory to draw on.
    [during] = [p for p in prompts(sagemaker) if "U0001 장애 중 질문" in p]
    assert "장애 전 질문" not in during
    # Memory is used again once Redis is back (the restarted server is empty, having no
    # persistence here): the last prompt carries the exchange made after the outage.
    last = prompts(sagemaker)[-1]
    assert "복구 후 질문" in last and "답: 복구 후 질문" in last
    client = aioredis.Redis.from_url(fresh_redis_server.url)
    try:
        assert await stored_history(client, redis_prefix, slack_dm("U0001")) == [
            {"user": "복구 후 질문", "assistant": "답: 복구 후 질문"},
            {"user": "복구 확인", "assistant": "답: 복구 확인"},
        ]
    finally:
        await client.aclose()
