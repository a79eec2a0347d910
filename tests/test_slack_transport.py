"""How events reach the bot: signed HTTP requests and Socket Mode envelopes, each acknowledged at
once and answered exactly once however often Slack (or a second replica) delivers it."""

from __future__ import annotations

import time

import aiohttp

from bot.adapters.slack import EVENTS_PATH
from fakes.sagemaker import FakeSageMaker, Reply
from fakes.slack import FakeSlack
from tests.slack_support import StartSlackBot


async def test_http_mode_checks_signatures_and_answers_health(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    async with slack_bot() as bot:
        url = f"{bot.service.url}{EVENTS_PATH}"
        forged = await fake_slack.send_http_event(url, fake_slack.mention("위조", channel="C0007"), bad_signature=True)
        stale = await fake_slack.send_http_event(
            url, fake_slack.mention("오래된 요청", channel="C0008"), timestamp=int(time.time()) - 600
        )
        good = await fake_slack.send_http_event(url, fake_slack.mention("진짜", channel="C0009"))
        await bot.answered("C0009")
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{bot.service.url}/healthz") as health:
                assert health.status == 200 and (await health.json())["ok"] is True

    assert (forged.status, stale.status, good.status) == (401, 401, 200)
    assert good.elapsed < 3.0  # Slack retries an event not acknowledged within 3 s
    assert fake_slack.messages("C0007") == fake_slack.messages("C0008") == []
    assert len(sagemaker.requests) == 1


async def test_retried_and_replicated_event_is_answered_once(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    sagemaker.default = Reply("한 번만 답합니다.", first_token_delay=0.3)
    event = fake_slack.mention("한 번만")
    root = event["event"]["ts"]
    async with (
        slack_bot() as first,
        slack_bot(mode="socket") as second,
    ):
        await first.send(event)
        await first.send(event, retry_num=1, retry_reason="http_timeout")
        await second.send(event, retry_attempt=2, retry_reason="timeout")
        await first.send(fake_slack.mention("다른 질문", channel="C0002"))  # done once the others are
        await first.answered("C0002")
        await first.answered("C0001", root)
        await second.answered("C0001", root)

    assert fake_slack.messages("C0001", root) == ["한 번만 답합니다."]
    assert len(sagemaker.requests) == 2


async def test_socket_mode_acks_at_once_while_the_model_is_slow(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    sagemaker.default = Reply("천천히 답합니다.", first_token_delay=1.5)
    async with slack_bot(mode="socket") as bot:
        envelopes = [
            await fake_slack.push_socket_event(fake_slack.mention(f"질문 {n}", channel=f"C000{n}")) for n in (1, 2, 3)
        ]
        acks = [await fake_slack.wait_ack(envelope) for envelope in envelopes]
        for n in (1, 2, 3):
            assert await bot.answered(f"C000{n}") == ["천천히 답합니다."]

    assert all(ack.latency is not None and ack.latency < 1.0 for ack in acks), [a.latency for a in acks]
