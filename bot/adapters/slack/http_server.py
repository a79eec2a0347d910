"""The listener of Slack's HTTP mode, which faces the internet: bounded in time and in connections.

aiohttp's server (3.14, web_protocol.RequestHandler) gives a client all the time it wants by
default: `keepalive_timeout` is 3,630 s under an AppRunner and nothing bounds a body being read.
Here:
- headers: `keepalive_timeout` runs from the moment a connection opens (and again after each
  response) and closes a connection still waiting for a complete request when it fires, however
  slowly bytes trickle in;
- body: read under a deadline before bolt sees the request (408 past it);
- connections: past the cap a new one gets a canned 503 and is closed, before aiohttp parses
  anything (Slack retries failed deliveries);
- malformed requests (a header line over aiohttp's 8,190 bytes, garbage on the port): one short
  log line each instead of aiohttp's traceback."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

log = logging.getLogger(__name__)

_BUSY = b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\nRetry-After: 1\r\n\r\n"


@asynccontextmanager
async def listening(
    web_app: web.Application, host: str, port: int, *, shared: bool, timeout: float, max_connections: int
) -> AsyncIterator[str]:
    """Serve `web_app` on host:port (with SO_REUSEPORT when workers `shared` it) until the block
    ends; yields the base URL."""
    web_app.middlewares.append(_body_deadline(timeout))
    runner = web.AppRunner(
        web_app, access_log=None, shutdown_timeout=5.0, keepalive_timeout=timeout,
        lingering_time=0,  # a body left unread after the answer is not waited for
        logger=_OneLineErrors(logging.getLogger("aiohttp.server"), {}),
    )  # fmt: skip
    await runner.setup()
    assert runner.server is not None
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Capped(runner.server, max_connections), host, port, reuse_port=shared or None)
    try:
        yield f"http://{host}:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        await runner.cleanup()


def _body_deadline(seconds: float) -> Any:
    @web.middleware
    async def read_body_in_time(request: web.Request, handler: Callable[..., Any]) -> web.StreamResponse:
        try:
            async with asyncio.timeout(seconds):
                await request.read()  # kept by aiohttp: bolt's own read returns it at once
        except TimeoutError:
            log.warning("request body from %s not received within %.0f s", request.remote, seconds)
            raise web.HTTPRequestTimeout() from None
        return await handler(request)

    return read_body_in_time


class _Capped:
    """aiohttp's protocol factory, or a refusal once `limit` connections are open."""

    def __init__(self, server: web.Server, limit: int) -> None:
        self.server, self.limit, self.full = server, limit, False

    def __call__(self) -> asyncio.BaseProtocol:
        full = len(self.server.connections) >= self.limit
        if full and not self.full:  # once per episode, not once per refused connection
            log.warning("%d connections open: refusing new ones until some close", self.limit)
        self.full = full
        return _Busy() if full else self.server()


class _Busy(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(_BUSY)
        transport.close()


class _OneLineErrors(logging.LoggerAdapter):  # type: ignore[type-arg]
    """aiohttp's request handler logs a request it cannot parse with `logger.exception`."""

    def exception(self, msg: object, *args: object, exc_info: Any = True, **kwargs: Any) -> None:
        if isinstance(exc_info, HttpProcessingError):
            self.logger.warning(f"{msg}: %s (HTTP %s)", *args, type(exc_info).__name__, exc_info.code)
        else:
            super().exception(msg, *args, exc_info=exc_info, **kwargs)

