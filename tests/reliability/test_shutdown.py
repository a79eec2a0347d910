"""A replica that receives SIGTERM stops taking events, finishes the answers in flight, exits
cleanly, and the other replica keeps serving."""

from __future__ import annotations

import asyncio
import signal

from fakes.sagemaker import FakeSageMaker, Reply
from fakes.slack import FakeSlack
from tests.slack_support import StartSlackBot, socket_mode_env
from tests.support import start_bot

SLOW_ANSWER = "천천히 끝까지 답합니다. " * 6


async def test_sigterm_finishes_the_answer_in_flight_while_the_other_replica_serves(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker, redis_url: str, redis_prefix: str
) -> None:
    sagemaker.script(Reply(SLOW_ANSWER, tokens=[w + " " for w in SLOW_ANSWER.split(" ")[:-1]] + [""], token_delay=0.15))
    sagemaker.default = Reply("다른 복제본이 답합니다.")
    # The older connection: Slack sends to the newest one while it is open.
    async with slack_bot(mode="socket"):
        await fake_slack.wait_socket_connected(10)
        leaving = await start_bot("slack", env=socket_mode_env(fake_slack, sagemaker, redis_url, redis_prefix))
        try:
            await fake_slack.wait_for(lambda: fake_slack.open_sockets == 2, timeout=20)
            await fake_slack.push_socket_event(fake_slack.dm("긴 질문", user="U0001", channel="D0001"))
            await fake_slack.wait_for(lambda: len(sagemaker.requests) == 1, timeout=10)
            leaving.send_signal(signal.SIGTERM)
            await fake_slack.wait_for(lambda: fake_slack.open_sockets == 1, timeout=10)
            await fake_slack.push_socket_event(fake_slack.dm("새 질문", user="U0002", channel="D0002"))
            await fake_slack.wait_for(lambda: fake_slack.messages("D0002") == ["다른 복제본이 답합니다."], timeout=10)
            stdout, stderr = await asyncio.wait_for(leaving.communicate(), 30)
        finally:
            if leaving.returncode is None:
                leaving.kill()
    assert leaving.returncode == 0, stderr.decode()
    assert "".join(fake_slack.messages("D0001")).split() == SLOW_ANSWER.split()  # whole, not cut off
    assert b"stopped by SIGTERM" in stderr
