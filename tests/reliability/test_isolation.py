"""500 conversations at once, each holding its own secret in memory: no prompt ever carries
another conversation's secret, and each one's own comes back to it.

Real engine, real Redis, boto3 to the fake endpoint; the endpoint answers by what it reads, so a
mixed-up prompt would also show in the answers and in what Redis keeps."""

from __future__ import annotations

import asyncio
import re
import uuid

import redis.asyncio as aioredis

from bot.core.conversation import ConversationKey
from fakes.sagemaker import FakeSageMaker, Reply
from tests.reliability.helpers import stored_history
from tests.support import make_engine, prompts

CONVERSATIONS = 500
SECRET = re.compile(r"SECRET-[0-9a-f]{32}")
ASKER = re.compile(r"\[대화 (\d+)\]")
LAST_QUESTION = "<|start_header_id|>user<|end_header_id|>\n\n"


def answer_by_content(body: dict) -> Reply:
    """Repeat every secret the prompt holds, for the conversation the question names."""
    question = body["inputs"].rsplit(LAST_QUESTION, 1)[1]
    asker = ASKER.search(question)[1]  # type: ignore[index]
    seen = " ".join(SECRET.findall(body["inputs"]))
    text = f"[대화 {asker}] 기억: {seen}"
    return Reply(text, tokens=[text])  # one token: the test is about memory, not streaming


def key(n: int) -> ConversationKey:
    return ConversationKey("slack", ("T0001", f"C{n:04d}", "1700000000.000100"))


async def test_five_hundred_conversations_never_see_each_others_secrets(
    sagemaker: FakeSageMaker, redis_url: str, redis_prefix: str, redis_client: aioredis.Redis
) -> None:
    secrets = {n: f"SECRET-{uuid.uuid4().hex}" for n in range(CONVERSATIONS)}
    sagemaker.responder(answer_by_content)
    engine = make_engine(sagemaker, redis_url, redis_prefix, llm_max_concurrency=100)
    try:
        # Everyone tells their secret, then everyone asks for it back: all at once each time.
        await asyncio.gather(*(engine.reply(key(n), f"[대화 {n}] 내 비밀은 {secrets[n]}야. 기억해 줘.") for n in secrets))
        answers = await asyncio.gather(*(engine.reply(key(n), f"[대화 {n}] 내 비밀이 뭐였지?") for n in secrets))
    finally:
        await engine.aclose()

    sent = prompts(sagemaker)
    assert len(sent) == 2 * CONVERSATIONS
    for prompt in sent:
        asker = int(ASKER.findall(prompt.rsplit(LAST_QUESTION, 1)[1])[0])
        assert set(SECRET.findall(prompt)) == {secrets[asker]}, f"conversation {asker} saw another's secret"
    # Each second answer was built from its own conversation's memory, and only from it.
    assert answers == [f"[대화 {n}] 기억: {secrets[n]} {secrets[n]}" for n in secrets]
    # Redis keeps two exchanges per conversation, each holding its own secret only.
    for n in secrets:
        history = await stored_history(redis_client, redis_prefix, key(n))
        assert len(history) == 2 and set(SECRET.findall(str(history))) == {secrets[n]}
