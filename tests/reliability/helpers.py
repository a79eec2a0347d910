"""What the reliability tests share: reading what Redis holds for a conversation, the
environment of a `python -m bot` serving every adapter, bot processes as replicas, and counting
what users see of a set of questions."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

from bot.core.conversation import ConversationKey
from fakes.discord import FakeDiscord
from fakes.sagemaker import FakeSageMaker, Reply
from fakes.slack import FakeSlack
from tests.discord_support import discord_env
from tests.slack_support import socket_mode_env
from tests.support import KOREAN, Logs, start_bot


def history_key(redis_prefix: str, key: ConversationKey) -> str:
    """The Redis list holding `key`'s remembered exchanges (what RedisMemory writes)."""
    return f"{redis_prefix.rstrip(':')}:{{{key.id}}}:history"


async def stored_history(client: aioredis.Redis, redis_prefix: str, key: ConversationKey) -> list[dict[str, str]]:
    """`key`'s exchanges as Redis holds them, read with a raw client, oldest first."""
    return [json.loads(item) for item in await client.lrange(history_key(redis_prefix, key), 0, -1)]


def slack_thread(root: str, channel: str = "C0001", team: str = "T0001") -> ConversationKey:
    """The conversation of a Slack channel thread."""
    return ConversationKey("slack", (team, channel, root))


def slack_dm(user: str = "U0001", team: str = "T0001") -> ConversationKey:
    """The conversation of a user's Slack DM (its top level)."""
    return ConversationKey("slack", (team, "dm", user))


def every_adapter_env(
    slack: FakeSlack, discord: FakeDiscord, sagemaker: FakeSageMaker, redis_url: str, prefix: str
) -> dict[str, str]:
    """Environment for `python -m bot` serving Slack (Socket Mode) and Discord against the fakes."""
    slack_env = socket_mode_env(slack, sagemaker, redis_url, prefix)
    return {**slack_env, **discord_env(discord, sagemaker, redis_url, prefix)}


@asynccontextmanager
async def replicas(
    count: int, *args: str, env: dict[str, str], ready: Callable[[], bool], timeout: float = 40
) -> AsyncIterator[list[Replica]]:
    """`count` processes of `python -m bot ARGS`, replicas of one bot started together, once
    `ready()` (they have all connected to the fake platform); those still running when the
    block ends are killed."""
    processes = [await start_bot(*args, env=env) for _ in range(count)]
    started = [Replica(process, Logs(process)) for process in processes]
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while not ready():
            if any(r.process.returncode is not None for r in started) or asyncio.get_running_loop().time() > deadline:
                logs = [await r.end() for r in started]
                raise AssertionError("the replicas did not connect:\n" + "".join(logs))
            await asyncio.sleep(0.02)
        yield started
    finally:
        for running in started:
            with suppress(TimeoutError):
                await running.end()


@dataclass
class Replica:
    process: asyncio.subprocess.Process
    logs: Logs

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)

    async def end(self) -> str:
        """Killed if it still runs; all it wrote."""
        if self.process.returncode is None:
            self.process.kill()
        return await self.logs.finish(10)

    async def stop(self) -> str:
        """SIGTERM, then all it wrote once it has ended (checked: no traceback)."""
        self.process.send_signal(signal.SIGTERM)
        output = await self.logs.finish(30)
        assert "Traceback" not in output, output
        return output


def roomy_workspace(fake: FakeSlack) -> dict[str, str]:
    """A workspace whose rate tiers are no bottleneck (Slack's hold a hundred answers back for
    minutes), for tests about something else: the fake allows more, and the environment for
    the bot says so too."""
    fake.rate_tiers = {}
    return {f"SLACK_TIER{tier}_PER_MINUTE": "100000" for tier in (2, 3, 4)}


def last_question(body: dict[str, Any]) -> str:
    """The question a Llama 3 prompt ends with (the text of its last user turn)."""
    return str(body["inputs"]).rsplit("user<|end_header_id|>\n\n", 1)[1].split("<|")[0]


def streamed(text: str, seconds: float) -> Reply:
    """`text` streamed word by word over about `seconds`."""
    words = text.split(" ")
    tokens = [w + " " for w in words[:-1]] + [words[-1]]
    return Reply(text, tokens=tokens, token_delay=seconds / len(tokens))


def answer_to(question: str) -> str:
    """The answer the tests' endpoint gives to `question`: it names the question and ends with
    a word no partial answer has."""
    return f"{question}에 대한 답변입니다. 여러 문장으로 천천히 이어지는 설명이 여기에 있습니다. 끝."


def under_way(text: str) -> bool:
    """A message still waiting for its answer: the placeholder, or text with the cursor."""
    return KOREAN("thinking") in text or "▌" in text


@dataclass(frozen=True)
class Seen:
    """What users see of a set of questions: how often each was answered completely, and the
    messages still waiting to be finished (a stream never stopped, a placeholder, a cursor)."""

    answers: dict[str, int]
    unfinished: list[str]

    @property
    def lost(self) -> list[str]:
        return [q for q, n in self.answers.items() if n == 0]

    @property
    def doubled(self) -> list[str]:
        return [q for q, n in self.answers.items() if n > 1]


def seen_in_slack(fake: FakeSlack, channel: str, questions: list[str]) -> Seen:
    records = fake.message_records(channel)
    unfinished = [m.text for m in records if m.stream_state == "streaming" or under_way(m.text)]
    return Seen({q: sum(answer_to(q) in m.text for m in records) for q in questions}, unfinished)


async def settled(fake: FakeSlack, channel: str, questions: list[str], *, timeout: float, bots: list[Replica]) -> Seen:
    """What users see once every question has an answer and nothing is left open; past `timeout`
    a failure showing what they saw and what the replicas logged."""
    with suppress(TimeoutError):
        await fake.wait_for(
            lambda: (seen := seen_in_slack(fake, channel, questions)) and not seen.lost and not seen.unfinished,
            timeout=timeout, what="every question answered, nothing left open",
        )  # fmt: skip
    seen = seen_in_slack(fake, channel, questions)
    if seen.lost or seen.unfinished:
        logs = [await bot.end() for bot in bots if bot.process.returncode is None]
        raise AssertionError(f"{seen}\n" + "\n".join(logs))
    return seen


async def jobs_held(redis_url: str, redis_prefix: str, queue: str, *, cluster: bool = False) -> dict[int, int]:
    """How many jobs each replica has in hand, by its pid (pending in Redis under its consumer
    name, which carries the pid). `cluster`: a Redis Cluster's."""
    client = (RedisCluster if cluster else aioredis.Redis).from_url(redis_url, decode_responses=True)
    try:
        consumers = await client.xinfo_consumers(f"{redis_prefix.rstrip(':')}:{{jobs:{queue}}}", "answerers")
    finally:
        await client.aclose()
    return {int(c["name"].split(":")[1]): int(c["pending"]) for c in consumers}


async def busiest(
    bots: list[Replica], redis_url: str, redis_prefix: str, queue: str, *, cluster: bool = False
) -> Replica:
    """The replica with the most jobs in hand: the one whose death takes the most with it."""
    held = await jobs_held(redis_url, redis_prefix, queue, cluster=cluster)
    victim = max(bots, key=lambda bot: held.get(bot.process.pid, 0))
    assert held.get(victim.process.pid), f"no replica holds a job: {held}"
    return victim
