"""Conversation memory in a real Redis: windowed, expiring, shared, ordered, never corrupted."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from contextlib import aclosing

import pytest
import redis.asyncio as aioredis

from bot.core.conversation import ConversationKey
from bot.core.memory import Exchange, RedisMemory
from fakes.sagemaker import Reply
from tests.provider_support import reply_for, sent_text, turns_received
from tests.support import make_engine, prompts, wait_until

KEY = ConversationKey("slack", ("T123", "C456", "1700000000.0001"))


async def test_window_keeps_last_four_exchanges_with_ttl(sagemaker, redis_url, redis_prefix, redis_client):
    sagemaker.responder(lambda body: "답변 " + body["inputs"].rsplit("질문 ", 1)[1].split("<")[0])
    engine = make_engine(sagemaker, redis_url, redis_prefix)
    try:
        for i in range(10):
            await engine.reply(KEY, f"질문 {i}")
    finally:
        await engine.aclose()

    name = f"{redis_prefix.rstrip(':')}:{{slack:T123:C456:1700000000.0001}}:history"
    stored = [json.loads(item) for item in await redis_client.lrange(name, 0, -1)]
    assert stored == [{"user": f"질문 {i}", "assistant": f"답변 {i}"} for i in range(6, 10)]
    assert 0 < await redis_client.ttl(name) <= 2 * 24 * 3600
    assert await redis_client.keys(f"{redis_prefix}*") == [name.encode()]
    # The tenth prompt carried the four exchanges remembered before it: 5 to 8.
    last = prompts(sagemaker)[-1]
    assert "질문 4" not in last and all(f"질문 {i}" in last for i in range(5, 10))


async def test_failed_answer_leaves_memory_unchanged(model_server, redis_url, redis_prefix, redis_client):
    engine = make_engine(model_server, redis_url, redis_prefix)
    name = f"{redis_prefix.rstrip(':')}:{{{KEY.id}}}:history"
    try:
        model_server.script("첫 답변")
        await engine.reply(KEY, "첫 질문")
        before = await redis_client.lrange(name, 0, -1)
        model_server.script(reply_for(model_server, "절반만 나오고 끊기는 답변입니다", fault="die_midway", die_after_tokens=2))
        try:
            await engine.reply(KEY, "두 번째 질문")
        except Exception as error:
            assert type(error).__name__ == "LLMStreamCut"
        else:
            raise AssertionError("a stream that died must fail the answer")
        assert await redis_client.lrange(name, 0, -1) == before
    finally:
        await engine.aclose()


@pytest.mark.parametrize("with_redis", [True, False], ids=["redis", "in-process"])
async def test_next_question_sees_the_previous_exchange(model_server, redis_url, redis_prefix, with_redis):
    model_server.script("반가워요, 민수 님", "민수 님이라고 하셨어요")
    engine = make_engine(model_server, redis_url if with_redis else None, redis_prefix)
    try:
        await engine.reply(KEY, "내 이름은 민수야")
        await engine.reply(KEY, "내 이름이 뭐였지?")
    finally:
        await engine.aclose()
    # the earlier exchange as real turns, on every provider
    assert turns_received(model_server, 1)[1:] == [
        ("user", "내 이름은 민수야"), ("assistant", "반가워요, 민수 님"), ("user", "내 이름이 뭐였지?")
    ]


@pytest.mark.parametrize("with_redis", [True, False], ids=["redis", "in-process"])
async def test_reader_that_stops_early_leaves_no_half_exchange(sagemaker, redis_url, redis_prefix, with_redis):
    sagemaker.script(Reply("끝까지 읽히지 않는 답변", tokens=["끝까지 ", "읽히지 ", "않는 답변"]), "다음 답변")
    engine = make_engine(sagemaker, redis_url if with_redis else None, redis_prefix)
    try:
        async with aclosing(engine.stream_reply(KEY, "버려지는 질문")) as deltas:
            async for _delta in deltas:
                break
        # The abandoned turn let the conversation go on, and left nothing of itself behind.
        assert await engine.reply(KEY, "다음 질문") == "다음 답변"
        history = (await engine.memory.context(KEY)).history
    finally:
        await engine.aclose()
    assert "버려지는 질문" not in prompts(sagemaker)[1]
    assert [(e.user, e.assistant) for e in history] == [("다음 질문", "다음 답변")]


async def test_an_exchange_takes_two_redis_round_trips(sagemaker, fresh_redis_server, redis_prefix):
    # Join the conversation's queue and, at its head, read the history and documents; then
    # remember and leave.
    sagemaker.script("첫 답변", "두 번째 답변")
    engine = make_engine(sagemaker, fresh_redis_server.url, redis_prefix)
    probe = aioredis.Redis.from_url(fresh_redis_server.url)
    try:
        await engine.reply(KEY, "첫 질문")  # loads the scripts and opens the connection
        before = await requests_read(probe)
        await engine.reply(KEY, "두 번째 질문")
        after = await requests_read(probe)
    finally:
        await engine.aclose()
        await probe.aclose()
    assert after - before - 1 == 2  # less the probe's own second INFO
    assert "첫 답변" in prompts(sagemaker)[1]


async def requests_read(client: aioredis.Redis) -> int:
    """How many times the server has read a request off a connection: one per round trip, as a
    pipeline's commands arrive together (this INFO included)."""
    return int((await client.info("stats"))["total_reads_processed"])


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


