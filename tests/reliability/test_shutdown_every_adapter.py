"""`python -m bot` serving Slack and Discord together (as the Docker image runs it) stops as
cleanly on SIGTERM as one adapter alone: both finish the answers in flight, then it exits.
(One adapter, with a second replica taking over: test_shutdown.py.)"""

from __future__ import annotations

import asyncio
import signal

from fakes.discord import FakeDiscord
from fakes.sagemaker import FakeSageMaker, Reply
from fakes.slack import FakeSlack
from tests.reliability.helpers import every_adapter_env
from tests.support import start_bot

SLOW_ANSWER = "천천히 끝까지 답합니다. " * 4


def slowly(body: dict) -> Reply:
    words = [w + " " for w in SLOW_ANSWER.split(" ")[:-1]] + [""]
    return Reply(SLOW_ANSWER, tokens=words, token_delay=0.12)  # about 1.5 s per answer


async def test_sigterm_lets_both_adapters_finish_their_answers(
    sagemaker: FakeSageMaker, redis_url: str, redis_prefix: str
) -> None:
    sagemaker.responder(slowly)
    async with FakeSlack() as slack, FakeDiscord() as discord:
        bot = await start_bot(env=every_adapter_env(slack, discord, sagemaker, redis_url, redis_prefix))
        try:
            await slack.wait_socket_connected(timeout=30)
            await discord.wait_ready(timeout=30)
            await slack.push_socket_event(slack.dm("긴 질문"))
            asked = discord.interaction_create("ask", {"질문": "긴 질문"})
            await discord.dispatch("INTERACTION_CREATE", asked)
            await slack.wait_for(lambda: len(sagemaker.requests) == 2, timeout=10, what="both answers started")
            bot.send_signal(signal.SIGTERM)
            stdout, stderr = await asyncio.wait_for(bot.communicate(), 30)
        finally:
            if bot.returncode is None:
                bot.kill()

    logs = (stdout + stderr).decode()
    assert bot.returncode == 0, logs
    # Both answers arrived whole, not cut off, however long the other adapter took to stop.
    assert "".join(slack.messages("D0001")).split() == SLOW_ANSWER.split()
    assert (discord.original_response(asked) or {}).get("content", "").split() == SLOW_ANSWER.split()
    assert "stopped by SIGTERM" in logs
    # Nothing was left for the interpreter to tear down half-way.
    for mess in ("Unclosed client session", "Task was destroyed", "Traceback"):
        assert mess not in logs, logs
