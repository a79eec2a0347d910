"""The SageMaker backend through langchain-aws: streaming formats, retries, errors, concurrency."""

from __future__ import annotations

import asyncio
import threading
import time
import tomllib
from contextlib import aclosing

import pytest
from aiobotocore.session import get_session

from bot.core.conversation import ConversationKey
from bot.core.errors import BotError, LLMModelError, LLMStreamCut, LLMTimeout, MessageTooLong
from bot.core.llm import sagemaker as sagemaker_llm
from tests.support import KOREAN
from fakes.sagemaker import Reply
from tests.support import ENDPOINT, ROOT, make_engine, wait_until

KEY = ConversationKey("discord", ("G1", "C1", "U1"))
ANSWER = "서울은 한강을 따라 걷기 좋습니다. 경복궁과 북촌을 추천해요!"


@pytest.fixture(params=["shortcut", "public"])
def event_stream(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways an answer's event stream is read: the fast one on aiobotocore's private pieces,
    and its public iteration, which takes over when the installed aiobotocore leaves the tested
    range."""
    if request.param == "public":
        monkeypatch.setattr(sagemaker_llm, "EVENT_STREAM_SHORTCUT", False)
    else:
        assert sagemaker_llm.EVENT_STREAM_SHORTCUT, "the installed aiobotocore is outside the tested range"
    return request.param


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
async def test_stream_cut_inside_hangul_yields_exact_text(sagemaker, redis_url, redis_prefix, reply, event_stream):
    sagemaker.script(reply)
    engine = make_engine(sagemaker, redis_url, redis_prefix)
    try:
        deltas = [d async for d in engine.stream_reply(KEY, "서울 여행 추천")]
    finally:
        await engine.aclose()
    assert "".join(deltas) == ANSWER
    assert len(deltas) > 3  # it really streamed


async def test_messages_api_schema(sagemaker, redis_url, redis_prefix, event_stream):
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


@pytest.mark.parametrize("fault", ["die_midway", "drop_midway"], ids=["stream-error-event", "connection-cut"])
async def test_stream_dying_midway_keeps_what_arrived_and_is_not_remembered(
    sagemaker, redis_url, redis_prefix, event_stream, fault
):
    words = ["부산은 ", "해운대와 ", "광안리가 ", "유명하고 ", "음식도 ", "맛있습니다."]
    sagemaker.script(Reply("".join(words), tokens=words, fault=fault, die_after_tokens=3, token_delay=0.05))
    engine = make_engine(sagemaker, redis_url, redis_prefix)
    deltas: list[str] = []
    try:
        with pytest.raises(LLMStreamCut):
            async for delta in engine.stream_reply(KEY, "부산은 어떤 곳이야?"):
                deltas.append(delta)
        history = (await engine.memory.context(KEY)).history
    finally:
        await engine.aclose()
    assert "".join(deltas) == "부산은 해운대와 광안리가 "
    assert history == []
    assert len(sagemaker.requests) == 1  # text was shown: no second try


async def test_installed_aiobotocore_streams_have_what_the_shortcut_reads(sagemaker):
    sagemaker.script(Reply(ANSWER))
    client = get_session().create_client("sagemaker-runtime", region_name="us-east-1", endpoint_url=sagemaker.url)
    async with client as runtime:
        response = await runtime.invoke_endpoint_with_response_stream(EndpointName=ENDPOINT, Body=b'{"stream": true}')
        body = response["Body"]
        try:
            assert sagemaker_llm.shortcut_fits(body)
        finally:
            body.close()


def test_pyproject_bounds_aiobotocore_to_the_range_the_shortcut_was_tested_on():
    (low_major, low_minor), (high_major, high_minor) = sagemaker_llm.TESTED_AIOBOTOCORE
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    expected = f"aiobotocore>={low_major}.{low_minor},<{high_major}" + (f".{high_minor}" if high_minor else "")
    assert expected in dependencies


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
    assert KOREAN.for_error(caught.value) == "지금은 언어 모델에 연결할 수 없습니다. 잠시 후 다시 시도해 주세요."


async def test_model_error_is_not_retried_and_memory_unchanged(sagemaker, redis_url, redis_prefix):
    sagemaker.script(Reply(fault="model_error"))
    engine = make_engine(sagemaker, redis_url, redis_prefix)
    try:
        with pytest.raises(LLMModelError) as caught:
            await engine.reply(KEY, "질문")
        assert (await engine.memory.context(KEY)).history == []
    finally:
        await engine.aclose()
    assert len(sagemaker.requests) == 1
    assert "모델이 이 요청을 처리하지 못했습니다" in KOREAN.for_error(caught.value)


async def test_hanging_endpoint_times_out_with_korean_message(sagemaker, redis_url, redis_prefix):
    sagemaker.default = Reply(fault="hang")
    engine = make_engine(sagemaker, redis_url, redis_prefix, llm_timeout_seconds=1.5)
    try:
        started = time.monotonic()
        with pytest.raises(LLMTimeout) as caught:
            await engine.reply(KEY, "질문")
        assert time.monotonic() - started < 1.5 + 5  # the deadline, not the test's 120 s timeout, ended it
        assert (await engine.memory.context(KEY)).history == []
    finally:
        await engine.aclose()
    assert KOREAN.for_error(caught.value) == "응답 시간이 너무 오래 걸려 요청을 중단했습니다. 다시 시도해 주세요."


async def test_fifty_conversations_at_once_are_not_capped_by_pools(sagemaker, redis_url, redis_prefix):
    # Each answer is held until all 50 are at the endpoint at once: a pool smaller than 50 would
    # keep the rest from arriving, and the answers would never come.
    sagemaker.default = Reply("동시에 답변합니다", until=lambda: sagemaker.max_concurrent_seen == 50)
    engine = make_engine(sagemaker, redis_url, redis_prefix)
    try:
        answers = await asyncio.wait_for(asyncio.gather(
            *(engine.reply(ConversationKey("slack", ("T1", "C1", str(i))), "질문") for i in range(50))
        ), timeout=20)
    finally:
        await engine.aclose()
    assert answers == ["동시에 답변합니다"] * 50


async def test_message_too_long_gets_clear_message_without_calling_endpoint(sagemaker, redis_url, redis_prefix):
    engine = make_engine(sagemaker, redis_url, redis_prefix)
    try:
        with pytest.raises(MessageTooLong) as caught:
            await engine.reply(KEY, "아주 긴 메시지 " * 4000)
    finally:
        await engine.aclose()
    assert sagemaker.requests == []
    assert KOREAN.for_error(caught.value) == "메시지가 너무 깁니다. 더 짧게 나누어 보내 주세요."


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
    sagemaker.default = Reply("기다렸다가 답합니다", until=lambda: sagemaker.max_concurrent_seen == 200)
    engine = make_engine(sagemaker, redis_url, redis_prefix, llm_max_concurrency=200)
    try:
        calls = [
            asyncio.create_task(engine.reply(ConversationKey("slack", ("T1", "C1", str(i))), "질문"))
            for i in range(200)
        ]
        await wait_until(lambda: sagemaker.max_concurrent_seen == 200, timeout=20)
        threads_while_open = threading.active_count()
        answers = await asyncio.gather(*calls)
    finally:
        await engine.aclose()
    assert answers == ["기다렸다가 답합니다"] * 200
    assert threads_while_open < 20
