"""Redis in trouble (stopped, stalled by DEBUG SLEEP, cut off by a partition) degrades the bot
predictably: every question is still answered, none twice by the process that took it in, and
the operator reads one line when Redis is lost and one when it is back, per outage."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
import redis

from bot.core.memory import RedisMemory
from fakes.redis_server import RedisServer
from fakes.sagemaker import FakeSageMaker
from fakes.slack import FakeSlack
from fakes.tcp_proxy import TcpProxy
from tests.reliability.helpers import answer_to, last_question, replicas
from tests.slack_support import socket_mode_env


async def test_no_event_is_answered_twice_through_a_stopped_a_stalled_and_a_partitioned_redis(
    sagemaker: FakeSageMaker, fresh_redis_server: RedisServer, redis_prefix: str
) -> None:
    sagemaker.responder(lambda body: answer_to(last_question(body)))
    deliveries: dict[str, dict[str, Any]] = {}  # question → its event, as Slack delivers it
    async with FakeSlack() as fake, TcpProxy(fresh_redis_server.port) as network:
        env = {**socket_mode_env(fake, sagemaker, network.redis_url, redis_prefix), "REDIS_TIMEOUT_SECONDS": "1"}
        async with replicas(1, "slack", env=env, ready=lambda: fake.open_sockets == 1) as [bot]:

            def answers() -> dict[str, int]:
                return {q: sum(answer_to(q) in text for text in fake.messages(e["event"]["channel"]))
                        for q, e in deliveries.items()}  # fmt: skip

            async def deliver(question: str, attempt: int) -> None:
                envelope = await fake.push_socket_event(deliveries[question], retry_attempt=attempt)
                await fake.wait_ack(envelope, timeout=10)

            async def ask_twice(question: str) -> None:
                """A question, and Slack delivering it again (as when the first ack was late);
                then its answer."""
                n = len(deliveries) + 1
                deliveries[question] = fake.dm(question, user=f"U{n:04d}", channel=f"D{n:04d}")
                await deliver(question, 0)
                await deliver(question, 1)
                await fake.wait_for(lambda: answers()[question], timeout=15, what=f"the answer to {question}")

            await ask_twice("평소 질문")

            await asyncio.to_thread(fresh_redis_server.stop)
            await ask_twice("레디스가 꺼진 동안의 질문")
            await asyncio.to_thread(fresh_redis_server.start)
            await ask_twice("레디스가 돌아온 뒤의 질문")

            stall = asyncio.create_task(asyncio.to_thread(_debug_sleep, fresh_redis_server.url, 2.5))
            await asyncio.sleep(0.2)
            asking = asyncio.create_task(ask_twice("레디스가 멈춘 동안의 질문"))
            # The stall's tail flaps: Redis answers the bot, then stalls again for a moment (the
            # bot's read then in flight times out): still one outage.
            await bot.logs.wait_for("Redis is back", count=2)
            await asyncio.to_thread(_debug_sleep, fresh_redis_server.url, 1.1)
            await asking
            await stall
            await ask_twice("멈춤이 풀린 뒤의 질문")

            network.cut()
            await ask_twice("네트워크가 끊긴 동안의 질문")
            network.heal()
            await ask_twice("네트워크가 돌아온 뒤의 질문")

            for question in deliveries:  # every event once more, as a late retry of Slack's comes
                await deliver(question, 2)
            logs = await bot.stop()  # after finishing every answer it took in

    assert answers() == {q: 1 for q in deliveries}, logs
    # One line when Redis is lost and one when it is back, for each of the three outages.
    said = [line for line in logs.splitlines() if "Redis unreachable" in line or "Redis is back" in line]
    assert ["back" if "Redis is back" in line else "lost" for line in said] == ["lost", "back"] * 3, logs


def _debug_sleep(url: str, seconds: float) -> None:
    """Stall the Redis server itself: it answers nobody for `seconds`."""
    with redis.Redis.from_url(url, socket_timeout=seconds + 5) as client:
        client.execute_command("DEBUG", "SLEEP", seconds)


async def test_a_connection_broken_by_a_redis_restart_is_tried_again_not_counted_as_an_outage(
    fresh_redis_server: RedisServer, redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    memory = RedisMemory.connected(fresh_redis_server.url, prefix=redis_prefix.rstrip(":"), window=4, ttl_seconds=600)
    try:
        await memory.mark("before", 60)  # a pooled connection, which the restart then breaks
        await asyncio.to_thread(fresh_redis_server.stop)
        await asyncio.to_thread(fresh_redis_server.start)
        with caplog.at_level(logging.WARNING, logger="bot.core.memory"):
            assert await memory.claim("after-the-restart", 60)
        # It reached Redis: another process would see the claim.
        assert await memory.client.exists(memory.claim_key("after-the-restart"))
        assert [r.getMessage() for r in caplog.records] == []
    finally:
        await memory.aclose()
