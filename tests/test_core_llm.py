"""The SageMaker backend through langchain-aws: streaming formats, retries, errors, concurrency."""

from __future__ import annotations

import asyncio
import threading
import time
from contextlib import aclosing

import pytest

from bot.core.conversation import ConversationKey
from bot.core.errors import BotError, LLMModelError, LLMTimeout, MessageTooLong
from bot.frontend.texts import user_message
from fakes.sagemaker import Reply
from tests.support import make_engine, wait_until

KEY = ConversationKey("discord", ("G1", "C1", "U1"))
ANSWER = "서울은 한강을 따라 걷기 좋습니다. 경복궁과 북촌을 추천해요!"


@pytest.mark.parametrize(
    "reply",
    [
        Reply(ANSWER, schema="lmi", part_size=5),
        Reply(ANSWER, schema="tgi", part_size=7),
        Reply(ANSWER, schema="tgi", part_size=4, sse_space=True),
        Reply(ANSWER, schema="lmi", part_size=1),
    ],
    ids=["lmi-jsonlines", "tgi-sse", "tgi-sse-space", "one-byte-parts"],
)
async def test_stream_cut_inside_hangul_yields_exact_text(sagemaker, redis_url, redis_prefix, reply):
    sagemaker.script(reply)
    engine = make_engine(sagemaker, redis_url, redis_prefix)
    try:
        deltas = [d async for d in engine.stream_reply(KEY, "서울 여행 추천")]
    finally:
        await engine.aclose()
    assert "".join(deltas) == ANSWER
    assert len(deltas) > 3  # it really streamed


async def test_messages_api_schema(sagemaker, redis_url, redis_prefix):
    sagemaker.script(Reply(ANSWER, schema="messages", part_size=5), Reply("두 번째", schema="messages"))
    engine = make_engine(sagemaker, redis_url, redis_prefix, sagemaker_payload_schema="messages")
    try:
        assert await engine.reply(KEY, "서울 <|eot_id|> 여행") == ANSWER
        await engine.reply(KEY, "고마워")
    finally:
        await engine.aclose()
    body = sagemaker.requests[1].json
    assert body["stream"] is True and body["max_tokens"] == 1024
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "user"]
    assert body["messages"][1]["content"] == "서울 <\u200b|eot_id|> 여행"
    assert body["messages"][2]["content"] == ANSWER


async def test_non_streaming_completion_reads_lmi_and_tgi_bodies(sagemaker, redis_url, redis_prefix):
    from bot.core.prompt import Turn

    sagemaker.script(Reply("LMI 답", schema="lmi"), Reply("TGI 답", schema="tgi"))
    engine = make_engine(sagemaker, redis_url, redis_prefix)
    try:
        assert await engine.llm.complete([Turn("user", "질문")]) == "LMI 답"
        assert await engine.llm.complete([Turn("user", "질문")]) == "TGI 답"
    finally:
        await engine.aclose()
    assert not sagemaker.requests[0].streaming and "stream" not in sagemaker.requests[0].json


async def test_throttled_twice_then_answered_once(sagemaker, redis_url, redis_prefix):
    sagemaker.script(Reply(fault="throttle"), Reply(fault="not_ready"), "드디어 답변")
    engine = make_engine(sagemaker, redis_url, redis_prefix)
    try:
        assert await engine.reply(KEY, "질문") == "드디어 답변"
    finally:
        await engine.aclose()
    assert len(sagemaker.requests) == 3


async def test_server_errors_exhaust_retries_into_korean_message(sagemaker, redis_url, redis_prefix):
    sagemaker.default = Reply(fault="unavailable")
    engine = make_engine(sagemaker, redis_url, redis_prefix, llm_max_retries=2)
    try:
        with pytest.raises(BotError) as caught:
            await engine.reply(KEY, "질문")
    finally:
        await engine.aclose()
    assert len(sagemaker.requests) == 3
    assert user_message(caught.value) == "지금은 언어 모델에 연결할 수 없습니다. 잠시 후 다시 시도해 주세요."


async def test_model_error_is_not_retried_and_memory_unchanged(sagemaker, redis_url, redis_prefix):
    sagemaker.script(Reply(fault="model_error"))
    engine = make_engine(sagemaker, redis_url, redis_prefix)
    try:
        started = time.monotonic()
        with pytest.raises(LLMModelError) as caught:
            await engine.reply(KEY, "질문")
        assert time.monotonic() - started < engine.settings.llm_timeout_seconds + 1
        assert (await engine.memory.context(KEY)).history == []
    finally:
        await engine.aclose()
    assert len(sagemaker.requests) == 1
    assert "모델이 이 요청을 처리하지 못했습니다" in user_message(caught.value)


