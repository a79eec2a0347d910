"""What the fake model servers of Bedrock and OpenAI-compatible APIs share: an aiohttp server on
127.0.0.1:<free port>, a queue of scripted replies, every request recorded, faults and delays.

    async with FakeBedrock() as fake:
        fake.script(ModelReply("안녕하세요"), ModelReply(fault="throttle"))

A reply is consumed per request, in order; then `default` answers."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web

Fault = Literal[
    None,
    "throttle",  # 429
    "unavailable",  # 503
    "internal",  # 500
    "access_denied",  # 403 / 401: no access to the model, a wrong key
    "not_found",  # 404: no such model
    "too_long",  # 400: the prompt does not fit the context
    "model_error",  # the model failed on this request
    # The same names as the SageMaker fake's:
    "die_midway",  # an error event after `die_after_tokens` tokens
    "drop_midway",  # the connection is cut after `die_after_tokens` tokens
    "hang",  # no answer at all, until the client gives up or the server stops
]


@dataclass
class ModelReply:
    text: str = "안녕하세요"
    tokens: list[str] | None = None  # how text is cut; None: 2 characters each
    first_token_delay: float = 0.0
    token_delay: float = 0.0
    fault: Fault = None
    die_after_tokens: int = 2
    error_message: str | None = None
    # answer only once this holds: a test holds the model until the bot has shown something
    until: Callable[[], bool] | None = None

    def token_list(self) -> list[str]:
        if self.tokens is not None:
            assert "".join(self.tokens) == self.text, "tokens must join to text"
            return list(self.tokens)
        return [self.text[i : i + 2] for i in range(0, len(self.text), 2)] or [""]

    def streamed_tokens(self) -> list[str]:
        tokens = self.token_list()
        return tokens[: self.die_after_tokens] if self.fault in ("drop_midway", "die_midway") else tokens


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    json: Any
    received_at: float

    @property
    def streaming(self) -> bool:
        """ConverseStream, or a chat completion asked with `"stream": true`."""
        return self.path.endswith("-stream") or (isinstance(self.json, dict) and self.json.get("stream") is True)


Answer = Callable[[web.Request, ModelReply, Any], Awaitable[web.StreamResponse]]


class Refused(Exception):
    """A request the real service refuses: answered with `fault` and `message`."""

    def __init__(self, fault: Fault, message: str) -> None:
        super().__init__(message)
        self.fault = fault
        self.message = message


class FakeModelServer:
    """The shared machinery; subclasses add their routes and wire formats."""

    def __init__(self, default: ModelReply | None = None) -> None:
        self.default = default or ModelReply()
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0
        self.max_concurrent_seen = 0
        self.url = ""
        self._queue: deque[ModelReply] = deque()
        self._runner: web.AppRunner | None = None
        self._stopping = asyncio.Event()

    def script(self, *replies: ModelReply | str) -> None:
        """Queue replies, one per request in order (a str means ModelReply(text=...))."""
        self._queue.extend(dataclasses.replace(self.default, text=r) if isinstance(r, str) else r for r in replies)

    def next_reply(self) -> ModelReply:
        with contextlib.suppress(IndexError):
            return self._queue.popleft()
        return self.default

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def check(self, request: web.Request, body: Any) -> None:
        """Raise Refused for what the real service refuses."""
        raise NotImplementedError

    def refusal(self, reply: ModelReply, body: Any) -> Refused | None:
        """The error `reply` scripts, in the service's words; None for faults of the answer."""
        raise NotImplementedError

    def refuse(self, refused: Refused) -> web.Response:
        """The error response, in the service's shape."""
        raise NotImplementedError

    async def answer(self, request: web.Request, answer: Answer) -> web.StreamResponse:
        """Record `request`, check it as the service does, then refuse it with the error the next
        reply scripts, or let `answer` answer it with that reply."""
        body = await read_json(request)
        with self.recorded(request, body):
            reply = self.next_reply()
            try:
                self.check(request, body)
                if refused := self.refusal(reply, body):
                    raise refused
            except Refused as refused:
                return self.refuse(refused)
            return await answer(request, reply, body)

    async def start(self) -> FakeModelServer:
        app = web.Application(client_max_size=32 * 1024 * 1024)
        self.routes(app)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        self._stopping.set()  # ends every delay at once
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeModelServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @contextlib.contextmanager
    def recorded(self, request: web.Request, parsed: Any) -> Iterator[None]:
        """Record `request` and count it in flight while the block runs."""
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.requests.append(RecordedRequest(request.method, request.path, headers, parsed, time.monotonic()))
        self.in_flight += 1
        self.max_concurrent_seen = max(self.max_concurrent_seen, self.in_flight)
        try:
            yield
        finally:
            self.in_flight -= 1

    async def pause(self, seconds: float) -> None:
        """Wait `seconds`, or until the server stops."""
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), seconds)

    async def tokens(self, request: web.Request, reply: ModelReply) -> Any:
        """The tokens of `reply` at its pace, answering `request`."""
        if reply.until is not None:
            await held_until(reply.until, self._stopping)
        await self.pause(reply.first_token_delay)
        if reply.fault == "hang":
            await self._stopping.wait()
        for i, token in enumerate(reply.streamed_tokens()):
            if i:
                await self.pause(reply.token_delay)
            yield token


async def held_until(condition: Callable[[], bool], stopping: asyncio.Event) -> None:
    """Wait until a test's `condition` holds or the server stops."""
    while not condition() and not stopping.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), 0.02)


async def read_json(request: web.Request) -> Any:
    try:
        return json.loads(await request.read())
    except ValueError:
        return None


def cut(request: web.Request) -> web.StreamResponse:
    """Cut the TCP connection without finishing the response."""
    if request.transport is not None:
        request.transport.abort()
    return web.Response()
