"""Redis going away must not take the bot down: answers continue without memory, and memory
returns as soon as Redis does."""

from __future__ import annotations

import asyncio
import logging

from bot.core.conversation import ConversationKey
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
