"""Conversation memory in a real Redis: windowed, expiring, shared, ordered, never corrupted."""

from __future__ import annotations

import asyncio
import json

from bot.core.conversation import ConversationKey
from tests.fakes.sagemaker import Reply
from tests.support import make_engine, prompts

KEY = ConversationKey("slack", ("T123", "C456", "1700000000.0001"))


async def test_window_keeps_last_four_exchanges_with_ttl(sagemaker, redis_url, redis_prefix, redis_client):
    sagemaker.responder(lambda body: "답변 " + body["inputs"].rsplit("질문 ", 1)[1].split("<")[0])
    engine = make_engine(sagemaker, redis_url, redis_prefix)
    try:
        for i in range(10):
            await engine.reply(KEY, f"질문 {i}")
    finally:
        await engine.aclose()

    name = f"{redis_prefix.rstrip(':')}:slack:T123:C456:1700000000.0001:history"
    stored = [json.loads(item) for item in await redis_client.lrange(name, 0, -1)]
    assert stored == [{"user": f"질문 {i}", "assistant": f"답변 {i}"} for i in range(6, 10)]
    assert 0 < await redis_client.ttl(name) <= 2 * 24 * 3600
    assert await redis_client.keys(f"{redis_prefix}*") == [name.encode()]
    # The tenth prompt carried the four exchanges remembered before it: 5 to 8.
    last = prompts(sagemaker)[-1]
    assert "질문 4" not in last and all(f"질문 {i}" in last for i in range(5, 10))


async def test_failed_answer_leaves_memory_unchanged(sagemaker, redis_url, redis_prefix, redis_client):
    engine = make_engine(sagemaker, redis_url, redis_prefix)
    name = f"{redis_prefix.rstrip(':')}:{KEY.id}:history"
    try:
        sagemaker.script("첫 답변")
        await engine.reply(KEY, "첫 질문")
        before = await redis_client.lrange(name, 0, -1)
        sagemaker.script(Reply("절반만 나오고 끊기는 답변입니다", fault="die_midway", die_after_tokens=2))
        try:
            await engine.reply(KEY, "두 번째 질문")
        except Exception as error:
            assert type(error).__name__ == "LLMStreamCut"
        else:
            raise AssertionError("a stream that died must fail the answer")
        assert await redis_client.lrange(name, 0, -1) == before
    finally:
        await engine.aclose()


async def test_two_engines_sharing_redis_answer_one_conversation_in_order(sagemaker, redis_url, redis_prefix):
    # The first answer is slow; the second message, sent to another "process" just after, must
    # wait for it and see it in its prompt.
    sagemaker.script(Reply("느린 첫 답변", first_token_delay=0.5), "두 번째 답변")
    first = make_engine(sagemaker, redis_url, redis_prefix)
    second = make_engine(sagemaker, redis_url, redis_prefix)
    try:
        slow = asyncio.create_task(first.reply(KEY, "첫 메시지"))
        while not sagemaker.requests:
            await asyncio.sleep(0.01)
        fast = asyncio.create_task(second.reply(KEY, "두 번째 메시지"))
        assert await slow == "느린 첫 답변"
        assert await fast == "두 번째 답변"
    finally:
        await first.aclose()
        await second.aclose()
    assert "느린 첫 답변" in prompts(sagemaker)[1]


async def test_reset_forgets_the_conversation(sagemaker, redis_url, redis_prefix):
    engine = make_engine(sagemaker, redis_url, redis_prefix)
    try:
        await engine.reply(KEY, "내 이름은 민수야")
        await engine.reset(KEY)
        await engine.reply(KEY, "내 이름이 뭐지?")
    finally:
        await engine.aclose()
    assert "민수" not in prompts(sagemaker)[1]


async def test_workspaces_never_share_memory(sagemaker, redis_url, redis_prefix):
    engine = make_engine(sagemaker, redis_url, redis_prefix)
    try:
        await engine.reply(ConversationKey("slack", ("T1", "C1", "1.0")), "비밀 코드는 사과")
        await engine.reply(ConversationKey("slack", ("T2", "C1", "1.0")), "비밀 코드가 뭐였지?")
    finally:
        await engine.aclose()
    assert "사과" not in prompts(sagemaker)[1]


async def test_without_redis_url_memory_lives_in_the_process(sagemaker, redis_prefix):
    engine = make_engine(sagemaker, None, redis_prefix)
    try:
        await engine.reply(KEY, "기억해: 파란색")
        await engine.reply(KEY, "무슨 색이었지?")
    finally:
        await engine.aclose()
    assert "파란색" in prompts(sagemaker)[1]
