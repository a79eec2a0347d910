"""`python -m bot slack` end to end in Socket Mode, as a user starts it, with secrets kept out
of every log line."""

from __future__ import annotations

import asyncio
import signal

from fakes.sagemaker import FakeSageMaker, Reply
from fakes.slack import FakeSlack
from tests.slack_support import socket_mode_env
from tests.support import start_bot


async def test_python_m_bot_slack_answers_a_dm_over_socket_mode(
    sagemaker: FakeSageMaker, redis_url: str, redis_prefix: str
) -> None:
    sagemaker.script(Reply("소켓 모드로도 잘 답합니다."))
    async with FakeSlack() as fake:
        env = socket_mode_env(fake, sagemaker, redis_url, redis_prefix)
        process = await start_bot("slack", env=env)
        try:
            envelope = await fake.push_socket_event(fake.dm("잘 되니?"), timeout=20)
            await fake.wait_ack(envelope, timeout=5)
            await fake.wait_for(lambda: fake.messages("D0001") == ["소켓 모드로도 잘 답합니다."], timeout=10)
        finally:
            process.send_signal(signal.SIGINT)
            stdout, stderr = await asyncio.wait_for(process.communicate(), 20)
    logs = stdout + stderr
    assert b"Slack bot running in socket mode" in logs  # INFO logging is on
    assert fake.bot_token.encode() not in logs and fake.app_token.encode() not in logs
    assert env["AWS_SECRET_ACCESS_KEY"].encode() not in logs
