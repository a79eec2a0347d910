"""A real redis-server process for tests (no persistence, loopback only, stoppable/restartable)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time

import redis


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ping(url: str, timeout: float = 1.0) -> bool:
    try:
        with redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout) as r:
            return bool(r.ping())
    except (redis.RedisError, OSError, ValueError):
        return False


class RedisServer:
    """One `redis-server` on 127.0.0.1. `stop()` then `start()` reuses the same port, so clients
    holding `url` see "Redis went down, then came back" (with an empty dataset)."""

    def __init__(self, port: int | None = None, binary: str | None = None) -> None:
        self.binary = binary or shutil.which("redis-server") or ""
        if not self.binary:
            raise RuntimeError("redis-server is not on PATH (Debian: apt-get install redis-server)")
        self._fixed_port = port is not None
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="test-redis-")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 10.0) -> RedisServer:
        if self.running:
            return self
        for _attempt in range(3):
            if self._launch(timeout):
                self._fixed_port = True  # from now on restarts keep this port
                return self
            if self._fixed_port:
                break
            self.port = free_port()  # lost a race for the port: try another
        log = self._log()
        raise RuntimeError(f"redis-server did not come up on port {self.port}:\n{log}")

    def _launch(self, timeout: float) -> bool:
        logfile = os.path.join(self.dir, "redis.log")
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir, "--logfile", logfile,
             "--daemonize", "no", *self._debug_command()],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.dir)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if ping(self.url, 0.2):
                return True
            time.sleep(0.02)
        self.stop()
        return False

    def _debug_command(self) -> list[str]:
        """Redis 7 refuses DEBUG (tests stall the server with DEBUG SLEEP) unless allowed; older
        servers allow it and know no such option."""
        version = subprocess.run([self.binary, "--version"], capture_output=True, text=True).stdout
        major = version.partition(" v=")[2].partition(".")[0]
        return ["--enable-debug-command", "local"] if major.isdigit() and int(major) >= 7 else []

    def _log(self) -> str:
        try:
            with open(os.path.join(self.dir, "redis.log")) as f:
                return f.read()[-2000:]
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
