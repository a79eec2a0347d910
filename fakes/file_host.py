"""A web server on loopback that is not Slack or Discord: what a URL in a file object may point at
when someone shaped it (another app's files.remote.add, a forged attachment), or a CDN that
misbehaves. It records every request it gets, so a test can assert that none arrived, or that
none carried credentials.

    async with FileHost() as host:
        url = host.url("/file.pdf")            # serves host.files["/file.pdf"] (404 otherwise)
        host.url("/endless")                   # never ends, no Content-Length; host.sent counts
        host.url("/redirect?to=<url>")         # 302 to <url>
        host.url("/drip")                      # one byte every 0.2 s, forever
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from aiohttp import web

_CHUNK = b"0" * 65_536


@dataclass
class Received:
    path: str
    headers: dict[str, str]


class FileHost:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.received: list[Received] = []
        self.sent = 0  # body bytes handed to the socket by /endless and /drip
        self.connections = 0  # TCP connections accepted, with a request or not
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._server: asyncio.AbstractServer | None = None

    async def __aenter__(self) -> FileHost:
        app = web.Application()
        app.router.add_get("/endless", self._endless)
        app.router.add_get("/drip", self._drip)
        app.router.add_get("/redirect", self._redirect)
        app.router.add_get("/{path:.*}", self._file)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        handler = self._runner.server
        assert handler is not None

        def protocol() -> asyncio.BaseProtocol:
            self.connections += 1
            return handler()

        self._server = await asyncio.get_running_loop().create_server(protocol, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None and self._runner is not None
        self._server.close()
        await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def _record(self, request: web.Request) -> None:
        self.received.append(Received(request.path_qs, dict(request.headers)))

    async def _file(self, request: web.Request) -> web.Response:
        self._record(request)
        body = self.files.get(request.path)
        if body is None:
            return web.Response(status=404, text="not found")
        return web.Response(body=body, content_type="application/octet-stream")

    async def _redirect(self, request: web.Request) -> web.Response:
        self._record(request)
        raise web.HTTPFound(request.query["to"])

    async def _endless(self, request: web.Request) -> web.StreamResponse:
        self._record(request)
        return await self._stream(request, _CHUNK, 0)

    async def _drip(self, request: web.Request) -> web.StreamResponse:
        self._record(request)
        return await self._stream(request, b"0", 0.2)

    async def _stream(self, request: web.Request, piece: bytes, pause: float) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/pdf"})  # chunked
        await response.prepare(request)
        with contextlib.suppress(ConnectionError):
            while True:
                await response.write(piece)
                self.sent += len(piece)
                await asyncio.sleep(pause)
        return response
