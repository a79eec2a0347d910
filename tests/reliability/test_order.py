"""A conversation's questions are answered in the order the platform got them, whatever order the
replicas reach Redis in: with Redis merely slower (+200 ms each way), two questions of a thread
sent 0.3 s apart to two replicas are never answered the wrong way round, and a question whose
queue vanishes while it waits is answered all the same."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as aioredis

from fakes.sagemaker import FakeSageMaker, Reply
from fakes.slack import FakeSlack
from fakes.tcp_proxy import TcpProxy
from tests.reliability.helpers import answer_to, last_question, replicas, roomy_workspace, seen_in_slack, settled
from tests.slack_support import StartSlackBot, socket_mode_env

PAIRS = 50


def prompts_for(sagemaker: FakeSageMaker, question: str) -> list[str]:
    return [r.json["inputs"] for r in sagemaker.requests if last_question(r.json) == question]


async def test_slower_redis_never_reverses_two_questions_of_a_thread(
    sagemaker: FakeSageMaker, redis_url: str, redis_prefix: str
) -> None:
    sagemaker.responder(lambda body: answer_to(last_question(body)))
    async with FakeSlack() as fake, TcpProxy(urlsplit(redis_url).port or 6379, delay=0.2) as slow_redis:
        env = roomy_workspace(fake) | socket_mode_env(fake, sagemaker, slow_redis.redis_url, redis_prefix)
        async with replicas(2, "slack", env=env, ready=lambda: fake.open_sockets == 2) as bots:

            async def thread(i: int) -> None:  # the second question to the other replica
                first = fake.mention(f"질문 {i}-1")
                await fake.push_socket_event(first, connection=i % 2)
                await asyncio.sleep(0.3)
                second = fake.mention(f"질문 {i}-2", thread_ts=first["event"]["ts"])
                await fake.push_socket_event(second, connection=(i + 1) % 2)

            await asyncio.gather(*(thread(i) for i in range(PAIRS)))
            asked = [f"질문 {i}-{n}" for i in range(PAIRS) for n in (1, 2)]
            await settled(fake, "C0001", asked, timeout=60, bots=bots)
            for bot in bots:
                await bot.stop()

    # Reversed: the first question answered with the second (and its answer) as history.
    reversed_pairs = [
        i for i in range(PAIRS) if any(f"질문 {i}-2" in p for p in prompts_for(sagemaker, f"질문 {i}-1"))
    ]  # fmt: skip
    assert reversed_pairs == []
    # In order: every second question was answered knowing the first question's answer.
    unaware = [
        i for i in range(PAIRS) if not all(answer_to(f"질문 {i}-1") in p for p in prompts_for(sagemaker, f"질문 {i}-2"))
    ]  # fmt: skip
    assert unaware == []
    assert seen_in_slack(fake, "C0001", asked).doubled == []


async def test_a_question_whose_queue_vanishes_while_it_waits_is_answered(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker, redis_prefix: str,
    redis_client: aioredis.Redis,
) -> None:  # fmt: skip
    # The first answer takes long; the follow-up waits for it. Then everything the bot keeps in
    # Redis vanishes (FLUSHALL, eviction, a failover that lost writes): the follow-up goes on.
    def answering(body: dict[str, Any]) -> Reply | str:
        question = last_question(body)
        return Reply(answer_to(question), first_token_delay=4.0) if question == "느린 질문" else answer_to(question)

    sagemaker.responder(answering)
    async with slack_bot() as bot:
        first = fake_slack.mention("느린 질문")
        root = first["event"]["ts"]
        await bot.send(first)
        await fake_slack.wait_for(lambda: len(sagemaker.requests) == 1, timeout=10, what="the slow answer under way")
        await bot.send(fake_slack.mention("기다리는 질문", thread_ts=root))
        turns = f"{redis_prefix.rstrip(':')}:{{slack:T0001:C0001:{root}}}:turns"

        async def both_in_line() -> bool:
            return await redis_client.zcard(turns) == 2

        await fake_slack.wait_for(both_in_line, timeout=10, what="the follow-up waiting its turn")
        await redis_client.delete(*[key async for key in redis_client.scan_iter(match=f"{redis_prefix}*")])

        await fake_slack.wait_for(
            lambda: seen_in_slack(fake_slack, "C0001", ["기다리는 질문"]).answers["기다리는 질문"] == 1,
            timeout=4, what="the follow-up answered while the first answer is still being written",
        )  # fmt: skip
        await bot.answered("C0001", root, count=2, timeout=15)
    assert seen_in_slack(fake_slack, "C0001", ["느린 질문", "기다리는 질문"]).answers == {"느린 질문": 1, "기다리는 질문": 1}
