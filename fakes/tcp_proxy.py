"""A TCP proxy on loopback for what goes wrong between processes: it delays every byte by a fixed
time each way (a slower network, no error), or cuts the link (a partition: open connections are
dropped, and new ones are accepted but nothing crosses until `heal`)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field


@dataclass(eq=False)  # each link is its own (hashed by identity)
class _Link:
    client: asyncio.StreamWriter
    server: asyncio.StreamWriter | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for writer in (self.client, self.server):
            if writer is not None:
                writer.close()


class TcpProxy:
    def __init__(self, target_port: int, *, delay: float = 0.0, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.delay = delay
        self.port = 0
        self.cut_off = False
        self.connections = 0  # accepted so far
        self._links: set[_Link] = set()
        self._server: asyncio.Server | None = None

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def __aenter__(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        self.heal()  # drops every link
        await self._server.wait_closed()

    def cut(self) -> None:
        """A partition: every open connection is dropped, and new ones hang until `heal`."""
        self.cut_off = True
        self._drop()

    def heal(self) -> None:
        """The network is back: connections that hung are dropped (their clients reconnect)."""
        self.cut_off = False
        self._drop()

    def _drop(self) -> None:
        for link in list(self._links):
            link.close()
        self._links.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        link = _Link(writer)
        self._links.add(link)
        if self.cut_off:
            return  # accepted, then nothing: the client waits until its own timeout
        try:
            server_reader, link.server = await asyncio.open_connection(*self.target)
        except OSError:
            link.close()
            self._links.discard(link)
            return
        link.tasks = [
            asyncio.create_task(self._pump(reader, link.server)),
            asyncio.create_task(self._pump(server_reader, writer)),
        ]

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        """Copy `source` to `sink`, each chunk `delay` seconds after it was read, in order."""
        loop = asyncio.get_running_loop()
        due: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        sender = asyncio.create_task(self._send(due, sink))
        try:
            while chunk := await source.read(65536):
                due.put_nowait((loop.time() + self.delay, chunk))
            due.put_nowait((loop.time() + self.delay, b""))
            await asyncio.shield(sender)
        except OSError:
            sink.close()
        finally:
            sender.cancel()

    @staticmethod
    async def _send(due: asyncio.Queue[tuple[float, bytes]], sink: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(OSError):  # the other side went away: nothing left to send to
            while True:
                at, chunk = await due.get()
                await asyncio.sleep(max(0.0, at - loop.time()))
                if not chunk:
                    sink.write_eof()
                    return
                sink.write(chunk)
                await sink.drain()
