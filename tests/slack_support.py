"""The product's Slack adapter, started for real (HTTP or Socket Mode) against the fake Slack, the
fake SageMaker endpoint and the test Redis: the `slack_bot` fixture (a pytest plugin, listed in
tests/conftest.py) and what tests read back from the fake."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from bot.adapters.slack import EVENTS_PATH, Running, running
from bot.core.engine import ChatEngine
from fakes.sagemaker import FakeSageMaker
from fakes.slack import ApiCall, FakeSlack
from tests.provider_support import ModelServer
from tests.support import cli_env, make_settings


@dataclass
class SlackBot:
    fake: FakeSlack
    service: Running

    async def send(self, payload: dict[str, Any], **options: Any) -> None:
        """Deliver an event (or, with `envelope_type="slash_commands"`, a command; with
        "interactive", a click, a modal sent or a shortcut) as Slack does."""
        if self.service.url is not None:
            kind = options.pop("envelope_type", None)
            if kind == "interactive":  # over HTTP: a form whose `payload` field holds the JSON
                payload = {"payload": json.dumps(payload, ensure_ascii=False)}
            form = kind in ("slash_commands", "interactive")
            delivery = await self.fake.send_http_event(self.service.url + EVENTS_PATH, payload, form=form, **options)
            assert delivery.status == 200, delivery
        else:
            await self.fake.push_socket_event(payload, **options)

    async def answered(
        self, channel: str, thread_ts: str | None = None, *, count: int = 1, timeout: float = 10
    ) -> list[str]:
        """The bot's final texts there, once `count` of its messages exist and no reply is running."""
        await self.fake.wait_for(
            lambda: len(self.fake.message_records(channel, thread_ts)) >= count and not self.service.bot.jobs,
            timeout,
            what=f"{count} finished bot message(s) in {channel}/{thread_ts}",
        )
        return self.fake.messages(channel, thread_ts)


StartedSlackBot = AbstractAsyncContextManager[SlackBot]
StartSlackBot = Callable[..., StartedSlackBot]


@pytest.fixture
def slack_bot(fake_slack: FakeSlack, sagemaker: FakeSageMaker, redis_url: str, redis_prefix: str) -> StartSlackBot:
    """Starts the Slack adapter against this test's fakes and key prefix; a test states only what
    differs: `async with slack_bot(mode="socket", llm_max_retries=0) as bot` (settings as keywords,
    `redis_url=` for another Redis, `model=` another provider's fake). Two at once are two
    replicas sharing Slack and Redis."""

    def start(
        *, mode: str = "http", redis_url: str = redis_url, model: ModelServer = sagemaker, **overrides: Any
    ) -> StartedSlackBot:
        return _running_slack_bot(fake_slack, model, redis_url, redis_prefix, mode=mode, **overrides)

    return start


@asynccontextmanager
async def _running_slack_bot(
    fake: FakeSlack, model: ModelServer, redis_url: str, prefix: str, *, mode: str, **overrides: Any
) -> AsyncIterator[SlackBot]:
    settings = make_settings(
        model, redis_url, prefix,
        slack_bot_token=fake.bot_token,
        slack_app_token=fake.app_token if mode == "socket" else None,
        slack_signing_secret=fake.signing_secret,
        slack_api_url=fake.api_url,
        slack_mode=mode,
        slack_http_port=0,
        **overrides,
    )  # fmt: skip
    engine = ChatEngine.from_settings(settings)
    try:
        async with running(settings, engine, host="127.0.0.1") as service:
            yield SlackBot(fake, service)
    finally:
        await engine.aclose()


def footer_of(fake: FakeSlack, channel: str, ts: str) -> dict[str, dict]:
    """The interactive elements under message `ts`, by action_id."""
    msg = fake.message(channel, ts)
    assert msg is not None and msg.blocks, "the answer has no footer"
    return {e["action_id"]: e for b in msg.blocks for e in b.get("elements", []) if "action_id" in e}


async def growing_answer(bot: SlackBot, channel: str = "D0001") -> tuple[str, str]:
    """Once the bot's plain answer in `channel` grows by edits: its ts, and the answer id its stop
    button names."""
    await bot.fake.wait_for(lambda: bot.fake.calls("chat.update"), 10, what="the answer growing")
    (answer,) = bot.fake.message_records(channel)
    return answer.ts, footer_of(bot.fake, channel, answer.ts)["answer_stop"]["value"]


async def press_stop(bot: SlackBot, channel: str, ts: str, answer_id: str) -> None:
    """A click on the stop button under message `ts`."""
    await bot.send(bot.fake.block_action(channel, ts, "answer_stop", answer_id), envelope_type="interactive")


def streaming(fake: FakeSlack, channel: str, thread_ts: str) -> bool:
    """The bot's answer in that thread is a native stream showing text."""
    return any(m.stream_state == "streaming" and m.text for m in fake.message_records(channel, thread_ts))


def message_calls(fake: FakeSlack, channel: str, ts: str) -> list[ApiCall]:
    """Every successful call that created or changed message `ts`, in order."""
    return [
        c for c in fake.api_calls
        if c.ok and c.args.get("channel") == channel and (c.args.get("ts") or c.response.get("ts")) == ts
        and c.method in ("chat.postMessage", "chat.update", "chat.startStream", "chat.appendStream", "chat.stopStream")
    ]  # fmt: skip


def assert_throttled(fake: FakeSlack, channel: str, ts: str, interval: float = 1.0) -> int:
    """Message `ts` was changed at most once per `interval` between its first text and its final
    text (those two go out at once); returns how many calls it took. The footer put under a
    finished answer (an update with blocks) is not a text change: not counted."""
    times = [c.at for c in message_calls(fake, channel, ts) if not (c.method == "chat.update" and c.args.get("blocks"))]
    gaps = [b - a for a, b in zip(times, times[1:])]
    # Times are when the fake received the calls: a few milliseconds of network jitter allowed.
    assert all(gap >= interval - 0.02 for gap in gaps[1:-1]), gaps
    return len(times)


def squashed(text: str) -> str:
    """`text` without whitespace: what a split answer must still add up to."""
    return re.sub(r"\s+", "", text)


def socket_mode_env(fake: FakeSlack, sagemaker: FakeSageMaker, redis_url: str, prefix: str) -> dict[str, str]:
    """Environment for `python -m bot slack` in Socket Mode against `fake`."""
    return _slack_env(fake, sagemaker, redis_url, prefix, SLACK_APP_TOKEN=fake.app_token)


def http_mode_env(fake: FakeSlack, sagemaker: FakeSageMaker, redis_url: str, prefix: str, port: int) -> dict[str, str]:
    """Environment for `python -m bot slack` in HTTP mode against `fake`, listening on `port`."""
    return _slack_env(
        fake, sagemaker, redis_url, prefix, SLACK_SIGNING_SECRET=fake.signing_secret, SLACK_HTTP_PORT=str(port)
    )


def _slack_env(fake: FakeSlack, sagemaker: FakeSageMaker, redis_url: str, prefix: str, **mode: str) -> dict[str, str]:
    return cli_env(
        sagemaker, SLACK_BOT_TOKEN=fake.bot_token, SLACK_API_URL=fake.api_url,
        REDIS_URL=redis_url, REDIS_KEY_PREFIX=prefix.rstrip(":"), **mode,
    )  # fmt: skip