def short_leases(redis_url: str, redis_prefix: str) -> RedisMemory:
    """A memory as a bot process has it, with leases short enough for a test to outlive."""
    return RedisMemory.connected(
        redis_url, prefix=redis_prefix.rstrip(":"), window=4, ttl_seconds=600, lease_seconds=0.3, wait_poll_seconds=0.01
    )


async def test_an_answer_longer_than_its_lease_keeps_the_conversation_until_it_ends(redis_url, redis_prefix):
    # Leases expire so that a crashed process cannot block a conversation; a live one renews its
    # own, so the next message, in another process, still waits for the whole answer.
    first, second = short_leases(redis_url, redis_prefix), short_leases(redis_url, redis_prefix)
    steps: list[str] = []

    async def slow_answer() -> None:
        async with first.turn(KEY) as turn:
            steps.append("first answering")
            await asyncio.sleep(1.2)  # an answer four leases long
            turn.remember(Exchange("첫 질문", "긴 답변"))
        steps.append("first done")

    try:
        answering = asyncio.create_task(slow_answer())
        await wait_until(lambda: steps == ["first answering"])
        async with second.turn(KEY) as turn:
            steps.append("second answering")
            seen = turn.context.history
        await answering
    finally:
        await first.aclose()
        await second.aclose()
    assert steps == ["first answering", "first done", "second answering"]
    assert seen == [Exchange("첫 질문", "긴 답변")]


async def test_a_crashed_process_does_not_block_the_conversation(redis_url, redis_prefix):
    # A process killed mid-answer leaves its place in the conversation's queue; once its lease
    # has run out, the next message is answered.
    crashing = subprocess.Popen(
        [sys.executable, "-c", _ENTER_AND_HANG, redis_url, redis_prefix.rstrip(":")],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert crashing.stdout is not None and crashing.stdout.readline() == "answering\n"
    finally:
        crashing.kill()
        crashing.wait()
    memory = short_leases(redis_url, redis_prefix)
    try:
        async with asyncio.timeout(5):
            async with memory.turn(KEY) as turn:
                turn.remember(Exchange("다음 질문", "답변"))
        assert (await memory.context(KEY)).history == [Exchange("다음 질문", "답변")]
    finally:
        await memory.aclose()


_ENTER_AND_HANG = f"""
import asyncio, sys
from bot.core.conversation import ConversationKey
from bot.core.memory import RedisMemory

async def main():
    memory = RedisMemory.connected(sys.argv[1], prefix=sys.argv[2], window=4, ttl_seconds=600, lease_seconds=0.3)
    async with memory.turn(ConversationKey{(KEY.platform, KEY.scope)!r}):
        print("answering", flush=True)
        await asyncio.Event().wait()

asyncio.run(main())
"""


async def test_reset_forgets_the_conversation(model_server, redis_url, redis_prefix):
    engine = make_engine(model_server, redis_url, redis_prefix)
    try:
        await engine.reply(KEY, "내 이름은 민수야")
        await engine.reset(KEY)
        await engine.reply(KEY, "내 이름이 뭐지?")
    finally:
        await engine.aclose()
    assert "민수" not in sent_text(model_server, 1)


async def test_workspaces_never_share_memory(model_server, redis_url, redis_prefix):
    engine = make_engine(model_server, redis_url, redis_prefix)
    try:
        await engine.reply(ConversationKey("slack", ("T1", "C1", "1.0")), "비밀 코드는 사과")
        await engine.reply(ConversationKey("slack", ("T2", "C1", "1.0")), "비밀 코드가 뭐였지?")
    finally:
        await engine.aclose()
    assert "사과" not in sent_text(model_server, 1)


async def test_without_redis_url_memory_lives_in_the_process(model_server, redis_prefix):
    engine = make_engine(model_server, None, redis_prefix)
    try:
        await engine.reply(KEY, "기억해: 파란색")
        await engine.reply(KEY, "무슨 색이었지?")
    finally:
        await engine.aclose()
    assert "파란색" in sent_text(model_server, 1)