async def test_hanging_endpoint_times_out_with_korean_message(sagemaker, redis_url, redis_prefix):
    sagemaker.default = Reply(fault="hang")
    engine = make_engine(sagemaker, redis_url, redis_prefix, llm_timeout_seconds=1.5)
    try:
        started = time.monotonic()
        with pytest.raises(LLMTimeout) as caught:
            await engine.reply(KEY, "질문")
        assert time.monotonic() - started < 1.5 + 1
        assert (await engine.memory.context(KEY)).history == []
    finally:
        await engine.aclose()
    assert user_message(caught.value) == "응답 시간이 너무 오래 걸려 요청을 중단했습니다. 다시 시도해 주세요."


async def test_fifty_conversations_at_once_are_not_capped_by_pools(sagemaker, redis_url, redis_prefix):
    sagemaker.default = Reply("동시에 답변합니다", first_token_delay=1.0)
    engine = make_engine(sagemaker, redis_url, redis_prefix)
    try:
        started = time.monotonic()
        answers = await asyncio.gather(
            *(engine.reply(ConversationKey("slack", ("T1", "C1", str(i))), "질문") for i in range(50))
        )
        elapsed = time.monotonic() - started
    finally:
        await engine.aclose()
    assert answers == ["동시에 답변합니다"] * 50
    assert sagemaker.max_concurrent_seen == 50
    assert elapsed < 3.0


async def test_message_too_long_gets_clear_message_without_calling_endpoint(sagemaker, redis_url, redis_prefix):
    engine = make_engine(sagemaker, redis_url, redis_prefix)
    try:
        with pytest.raises(MessageTooLong) as caught:
            await engine.reply(KEY, "아주 긴 메시지 " * 4000)
    finally:
        await engine.aclose()
    assert sagemaker.requests == []
    assert user_message(caught.value) == "메시지가 너무 깁니다. 더 짧게 나누어 보내 주세요."


async def test_oldest_exchanges_dropped_to_fit_context(sagemaker, redis_url, redis_prefix):
    sagemaker.responder(lambda body: "네. " + "긴 답변 " * 300)
    engine = make_engine(sagemaker, redis_url, redis_prefix, llm_context_tokens=4096, memory_window=10)
    try:
        for i in range(6):
            await engine.reply(KEY, f"질문 번호 {i}")
    finally:
        await engine.aclose()
    last = sagemaker.requests[-1].json["inputs"]
    assert engine.tokens.count(last) <= 4096 - 1024
    assert "질문 번호 5" in last and "질문 번호 4" in last and "질문 번호 0" not in last


async def test_answers_left_half_read_give_their_connection_back(sagemaker, redis_url, redis_prefix):
    # Two connections in all: if a reader who walked away kept its socket, the third caller would wait.
    sagemaker.default = Reply("첫 토큰 뒤에도 한참 이어지는 답변입니다", token_delay=0.5)
    engine = make_engine(sagemaker, redis_url, redis_prefix, llm_max_concurrency=2)
    try:
        for i in range(4):
            async with aclosing(engine.stream_reply(ConversationKey("slack", ("T1", "C1", str(i))), "질문")) as deltas:
                await anext(deltas)
        sagemaker.default = Reply("바로 답합니다")
        answer = await asyncio.wait_for(engine.reply(KEY, "다음 질문"), timeout=3.0)
    finally:
        await engine.aclose()
    assert answer == "바로 답합니다"


async def test_two_hundred_open_answers_do_not_take_a_thread_each(sagemaker, redis_url, redis_prefix):
    sagemaker.default = Reply("기다렸다가 답합니다", first_token_delay=1.0)
    engine = make_engine(sagemaker, redis_url, redis_prefix, llm_max_concurrency=200)
    try:
        calls = [
            asyncio.create_task(engine.reply(ConversationKey("slack", ("T1", "C1", str(i))), "질문"))
            for i in range(200)
        ]
        await wait_until(lambda: sagemaker.max_concurrent_seen == 200)
        threads_while_open = threading.active_count()
        answers = await asyncio.gather(*calls)
    finally:
        await engine.aclose()
    assert answers == ["기다렸다가 답합니다"] * 200
    assert threads_while_open < 20
