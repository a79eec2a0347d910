"""WORKERS=2: `python -m bot` supervises two bot processes, end to end as an operator runs it.

Slack HTTP mode shares one port, Socket Mode opens a connection per worker, Discord runs a shard
per worker; a signal or a worker's end stops them all the graceful way, and workers whose
supervisor was killed stop by themselves."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.adapters.slack import EVENTS_PATH, SOCKET_MODE_CONNECTIONS, slack_mode
from bot.config import Settings
from bot.core.errors import ConfigError
from tests.discord_support import discord_env
from fakes.discord import FakeDiscord
from fakes.redis_server import free_port
from fakes.sagemaker import FakeSageMaker, Reply
from fakes.slack import FakeSlack
from tests.slack_support import http_mode_env, socket_mode_env
from tests.support import Logs, running, start_bot

ANSWER = "두 프로세스가 나눠서 답합니다."
SLOW_ANSWER = "멈추기 전에 끝까지 답합니다. " * 4
WORKERS = ("1/2", "2/2")
SECRETS = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "DISCORD_TOKEN", "AWS_SECRET_ACCESS_KEY")


@dataclass
class Supervisor:
    process: asyncio.subprocess.Process
    logs: Logs
    workers: list[int]  # pids, worker 1/2 first
    env: dict[str, str]

    async def output(self, timeout: float = 30) -> str:
        """Everything the supervisor and its workers wrote, once all of them have ended; checked
        for secrets and tracebacks."""
        logs = await self.logs.finish(timeout)
        for name in SECRETS:
            assert not self.env.get(name) or self.env[name] not in logs, f"{name} in the output:\n{logs}"
        assert "Traceback" not in logs, logs
        return logs


@asynccontextmanager
async def supervisor(*args: str, env: dict[str, str]) -> AsyncIterator[Supervisor]:
    """`python -m bot ARGS` with WORKERS=2, once it has said which workers it started. Whatever
    still runs afterwards (a failed test) is killed."""
    env = {**env, "WORKERS": "2"}
    process = await start_bot(*args, env=env)
    logs = Logs(process)
    pids: list[int] = []
    try:
        started = await logs.wait_for(r"started 2 workers \(pids (\d+), (\d+)\)")
        pids = [int(started[1]), int(started[2])]
        yield Supervisor(process, logs, pids, env)
    finally:
        for pid in pids:
            if running(pid) and b"--worker" in Path(f"/proc/{pid}/cmdline").read_bytes():
                os.kill(pid, signal.SIGKILL)
        if process.returncode is None:
            process.kill()
        with suppress(TimeoutError):
            await logs.finish(10)


@asynccontextmanager
async def socket_mode_workers(
    sagemaker: FakeSageMaker, redis_url: str, redis_prefix: str
) -> AsyncIterator[tuple[FakeSlack, Supervisor]]:
    """A fake Slack, and `python -m bot slack` in Socket Mode with WORKERS=2 connected to it."""
    async with FakeSlack() as fake:
        async with supervisor("slack", env=socket_mode_env(fake, sagemaker, redis_url, redis_prefix)) as bot:
            await fake.wait_for(lambda: fake.open_sockets == 2, timeout=20, what="two Socket Mode connections")
            yield fake, bot


def assert_stopped_gracefully(logs: str, *workers: str, how: str = "by SIGTERM") -> None:
    for worker in workers:
        assert re.search(rf"\[worker {worker}\] .*stopped {re.escape(how)}", logs), logs


def slow_reply() -> Reply:
    """About a second of streaming."""
    words = SLOW_ANSWER.split(" ")
    return Reply(SLOW_ANSWER, tokens=[w + " " for w in words[:-1]] + [words[-1]], token_delay=0.1)


async def test_http_mode_workers_share_the_port_and_finish_the_answer_in_flight_on_sigterm(
    sagemaker: FakeSageMaker, redis_url: str, redis_prefix: str
) -> None:
    sagemaker.default = Reply(ANSWER)
    port = free_port()
    channels = [f"D{i:04d}" for i in range(1, 7)]
    async with FakeSlack() as fake:
        env = http_mode_env(fake, sagemaker, redis_url, redis_prefix, port)
        async with supervisor("slack", env=env) as bot:
            for worker in WORKERS:
                await bot.logs.wait_for(rf"\[worker {worker}\] .*Slack bot running in http mode at .*:{port}$")
            url = f"http://127.0.0.1:{port}{EVENTS_PATH}"
            # One connection per event: the kernel spreads them over the two listening workers.
            deliveries = await asyncio.gather(
                *(fake.send_http_event(url, fake.dm("답해 줘", user=f"U{c[1:]}", channel=c)) for c in channels)
            )
            assert [d.status for d in deliveries] == [200] * len(channels)
            await fake.wait_for(
                lambda: all(fake.messages(c) == [ANSWER] for c in channels), timeout=10, what="every DM answered"
            )

            sagemaker.script(slow_reply())
            assert (await fake.send_http_event(url, fake.dm("길게 답해 줘", user="U0100", channel="D0100"))).status == 200
            await fake.wait_for(lambda: fake.messages("D0100"), timeout=10, what="the slow answer under way")
            assert "".join(fake.messages("D0100")).split() != SLOW_ANSWER.split()  # still streaming
            bot.process.send_signal(signal.SIGTERM)
            logs = await bot.output()

    assert bot.process.returncode == 0, logs
    assert "".join(fake.messages("D0100")).split() == SLOW_ANSWER.split()  # whole, not cut off
    assert all(fake.messages(c) == [ANSWER] for c in channels)  # once each, nothing more came
    assert len(sagemaker.requests) == len(channels) + 1
    assert_stopped_gracefully(logs, *WORKERS)


async def test_socket_mode_workers_each_open_a_connection_and_answer_what_comes_down_it(
    sagemaker: FakeSageMaker, redis_url: str, redis_prefix: str
) -> None:
    sagemaker.default = Reply(ANSWER)
    async with socket_mode_workers(sagemaker, redis_url, redis_prefix) as (fake, bot):
        for connection in (0, 1):
            dm = fake.dm("답해 줘", user=f"U000{connection}", channel=f"D000{connection}")
            await fake.wait_ack(await fake.push_socket_event(dm, connection=connection))
        await fake.wait_for(
            lambda: fake.messages("D0000") == [ANSWER] and fake.messages("D0001") == [ANSWER],
            timeout=10, what="both DMs answered",
        )  # fmt: skip
        bot.process.send_signal(signal.SIGTERM)
        logs = await bot.output()
    assert bot.process.returncode == 0, logs
    assert fake.socket_connects == 2
    assert fake.messages("D0000") == [ANSWER] and fake.messages("D0001") == [ANSWER]
    for worker in WORKERS:
        assert re.search(rf"\[worker {worker}\] .*Slack bot running in socket mode", logs), logs


async def test_discord_workers_run_one_shard_each_and_answer_a_guild_command_and_a_dm(
    sagemaker: FakeSageMaker, redis_url: str, redis_prefix: str
) -> None:
    sagemaker.default = Reply(ANSWER)
    # A server whose events Discord sends to shard 1: the shard that did not sync the commands.
    async with FakeDiscord(token="secret-bot-token-1234", guild_id=1 << 22) as fake:
        async with supervisor("discord", env=discord_env(fake, sagemaker, redis_url, redis_prefix)) as bot:
            await fake.wait_for(lambda: sorted(fake.ready_shards) == [[0, 2], [1, 2]], timeout=20)
            asked = fake.interaction_create("ask", {"질문": "서버에서 묻습니다"})
            assert await fake.dispatch("INTERACTION_CREATE", asked) == 1  # shard 1 only
            dm_channel = fake.dm_channel(7)
            dm = fake.message_create("DM으로 묻습니다", author_id=7, channel_id=dm_channel)
            assert await fake.dispatch("MESSAGE_CREATE", dm) == 1  # shard 0 only
            await fake.wait_for(lambda: (fake.original_response(asked) or {}).get("content") == ANSWER, timeout=10)
            await fake.wait_for(lambda: fake.channel_messages(dm_channel) == [ANSWER], timeout=10)
            bot.process.send_signal(signal.SIGTERM)
            logs = await bot.output()
    assert bot.process.returncode == 0, logs
    assert sorted(identify["shard"] for identify in fake.identifies) == [[0, 2], [1, 2]]
    assert fake.identifies_too_soon == 0  # the shards took turns, one IDENTIFY per 5 s
    assert len(fake.requests_to("PUT /applications/*/commands")) == 1  # one shard synced them
    assert {c["name"] for c in fake.commands[fake.guild_id]} == {
        "ask", "summarize", "reset", "usage", "help", "봇설정", "요약하기", "번역하기"}
    assert_stopped_gracefully(logs, *WORKERS)


async def test_a_killed_worker_stops_the_other_and_the_supervisor_exits_as_the_worker_did(
    sagemaker: FakeSageMaker, redis_url: str, redis_prefix: str
) -> None:
    async with socket_mode_workers(sagemaker, redis_url, redis_prefix) as (fake, bot):
        os.kill(bot.workers[0], signal.SIGKILL)
        logs = await bot.output()
        assert fake.open_sockets == 0
    assert bot.process.returncode == 128 + signal.SIGKILL, logs
    assert f"worker pid {bot.workers[0]} was killed by signal 9" in logs
    assert_stopped_gracefully(logs, "2/2")


async def test_workers_stop_by_themselves_when_the_supervisor_is_killed(
    sagemaker: FakeSageMaker, redis_url: str, redis_prefix: str
) -> None:
    async with socket_mode_workers(sagemaker, redis_url, redis_prefix) as (fake, bot):
        bot.process.kill()
        await fake.wait_for(lambda: fake.open_sockets == 0, timeout=10, what="the workers disconnected")
        await fake.wait_for(lambda: not any(map(running, bot.workers)), timeout=10, what="the workers ended")
        logs = await bot.output()
    assert_stopped_gracefully(logs, *WORKERS, how=": the supervisor has gone")


async def test_a_refused_token_stops_every_worker_and_names_the_variable(
    sagemaker: FakeSageMaker, redis_url: str, redis_prefix: str
) -> None:
    async with FakeSlack() as fake:
        env = {**socket_mode_env(fake, sagemaker, redis_url, redis_prefix), "SLACK_BOT_TOKEN": "xoxb-9-refused-token"}
        async with supervisor("slack", env=env) as bot:
            logs = await bot.output()
    assert bot.process.returncode == 2, logs
    assert "SLACK_BOT_TOKEN" in logs
    assert fake.open_sockets == 0 and fake.socket_connects == 0


async def test_workers_without_redis_are_refused_naming_redis_url(
    sagemaker: FakeSageMaker, redis_url: str, redis_prefix: str
) -> None:
    # Each worker would keep its own conversations: a thread's next message, landing on the other
    # worker, would find no history.
    async with FakeSlack() as fake:
        env = {**socket_mode_env(fake, sagemaker, redis_url, redis_prefix), "WORKERS": "2"}
        del env["REDIS_URL"]
        process = await start_bot("slack", env=env)
        stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert "WORKERS > 1 needs REDIS_URL" in stderr.decode()
    assert fake.socket_connects == 0


def test_more_workers_than_slack_allows_socket_connections_is_a_configuration_error() -> None:
    socket_mode = {"slack_bot_token": "xoxb-1-token", "slack_app_token": "xapp-1-token"}
    assert slack_mode(Settings(_env_file=None, workers=SOCKET_MODE_CONNECTIONS, **socket_mode)) == "socket"
    with pytest.raises(ConfigError, match=f"WORKERS={SOCKET_MODE_CONNECTIONS + 1}"):
        slack_mode(Settings(_env_file=None, workers=SOCKET_MODE_CONNECTIONS + 1, **socket_mode))
