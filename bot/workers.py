"""Several bot processes on one machine: `WORKERS=N`.

A process answers with one core at most (Python runs one thread at a time), and at about a
thousand conversations at once that core is the limit (BENCHMARKS.md). With WORKERS=N, the
process started by `python -m bot` supervises N workers, each a whole bot (engine, adapters,
connections) sharing Redis the way replicas on different machines do:

- Slack Socket Mode: each worker opens its own connection (Slack allows 10 per app) and Slack
  spreads the events over them.
- Slack HTTP mode: every worker listens on SLACK_HTTP_PORT (SO_REUSEPORT) and the kernel spreads
  the connections.
- Discord: worker i runs gateway shard i of N; Discord sends each server's events to one shard,
  DMs to shard 0.

The supervisor passes SIGTERM and Ctrl-C on to the workers as SIGTERM (each finishes its answers
in flight, as a single process does). When a worker ends on its own, the supervisor stops the
others the same way and exits with that worker's code, leaving the restart to whatever started
the bot (Docker, systemd, the platform), as it would be for a single process. A worker whose
supervisor was killed stops by itself: its stdin, a pipe from the supervisor, closes."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from dataclasses import dataclass

from bot.config import Settings
from bot.core.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Worker:
    """Which of the machine's bot processes this is; `Worker()` is the only one."""

    index: int = 0
    count: int = 1

    @classmethod
    def parse(cls, text: str) -> Worker:
        index, _, count = text.partition("/")
        worker = cls(int(index), int(count))
        if not 0 <= worker.index < worker.count:
            raise ValueError(f"worker {text}: the index must be below the count")
        return worker

    @property
    def shared(self) -> bool:
        """Other workers serve the same adapters on this machine."""
        return self.count > 1

    def __str__(self) -> str:
        return f"{self.index + 1}/{self.count}"


async def supervise(settings: Settings, argv: list[str]) -> int:
    """Run `python -m bot --worker i/N <argv>` for each of the N=WORKERS workers until one ends
    or a signal comes."""
    if not settings.redis_url:
        raise ConfigError("WORKERS > 1 needs REDIS_URL: the workers keep the conversations in Redis, together.")
    count = settings.workers
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    received: list[int] = []

    def on_signal(number: int) -> None:
        received.append(number)
        stop.set()

    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, on_signal, number)
    workers = [
        # A session of their own: Ctrl-C reaches the supervisor alone, which passes it on once.
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "--worker", f"{i}/{count}", *argv,
            stdin=asyncio.subprocess.PIPE, start_new_session=True,
        )
        for i in range(count)
    ]
    log.info("started %d workers (pids %s)", count, ", ".join(str(w.pid) for w in workers))
    exits = [asyncio.ensure_future(worker.wait()) for worker in workers]
    signalled = asyncio.ensure_future(stop.wait())
    await asyncio.wait([*exits, signalled], return_when=asyncio.FIRST_COMPLETED)
    ended = [worker for worker in workers if worker.returncode is not None]
    for worker in ended:
        code = worker.returncode or 0
        how = f"was killed by signal {-code}" if code < 0 else f"ended with code {code}"
        log.error("worker pid %d %s: stopping the others", worker.pid, how)
    for worker in workers:
        if worker.returncode is None:
            worker.send_signal(signal.SIGTERM)
    await asyncio.gather(*exits)
    signalled.cancel()
    if ended:
        code = ended[0].returncode or 0
        return code if code >= 0 else 128 - code  # killed by signal N: 128 + N, as a shell says
    return 130 if received[0] == signal.SIGINT else 0


async def supervisor_gone() -> None:
    """Returns when the supervisor has gone: the write end of this worker's stdin has closed."""
    reader = asyncio.StreamReader()
    pipe, _ = await asyncio.get_running_loop().connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    try:
        await reader.read()
    finally:
        pipe.close()
