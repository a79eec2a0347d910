"""`python -m bot slack|discord` at start-up, as a user starts it: a token the platform rejects
stops the bot with a non-zero exit naming the variable; a network that fails is retried with one
log line a try, then stops the bot with one line; never a traceback, never an endless loop."""

from __future__ import annotations

import asyncio

import pytest

from fakes.discord import FakeDiscord
from fakes.redis_server import refusing_port
from fakes.sagemaker import FakeSageMaker
from fakes.slack import FakeSlack
from tests.slack_support import socket_mode_env
from tests.support import Logs, cli_env, start_bot

QUICK = {"PLATFORM_STARTUP_TIMEOUT_SECONDS": "3"}


async def _finished(process: asyncio.subprocess.Process, timeout: float = 30) -> tuple[int, str]:
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode is not None
    return process.returncode, (stdout + stderr).decode(errors="replace")


@pytest.mark.parametrize(
    ("app_token", "error"),
    [("xoxb-1-fake-bot-token", "not_allowed_token_type"), ("xapp-1-A0001-revoked", "invalid_auth")],
    ids=["a-bot-token-as-app-token", "a-wrong-app-token"],
)
async def test_a_rejected_app_token_stops_the_bot_naming_it(
    sagemaker: FakeSageMaker, redis_url: str, redis_prefix: str, app_token: str, error: str
) -> None:
    async with FakeSlack() as fake:
        env = {**socket_mode_env(fake, sagemaker, redis_url, redis_prefix), "SLACK_APP_TOKEN": app_token}
        code, output = await _finished(await start_bot("slack", env=env))
        assert len(fake.calls("apps.connections.open")) == 1  # asked once, not retried forever
    assert code == 2
    assert f"Slack rejected SLACK_APP_TOKEN ({error})" in output
    assert "Traceback" not in output and app_token not in output


async def test_a_rejected_bot_token_stops_the_bot_naming_it(
    sagemaker: FakeSageMaker, redis_url: str, redis_prefix: str
) -> None:
    async with FakeSlack() as fake:
        env = {**socket_mode_env(fake, sagemaker, redis_url, redis_prefix), "SLACK_BOT_TOKEN": "xoxb-9-not-the-token"}
        code, output = await _finished(await start_bot("slack", env=env))
    assert code == 2
    assert "Slack rejected SLACK_BOT_TOKEN (invalid_auth)" in output and "Traceback" not in output


async def test_a_failing_slack_is_retried_with_one_line_each_then_the_bot_runs(
    sagemaker: FakeSageMaker, redis_url: str, redis_prefix: str
) -> None:
    async with FakeSlack() as fake:
        fake.fail_next("auth.test", "service_unavailable", status=503, times=2)
        env = {**socket_mode_env(fake, sagemaker, redis_url, redis_prefix), "PLATFORM_STARTUP_TIMEOUT_SECONDS": "30"}
        process = await start_bot("slack", env=env)
        logs = Logs(process)
        try:
            await logs.wait_for("Slack bot running in socket mode", timeout=30)
        finally:
            process.terminate()
            output = await logs.finish()
    retries = [line for line in output.splitlines() if "not reachable" in line]
    assert len(retries) == 2 and all("retrying in" in line for line in retries)
    assert "Traceback" not in output


async def test_no_route_to_slack_stops_the_bot_with_one_line(sagemaker: FakeSageMaker) -> None:
    with refusing_port() as port:
        dead = f"http://127.0.0.1:{port}/api/"
        env = cli_env(sagemaker, SLACK_BOT_TOKEN="xoxb-1-token", SLACK_APP_TOKEN="xapp-1-token", SLACK_API_URL=dead, **QUICK)
        code, output = await _finished(await start_bot("slack", env=env))
    assert code == 1, output
    assert "Traceback" not in output
    assert [line for line in output.splitlines() if line.startswith("연결 실패 / cannot connect")] == [
        line for line in output.splitlines() if "did not answer" in line
    ]
    assert f"Slack did not answer at {dead}" in output and "SLACK_API_URL" in output


async def test_a_refused_discord_token_stops_the_bot_naming_it(sagemaker: FakeSageMaker) -> None:
    async with FakeDiscord(token="the-real-token") as fake:
        env = cli_env(sagemaker, DISCORD_TOKEN="a-wrong-token", DISCORD_API_URL=fake.api_url, DISCORD_GATEWAY_URL=fake.gateway_url)
        code, output = await _finished(await start_bot("discord", env=env))
    assert code == 2
    assert "DISCORD_TOKEN was refused by Discord" in output and "Traceback" not in output


async def test_no_route_to_discord_stops_the_bot_with_one_line(sagemaker: FakeSageMaker) -> None:
    with refusing_port() as port:
        dead = f"http://127.0.0.1:{port}/api/v10"
        env = cli_env(sagemaker, DISCORD_TOKEN="fake-bot-token", DISCORD_API_URL=dead, **QUICK)
        code, output = await _finished(await start_bot("discord", env=env))
    assert code == 1, output
    assert f"Discord did not answer at {dead}" in output and "DISCORD_API_URL" in output
    assert "Traceback" not in output


class RecordingProxy:
    """An HTTP proxy that writes down the request line it gets and answers 503 (which discord.py
    does not retry itself)."""

    def __init__(self) -> None:
        self.request_lines: list[str] = []

    async def __aenter__(self) -> RecordingProxy:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *_: object) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.request_lines.append((await reader.readline()).decode().strip())
        writer.write(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()


async def test_discord_goes_through_the_configured_proxy(sagemaker: FakeSageMaker) -> None:
    async with FakeDiscord() as fake, RecordingProxy() as proxy:
        # The fake speaks plain http, so HTTP_PROXY is the one that applies (HTTPS_PROXY for https).
        env = cli_env(
            sagemaker, DISCORD_TOKEN="fake-bot-token", DISCORD_API_URL=fake.api_url,
            DISCORD_GATEWAY_URL=fake.gateway_url, HTTP_PROXY=proxy.url, NO_PROXY="", **QUICK,
        )  # fmt: skip
        code, output = await _finished(await start_bot("discord", env=env))
        assert fake.requests_to("GET */users/@me") == []  # nothing went around the proxy
    assert f"GET {fake.api_url}/users/@me HTTP/1.1" in proxy.request_lines
    assert code == 1 and "Traceback" not in output
