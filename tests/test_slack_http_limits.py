"""HTTP mode faces the internet: a client that sends its request slowly, or never, or too much of
it, is cut off in bounded time and cannot starve Slack's deliveries."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import pytest
from yarl import URL

from fakes.sagemaker import FakeSageMaker, Reply
from fakes.slack import FakeSlack
from tests.slack_support import StartSlackBot

TIMEOUT = 1.0
EVENTS = "/slack/events"


async def slow_client(url: str, trickled: bytes, at_once: bytes = b"", pause: float = 0.2) -> tuple[float, bytes]:
    """Send `at_once`, then `trickled` a byte every `pause` s (then nothing), until the server
    closes the connection: how long that took, and what the server answered."""
    reader, writer = await connect(url)
    started = time.monotonic()

    async def send() -> None:
        with contextlib.suppress(ConnectionError):
            writer.write(at_once)
            for byte in trickled:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(pause)

    sending = asyncio.create_task(send())
    answer = b""
    try:
        # The server closes with our last bytes unread, so its kernel answers them with a reset
        # that can come right behind the answer: keep what arrived before it.
        with contextlib.suppress(ConnectionResetError):
            while chunk := await reader.read(65_536):
                answer += chunk
        return time.monotonic() - started, answer
    finally:
        sending.cancel()
        writer.close()


async def connect(url: str | None) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    assert url is not None
    address = URL(url)
    return await asyncio.open_connection(address.host, address.port)


def post(body_length: int, host: str = "127.0.0.1") -> bytes:
    return (
        f"POST {EVENTS} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {body_length}\r\n\r\n"
    ).encode()


async def test_slow_headers_are_cut_off_and_slack_is_still_answered(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    sagemaker.default = Reply("안녕하세요")
    async with slack_bot(slack_http_timeout_seconds=TIMEOUT) as bot:
        slow = [asyncio.create_task(slow_client(bot.service.url or "", post(10) * 10)) for _ in range(200)]
        await bot.send(fake_slack.dm("안녕"))  # asserts 200
        closed = await asyncio.wait_for(asyncio.gather(*slow), 10)
        assert await bot.answered("D0001") == ["안녕하세요"]

    # Each kept sending a byte every 0.2 s: only the deadline ended them.
    assert max(seconds for seconds, _ in closed) < TIMEOUT + 1.5
    assert all(answer == b"" for _, answer in closed)


async def test_a_body_that_trickles_in_gets_408(slack_bot: StartSlackBot) -> None:
    async with slack_bot(slack_http_timeout_seconds=TIMEOUT) as bot:
        seconds, answer = await asyncio.wait_for(slow_client(bot.service.url or "", b"{}" * 500, post(1_000)), 10)

    assert answer.startswith(b"HTTP/1.1 408") and seconds < TIMEOUT + 1.5


async def test_connections_past_the_cap_are_refused_at_once(slack_bot: StartSlackBot) -> None:
    async with slack_bot(slack_http_timeout_seconds=5.0, slack_http_max_connections=5) as bot:
        kept = []
        for _ in range(5):  # each asks for the health check and keeps its connection open
            reader, writer = await connect(bot.service.url)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
            kept.append(writer)
        reader, writer = await connect(bot.service.url)
        refused = await asyncio.wait_for(reader.read(), 2)
        for open_writer in [*kept, writer]:
            open_writer.close()

    assert refused.startswith(b"HTTP/1.1 503")


async def test_an_oversized_header_is_refused_with_one_short_log_line(
    slack_bot: StartSlackBot, caplog: pytest.LogCaptureFixture
) -> None:
    async with slack_bot() as bot:
        for _ in range(3):
            reader, writer = await connect(bot.service.url)
            writer.write(post(2)[:-2] + b"X-Padding: " + b"a" * 20_000 + b"\r\n\r\n{}")
            answer = await asyncio.wait_for(reader.read(), 5)
            writer.close()
            assert answer.split(b"\r\n")[0].endswith(b" 400 Bad Request")

    server_logs = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert len(server_logs) == 3
    assert all(r.levelno == logging.WARNING and r.exc_info is None and "\n" not in r.getMessage() for r in server_logs)
