"""Discord answers 429 to the bot's own follow-up and edit: the bot waits as told and the answer
still arrives whole. (Slack's 429s on posts and edits: tests/test_slack_streaming.py.)"""

from __future__ import annotations

import redis.asyncio as aioredis

from bot.core.conversation import ConversationKey
from fakes.sagemaker import FakeSageMaker, Reply
from tests.discord_support import StartDiscordBot
from tests.reliability.helpers import stored_history

ANSWER = "경주는 신라의 천년 수도로, 불국사와 석굴암, 첨성대가 있습니다. 봄에는 벚꽃이 아름답습니다."


async def test_rate_limited_follow_up_and_edit_wait_and_the_answer_arrives_whole(
    discord_bot: StartDiscordBot, sagemaker: FakeSageMaker, redis_prefix: str, redis_client: aioredis.Redis
) -> None:
    retry_after = 0.4
    words = [w + " " for w in ANSWER.split(" ")]
    words[-1] = words[-1].rstrip()
    sagemaker.script(Reply(ANSWER, tokens=words, token_delay=0.1))
    async with discord_bot() as h:
        fake = h.fake
        # The first follow-up (which replaces "thinking…") and the first edit of it are refused.
        fake.rate_limit_next("POST /webhooks/*", retry_after=retry_after)
        fake.rate_limit_next("PATCH /webhooks/*/messages/*", retry_after=retry_after)
        interaction = await h.command("ask", {"질문": "경주 여행지 알려 줘"}, user_id=42)
        answer = await h.answered(interaction, timeout=15)

    assert answer == ANSWER
    for route in ("POST /webhooks/*", "PATCH /webhooks/*/messages/*"):
        limited, retried = fake.requests_to(route)[:2]
        assert (limited.status, retried.status) == (429, 200), route
        assert retried.time - limited.time >= retry_after - 0.02, route  # waited as told
    assert fake.channel_messages(fake.channel_id) == [ANSWER]  # one message, nothing duplicated
    # The completed answer is remembered (per user per channel in a server), as usual.
    key = ConversationKey("discord", (str(fake.guild_id), str(fake.channel_id), "42"))
    assert await stored_history(redis_client, redis_prefix, key) == [{"user": "경주 여행지 알려 줘", "assistant": ANSWER}]
