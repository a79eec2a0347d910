"""Bot processes as an operator runs them (`python -m bot slack`, Socket Mode) against the fake
Slack of this process, the endpoint process (bench.endpoint) and a real Redis; the users' side of
their conversations; and what such a process uses (RSS, open file descriptors).

Used by bench.takeover (two replicas, one killed mid-run) and bench.soak (one process, an hour)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import ROOT, rss_mb
from bench.endpoint import Profile

CURSOR = "▌"
TAG = re.compile(r"\[q\d+-\d+\]")


def bot_env(fake: Any, endpoint_url: str, redis_url: str, **settings: str) -> dict[str, str]:
    """The environment of `python -m bot slack` in Socket Mode against the fakes; a workspace
    whose rate tiers are no bottleneck (the bot's own costs are measured, not Slack's limits)."""
    fake.rate_tiers = {}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_", "REDIS_"))}
    return env | {
        "PYTHON_DOTENV_DISABLED": "1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true", "AWS_REGION": "us-east-1", "SAGEMAKER_ENDPOINT_NAME": "bench",
        "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": endpoint_url, "LLM_TIMEOUT_SECONDS": "300",
        "SLACK_BOT_TOKEN": fake.bot_token, "SLACK_APP_TOKEN": fake.app_token, "SLACK_API_URL": fake.api_url,
        "REDIS_URL": redis_url, "REDIS_KEY_PREFIX": f"bench:{uuid.uuid4().hex[:8]}",
        **{f"SLACK_TIER{tier}_PER_MINUTE": "100000" for tier in (2, 3, 4)},
        **settings,
    }  # fmt: skip


@asynccontextmanager
async def slack_bots(count: int, fake: Any, env: dict[str, str]) -> AsyncIterator[list[asyncio.subprocess.Process]]:
    """`count` bot processes, once each has opened its Socket Mode connection; stopped (SIGTERM,
    then SIGKILL) at the end."""
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "slack", env=env, cwd=ROOT, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        for _ in range(count)
    ]
    try:
        await fake.wait_for(lambda: fake.open_sockets == count, timeout=60, what="every bot process connected")
        yield processes
    finally:
        for process in processes:
            if process.returncode is None:
                process.terminate()
            with suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), 40)
            if process.returncode is None:
                process.kill()


def usage(pid: int) -> dict[str, float]:
    """What process `pid` holds now: resident memory (MB) and open file descriptors; and the CPU
    time it has used so far (s, user + system)."""
    ticks = os.sysconf("SC_CLK_TCK")
    utime, stime = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[11:13]
    cpu = (int(utime) + int(stime)) / ticks
    return {"rss_mb": rss_mb(pid), "fds": len(os.listdir(f"/proc/{pid}/fd")), "cpu_s": cpu}


@dataclass
class Answered:
    conversation: int
    exchange: int
    sent: float  # time.monotonic()
    answered: float | None = None  # when its complete answer was first seen; None: never
    redelivered: bool = False  # not acknowledged in time (its replica died): sent again

    @property
    def tag(self) -> str:
        return f"[q{self.conversation}-{self.exchange}]"


@dataclass
class Users:
    """People talking to the bot: each conversation a run of channel threads (a channel of its own
    each, so that reading one stays cheap), a question mentioning the bot, its answer, the next
    question. `answer` is the endpoint's whole answer text. With `redeliver`, events nobody
    acknowledged come again as Slack sends them (when a replica may die). With `forget`, a
    thread's messages are dropped from the fake once the conversation moves on, and the calls the
    fake records with them (a soak would otherwise fill this process with an hour of them)."""

    fake: Any
    answer: str
    timeout: float = 120.0
    redeliver: bool = False
    forget: bool = False
    records: list[Answered] = field(default_factory=list)
    threads: dict[str, int] = field(default_factory=dict)  # channel (one thread each): questions asked

    def complete(self, channel: str) -> int:
        """How many complete answers a thread holds (every answer is the same text)."""
        return sum(self.answer in m.text and CURSOR not in m.text for m in self.fake.message_records(channel))

    def tally(self) -> dict[str, int]:
        """Questions asked; of them lost (no complete answer) and doubled (answered twice or more),
        by what the threads finally hold; and bot messages nobody will finish (a stream never
        stopped, a placeholder, a cursor)."""
        answered = {channel: self.complete(channel) for channel in self.threads}
        unfinished = [m for channel in self.threads for m in self.fake.message_records(channel)
                      if m.stream_state == "streaming" or CURSOR in m.text or "생각하고 있어요" in m.text]  # fmt: skip
        return {
            "asked": sum(self.threads.values()),
            "lost": sum(max(0, asked - answered[c]) for c, asked in self.threads.items()),
            "doubled": sum(max(0, answered[c] - asked) for c, asked in self.threads.items()),
            "open": len(unfinished),
        }

    async def converse(self, index: int, exchanges: int | None, until: float, connection: int | None = None) -> None:
        """Conversation `index`: `exchanges` questions (None: until `until`, a monotonic time),
        each asked once the one before is answered; a new thread every 20 questions."""
        asked, channel, root = 0, "", ""
        while (asked < exchanges) if exchanges is not None else (time.monotonic() < until):
            if asked % 20 == 0:
                if self.forget and channel:
                    self.fake._channels.pop(channel, None)  # (the fake has no other way to forget)
                    self.threads.pop(channel, None)
                channel, root = f"C{index:04d}T{asked // 20:04d}", ""
            payload = self.fake.mention(f"[q{index}-{asked}] 이번 분기 일정과 담당자를 알려 주세요.", channel=channel,
                                        thread_ts=root or None)  # fmt: skip
            root = root or payload["event"]["ts"]
            self.threads[channel] = self.threads.get(channel, 0) + 1
            before = self.complete(channel)
            record = Answered(index, asked, time.monotonic())
            self.records.append(record)
            record.redelivered = not await self.deliver(payload, connection)
            while self.complete(channel) <= before and time.monotonic() < record.sent + self.timeout:
                await asyncio.sleep(0.02)
            if self.complete(channel) > before:
                record.answered = time.monotonic()
            asked += 1

    async def deliver(self, payload: dict[str, Any], connection: int | None) -> bool:
        """Down connection `connection` while it is open (Slack spreads events over the open
        ones), else the newest; as Slack does, an event not acknowledged within 3 s (its replica
        died) comes again, down another connection. Whether the first delivery was acknowledged."""
        if connection is not None and self.fake.open_sockets <= connection:
            connection = None
        envelope = await self.fake.push_socket_event(payload, connection=connection, timeout=30)
        if not self.redeliver:
            return True
        for attempt in (1, 2, 3):
            try:
                await self.fake.wait_ack(envelope, timeout=3)
                return attempt == 1
            except TimeoutError:
                envelope = await self.fake.push_socket_event(payload, retry_attempt=attempt, timeout=30)
        return False


def held_by(redis_url: str, prefix: str, pid: int) -> set[str]:
    """The questions (by tag) whose jobs process `pid` holds in Redis right now: what its death
    leaves to be taken over."""
    import redis

    stream = f"{prefix}:{{jobs:slack}}"
    with redis.Redis.from_url(redis_url, decode_responses=True) as client:
        names = [c["name"] for c in client.xinfo_consumers(stream, "answerers") if c["name"].split(":")[1] == str(pid)]
        pending = [client.xpending_range(stream, "answerers", "-", "+", 10_000, name) for name in names]
        held = [entry["message_id"] for entries in pending for entry in entries]
        payloads = [entry[0][1]["payload"] for entry in (client.xrange(stream, i, i) for i in held) if entry]
    return {match[0] for payload in payloads if (match := TAG.search(json.loads(payload)["text"]))}


def answer_text(profile: Profile) -> str:
    return "".join(profile.token_list()).strip()


def latency_ms(records: list[Answered]) -> list[float]:
    return [1000 * (r.answered - r.sent) for r in records if r.answered is not None]
