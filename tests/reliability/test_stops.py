"""A stop reaches its answer wherever the answer is written: pressed on one bot process, it stops
the answer streaming in another, at once; a stop whose signal was lost still arrives once the
subscription is made again; with Redis down, a stop pressed on the answering process still
works; and answers being written no longer ask Redis, each every half second, whether they were
stopped (one subscription per process hears the stops)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import redis.asyncio as aioredis

from bot.adapters.slack import EVENTS_PATH
from bot.core.memory.signals import SAFETY_SECONDS
from fakes.redis_server import RedisServer, free_port
from fakes.sagemaker import FakeSageMaker, Reply
from fakes.slack import FakeSlack
from tests.reliability.helpers import Replica, busiest, roomy_workspace, streamed
from tests.slack_support import StartSlackBot, growing_answer, http_mode_env, press_stop, streaming
from tests.support import KOREAN, Logs, start_bot, wait_until

LONG = "천천히 이어지는 긴 답변의 한 문장입니다. " * 30


async def test_a_stop_pressed_on_one_process_stops_the_answer_streaming_in_another(
    sagemaker: FakeSageMaker, redis_url: str, redis_prefix: str
) -> None:
    sagemaker.script(Reply(LONG, token_delay=0.05))
    async with FakeSlack() as fake:
        ports = [free_port(), free_port()]
        envs = [{**http_mode_env(fake, sagemaker, redis_url, redis_prefix, port), **roomy_workspace(fake),
                 "LOG_LEVEL": "INFO"} for port in ports]  # fmt: skip
        bots = [Replica(process, Logs(process)) for process in [await start_bot("slack", env=env) for env in envs]]
        try:
            for bot in bots:
                await bot.logs.wait_for("Slack bot running in http mode")
            urls = {bot.process.pid: f"http://127.0.0.1:{port}{EVENTS_PATH}" for bot, port in zip(bots, ports)}
            mention = fake.mention("긴 글을 써 줘")
            root = mention["event"]["ts"]
            assert (await fake.send_http_event(urls[bots[0].process.pid], mention)).status == 200
            await fake.wait_for(lambda: streaming(fake, "C0001", root), 15, what="the answer streaming")

            writer = await busiest(bots, redis_url, redis_prefix, "slack")  # the one that took the job
            [other] = [bot for bot in bots if bot is not writer]
            pressed = fake.agent_session_stopped("C0001", root)
            assert (await fake.send_http_event(urls[other.process.pid], pressed)).status == 200
            # Heard at once (the safety recheck comes only every SAFETY_SECONDS).
            await fake.wait_for(lambda: sagemaker.closed_by_client == 1, SAFETY_SECONDS / 2, what="the model's stream closed")
            await fake.wait_for(
                lambda: any(KOREAN("answer_stopped") in m.text for m in fake.message_records("C0001", root)),
                10, what="the answer closed with the note",
            )  # fmt: skip
            logs = [await bot.stop() for bot in (writer, other)]
        finally:
            for bot in bots:
                with suppress(TimeoutError):
                    await bot.end()

    assert "stop pressed in C0001: stopping" in logs[1] and "stop pressed" not in logs[0]
    (answer,) = fake.message_records("C0001", root)
    shown, _, note = answer.text.rpartition("\n\n")
    assert note == KOREAN("answer_stopped") and shown.startswith("천천히") and len(shown) < len(LONG) / 2
    assert len(sagemaker.requests) == 1  # stopped, not asked again by the other process


@asynccontextmanager
async def monitored(redis_url: str, prefix: str) -> AsyncIterator[list[str]]:
    """Every command Redis receives on keys or channels under `prefix` while the block runs
    (MONITOR), as "COMMAND arg ..." strings, in order."""
    seen: list[str] = []
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    started = asyncio.Event()

    async def watch() -> None:
        async with client.monitor() as monitor:
            started.set()
            while True:
                command = (await monitor.next_command())["command"]
                if prefix in command:
                    seen.append(command)

    watching = asyncio.create_task(watch())
    try:
        await asyncio.wait_for(started.wait(), 5)
        yield seen
    finally:
        watching.cancel()
        with suppress(asyncio.CancelledError):
            await watching
        await client.aclose()


async def test_answers_being_written_do_not_each_ask_redis_whether_they_were_stopped(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker, redis_url: str, redis_prefix: str
) -> None:
    sagemaker.default = streamed(LONG, 3.0)
    roots = []
    async with monitored(redis_url, redis_prefix.rstrip(":")) as seen, slack_bot() as bot:
        for channel in ("C0001", "C0002"):
            mention = fake_slack.mention("긴 글을 써 줘", channel=channel)
            roots.append((channel, mention["event"]["ts"]))
            await bot.send(mention)
        await fake_slack.wait_for(lambda: all(streaming(fake_slack, *root) for root in roots), 10, what="both streaming")
        # Each answer's stop was read once as it started (a stop pressed before its first text).
        await wait_until(lambda: len({arg for c in seen if "answer-stopped:" in c for arg in c.split()[1:]}) == 2)
        began, started_at = len(seen), asyncio.get_running_loop().time()
        for channel, root in roots:
            await bot.answered(channel, root, timeout=20)
        lasted = asyncio.get_running_loop().time() - started_at
        while_streaming = seen[began:]

    stop_reads = [c for c in while_streaming if "answer-stopped:" in c]
    # No answer asks for its own stop any more (EXISTS, each answer every 0.5 s: about 12 here),
    # only the process's slow safety recheck of all its answers together, in one MGET.
    assert len(stop_reads) <= 1 + lasted / SAFETY_SECONDS, stop_reads
    assert all(c.upper().startswith("MGET ") for c in stop_reads), stop_reads
    assert all(all("answer-stopped:" in arg for arg in c.split()[1:]) for c in stop_reads), stop_reads
    assert lasted > 2  # the answers did stream for a while (the reads above would have grown)
    # One subscription to stops for the process, however many answers.
    assert len([c for c in seen if c.upper().startswith("SUBSCRIBE") and c.endswith(":signals:stops")]) == 1


async def test_a_stop_whose_signal_was_lost_reaches_the_answer_when_the_subscription_is_made_again(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker, redis_prefix: str,
    redis_client: aioredis.Redis
) -> None:
    fake_slack.streaming_supported = False  # a plain answer, its stop button naming it
    sagemaker.script(Reply(LONG, token_delay=0.05))
    async with slack_bot() as bot:
        await bot.send(fake_slack.dm("긴 글을 써 줘"))
        _, answer_id = await growing_answer(bot)
        # Another replica marked the stop, but its signal was sent while this process's
        # subscription was down (pub/sub keeps nothing for later)...
        await redis_client.set(f"{redis_prefix.rstrip(':')}:mark:answer-stopped:{answer_id}", "1", ex=600)
        # ...which Redis ends now (as a restart or a failover would): subscribing again, the
        # process reads the marks of its answers, long before its next safety recheck.
        await redis_client.client_kill_filter(_type="pubsub")
        await fake_slack.wait_for(lambda: sagemaker.closed_by_client == 1, SAFETY_SECONDS / 2, what="the model's stream closed")
        (text,) = await bot.answered("D0001")
    shown, _, note = text.rpartition("\n\n")
    assert note == KOREAN("answer_stopped") and shown.startswith("천천")


async def test_with_redis_down_a_stop_pressed_on_the_answering_process_still_stops_it(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker, fresh_redis_server: RedisServer
) -> None:
    fake_slack.streaming_supported = False  # a plain answer, its stop button naming it
    sagemaker.script(Reply(LONG, token_delay=0.05))
    async with slack_bot(redis_url=fresh_redis_server.url) as bot:
        await asyncio.to_thread(fresh_redis_server.stop)  # no mark, no signal, no subscription
        await bot.send(fake_slack.dm("긴 글을 써 줘"))
        await press_stop(bot, "D0001", *await growing_answer(bot))
        await fake_slack.wait_for(lambda: sagemaker.closed_by_client == 1, 5, what="the model's stream closed")
        (text,) = await bot.answered("D0001")
    shown, _, note = text.rpartition("\n\n")
    assert note == KOREAN("answer_stopped") and shown.startswith("천천") and len(shown) < len(LONG) / 2
