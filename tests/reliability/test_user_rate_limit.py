"""A per-user rate limit (USER_RATE_LIMIT_PER_MINUTE, off by default) answers a flood politely
instead of forwarding it to the endpoint; other people are not held back by it."""

from __future__ import annotations

import asyncio
import time

import redis.asyncio as aioredis

from bot.core.conversation import ConversationKey
from bot.core.errors import RateLimited
from bot.core.usage import Asker
from tests.support import KOREAN
from fakes.sagemaker import FakeSageMaker
from fakes.slack import FakeSlack
from tests.reliability.helpers import slack_dm, stored_history
from tests.slack_support import StartSlackBot
from tests.support import make_engine, prompts

KEY = ConversationKey("slack", ("T123", "C456", "1700000000.0001"))
POLITE = KOREAN("rate_limited")  # "요청이 너무 잦습니다. 잠시 후 다시 보내 주세요."


async def clear_of_a_minute_boundary(margin: float = 5.0) -> None:
    """The limit counts per clock minute: a flood that straddled a minute's end would be split
    over two windows. Wait, if need be, until the current minute has `margin` seconds left."""
    while 60 - time.time() % 60 < margin:
        await asyncio.sleep(0.05)


async def test_per_user_rate_limit_answers_a_flood_politely(sagemaker, redis_url, redis_prefix):
    await clear_of_a_minute_boundary()
    engine = make_engine(sagemaker, redis_url, redis_prefix, user_rate_limit_per_minute=3)
    refused = []
    try:
        for i in range(5):
            try:
                await engine.reply(KEY, f"질문 {i}", asker=Asker("slack", "T123", "U1"))
            except RateLimited as error:
                refused.append(KOREAN.for_error(error))
        await engine.reply(KEY, "다른 사람 질문", asker=Asker("slack", "T123", "U2"))
    finally:
        await engine.aclose()
    assert refused == [POLITE] * 2
    assert len(sagemaker.requests) == 4


async def test_a_flood_of_slack_dms_gets_polite_replies_and_the_endpoint_sees_only_the_limit(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker, redis_prefix: str,
    redis_client: aioredis.Redis
) -> None:
    limit, flood = 3, 8
    sagemaker.responder(lambda body: "답: " + body["inputs"].rsplit("user<|end_header_id|>\n\n", 1)[1].split("<|")[0])
    await clear_of_a_minute_boundary()
    async with slack_bot(user_rate_limit_per_minute=limit) as bot:
        for i in range(flood):
            await bot.send(fake_slack.dm(f"질문 {i}"))
        await bot.send(fake_slack.dm("저도 질문", user="U0002", channel="D0002"))
        flooded = await bot.answered("D0001", count=flood, timeout=15)
        other = await bot.answered("D0002")

    # Every message got a reply: the first `limit` an answer, the rest the polite refusal.
    answered = [m for m in flooded if m != POLITE]
    assert len(answered) == limit and flooded.count(POLITE) == flood - limit, flooded
    assert other == ["답: 저도 질문"]  # someone else is not limited by the flood
    # Only the answered questions reached the endpoint, and only they are remembered.
    asked = [p.rsplit("user<|end_header_id|>\n\n", 1)[1].split("<|")[0] for p in prompts(sagemaker)]
    assert sorted(asked) == sorted(["저도 질문"] + [a.removeprefix("답: ") for a in answered])
    history = await stored_history(redis_client, redis_prefix, slack_dm("U0001"))
    assert sorted(e["assistant"] for e in history) == sorted(answered)
    # The flood was counted in Redis (shared by every replica): one hit per message.
    counters = [k async for k in redis_client.scan_iter(match=f"{redis_prefix}*hits:user:slack:T0001:U0001:*")]
    assert sum([int(await redis_client.get(k)) for k in counters]) == flood
