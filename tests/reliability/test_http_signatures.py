"""Slack HTTP mode takes only requests Slack signed, recently: an unsigned request and a replay
of a once-accepted request after its timestamp has gone stale get 401 and no answer. (Badly
signed and stale requests: tests/test_slack_transport.py.)"""

from __future__ import annotations

import json
import time

import aiohttp
from slack_sdk.signature import SignatureVerifier

from bot.adapters.slack import EVENTS_PATH
from fakes.sagemaker import FakeSageMaker
from fakes.slack import FakeSlack
from tests.slack_support import StartSlackBot

REPLAY_WINDOW = 300  # seconds: how old a signed timestamp may be (Slack's rule, enforced by bolt)


async def test_unsigned_requests_are_rejected(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    async with slack_bot() as bot:
        url = f"{bot.service.url}{EVENTS_PATH}"
        body = json.dumps(fake_slack.mention("서명 없음", channel="C0007")).encode()
        timestamp = {"X-Slack-Request-Timestamp": str(int(time.time()))}
        async with aiohttp.ClientSession() as session:
            statuses = []
            for headers in ({}, timestamp):  # no headers at all; a timestamp but no signature
                async with session.post(url, data=body, headers={"Content-Type": "application/json", **headers}) as r:
                    statuses.append(r.status)
        await bot.send(fake_slack.mention("서명 있음", channel="C0009"))  # signed: answered
        await bot.answered("C0009")

    assert statuses == [401, 401]
    assert fake_slack.messages("C0007") == []
    assert len(sagemaker.requests) == 1


async def test_a_replayed_request_is_answered_once_then_refused_when_stale(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    event = fake_slack.mention("한 번만 답해 줘")
    root = event["event"]["ts"]
    body = json.dumps(event).encode()
    async with slack_bot() as bot, aiohttp.ClientSession() as session:
        url = f"{bot.service.url}{EVENTS_PATH}"
        # One request, signed as Slack signs it, shortly before the end of its window: the very
        # same bytes and headers go stale within seconds.
        signed_at = str(int(time.time()) - REPLAY_WINDOW + 2)
        signature = SignatureVerifier(fake_slack.signing_secret).generate_signature(timestamp=signed_at, body=body)
        headers = {
            "Content-Type": "application/json", "X-Slack-Request-Timestamp": signed_at, "X-Slack-Signature": signature,
        }  # fmt: skip

        async def replay() -> int:
            async with session.post(url, data=body, headers=headers) as response:
                return response.status

        original = await replay()
        fresh_replay = await replay()  # inside the window the signature holds: de-duplication stops it
        assert (original, fresh_replay) == (200, 200)
        await bot.answered("C0001", root)
        await fake_slack.wait_for(lambda: time.time() - int(signed_at) > REPLAY_WINDOW + 1, timeout=8, what="staleness")
        stale_replay = await replay()

    assert stale_replay == 401
    assert len(fake_slack.messages("C0001", root)) == 1 and len(sagemaker.requests) == 1
