"""Real redis-server processes for tests (no persistence, loopback only, stoppable/restartable):
one server (plain or TLS), a Redis Cluster of three masters, and a master with a replica and a
Sentinel that can be made to fail over."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import redis


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def refusing_port() -> Iterator[int]:
    """A loopback port that refuses connections for as long as the block runs: bound and never
    listening. A port `free_port` gave and nothing holds can be bound meanwhile by a server of a
    test running beside (a fake platform answering where a test expected no route)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


def ping(url: str, timeout: float = 1.0, **options: object) -> bool:
    try:
        with redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout, **options) as r:
            return bool(r.ping())
    except (redis.RedisError, OSError, ValueError):
        return False


@dataclass(frozen=True)
class Certificate:
    """A self-signed certificate for 127.0.0.1, which is its own CA."""

    cert: Path
    key: Path

    @classmethod
    def make(cls, directory: Path) -> Certificate:
        if not shutil.which("openssl"):
            raise RuntimeError("openssl is not on PATH (Debian: apt-get install openssl)")
        cert, key = directory / "cert.pem", directory / "key.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
             "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
            check=True, capture_output=True,
        )  # fmt: skip
        return cls(cert, key)


class RedisServer:
    """One `redis-server` on 127.0.0.1. `stop()` then `start()` reuses the same port, so clients
    holding `url` see "Redis went down, then came back" (with an empty dataset). `options` are
    more command-line options; `tls` makes it speak only TLS; `config` is the text of a config
    file given first (a Sentinel needs one it can rewrite); `password` is its requirepass, which
    `url` does not carry (the tests give it where the bot takes it)."""

    def __init__(
        self, port: int | None = None, binary: str | None = None, *, options: Sequence[str] = (),
        tls: Certificate | None = None, config: str = "", password: str | None = None,
    ) -> None:  # fmt: skip
        self.binary = binary or shutil.which("redis-server") or ""
        if not self.binary:
            raise RuntimeError("redis-server is not on PATH (Debian: apt-get install redis-server)")
        self._fixed_port = port is not None
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="test-redis-")
        self.options = list(options)
        self.tls = tls
        self.config = config
        self.password = password
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"{'rediss' if self.tls else 'redis'}://127.0.0.1:{self.port}/0"

    def client(self, timeout: float = 5.0) -> redis.Redis:
        """A plain (blocking) client of this one server."""
        return redis.Redis.from_url(self.url, socket_timeout=timeout, decode_responses=True, **self._auth())

    def ping(self, timeout: float = 1.0) -> bool:
        return ping(self.url, timeout, **self._auth())

    def _auth(self) -> dict[str, str]:
        return {**({"ssl_ca_certs": str(self.tls.cert)} if self.tls else {}),
                **({"password": self.password} if self.password else {})}  # fmt: skip

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
            [self.binary, *self._config_file(), *self._ports(), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir, "--logfile", logfile,
             "--daemonize", "no", *self._debug_command(), *self.options],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.dir)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if self.ping(0.2):
                return self._answered_by_own_process()
            time.sleep(0.02)
        self.stop()
        return False

    def _answered_by_own_process(self) -> bool:
        """Whether the server answering on the port is the one just started, not another that
        took the port in between (this one then exits: the port is in use)."""
        try:
            with self.client(1.0) as client:
                if client.info("server")["process_id"] == self.proc.pid:
                    return True
        except redis.RedisError:
            pass
        self.stop()
        return False

    def _ports(self) -> list[str]:
        if not self.tls:
            return ["--port", str(self.port)]
        cert, key = str(self.tls.cert), str(self.tls.key)
        return ["--port", "0", "--tls-port", str(self.port), "--tls-cert-file", cert, "--tls-key-file", key,
                "--tls-ca-cert-file", cert, "--tls-auth-clients", "no"]  # fmt: skip

    def _config_file(self) -> list[str]:
        if not self.config:
            return []
        path = os.path.join(self.dir, "redis.conf")
        if not os.path.exists(path):  # a Sentinel rewrites its own: a restart keeps what it learnt
            with open(path, "w") as f:
                f.write(self.config)
        return [path]

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


class _ServerGroup:
    """Servers started together and stopped together, also when starting one of them failed."""

    servers: list[RedisServer]

    def start(self) -> Self:
        raise NotImplementedError

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:
            self.__exit__()
            raise

    def __exit__(self, *exc: object) -> None:
        for server in reversed(self.servers):
            server.__exit__()


class RedisClusterServers(_ServerGroup):
    """A Redis Cluster of three masters (no replicas) on loopback; `url` names one node, as
    REDIS_URL does."""

    def __init__(self, masters: int = 3) -> None:
        options = ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000"]
        # Each node's cluster bus on a port of its own: by default it is the node's port + 10,000,
        # which may be taken, or past 65,535.
        self.nodes = self.servers = [
            RedisServer(options=[*options, "--cluster-port", str(free_port())]) for _ in range(masters)
        ]

    @property
    def url(self) -> str:
        return self.nodes[0].url

    def start(self, timeout: float = 20.0) -> RedisClusterServers:
        for node in self.nodes:
            node.start()
        created = subprocess.run(
            ["redis-cli", "--cluster", "create", *(f"127.0.0.1:{n.port}" for n in self.nodes), "--cluster-yes"],
            capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        if created.returncode:
            raise RuntimeError(f"redis-cli --cluster create failed:\n{created.stdout}{created.stderr}")
        _wait(lambda: all(_cluster_ok(n) for n in self.nodes), timeout, "cluster_state:ok")
        return self


SENTINEL_MASTER = "mymaster"


class RedisSentinelSet(_ServerGroup):
    """A master, its replica and one Sentinel watching them (quorum 1) on loopback; the Redis
    servers and the Sentinel each have their password."""

    password = "redis-pw"
    sentinel_password = "sentinel-pw"

    def __init__(self) -> None:
        # A replica syncs at once, not 5 s later; either may be master, so both know the password.
        redis_options = ["--repl-diskless-sync-delay", "0", "--requirepass", self.password, "--masterauth", self.password]
        self.master = RedisServer(options=redis_options, password=self.password)
        self.replica = RedisServer(
            options=[*redis_options, "--replicaof", "127.0.0.1", str(self.master.port)], password=self.password
        )
        self.sentinel = RedisServer(
            config=f"sentinel monitor {SENTINEL_MASTER} 127.0.0.1 {self.master.port} 1\n"
            f"sentinel auth-pass {SENTINEL_MASTER} {self.password}\n"
            f"sentinel down-after-milliseconds {SENTINEL_MASTER} 2000\n"
            f"sentinel failover-timeout {SENTINEL_MASTER} 10000\n"
            f"requirepass {self.sentinel_password}\n",
            options=["--sentinel"], password=self.sentinel_password,
        )  # fmt: skip
        self.servers = [self.master, self.replica, self.sentinel]

    @property
    def address(self) -> str:
        """The Sentinel's host:port, as REDIS_SENTINELS lists it."""
        return f"127.0.0.1:{self.sentinel.port}"

    def start(self, timeout: float = 20.0) -> RedisSentinelSet:
        self.master.start()
        self.replica.start()
        self.sentinel.start()
        _wait(lambda: _info(self.replica, "replication").get("master_link_status") == "up", timeout, "replica in sync")
        _wait(self._replica_known, timeout, "the Sentinel knows the replica")
        return self

    def _replica_known(self) -> bool:
        with self.sentinel.client() as sentinel:
            replicas = sentinel.sentinel_slaves(SENTINEL_MASTER)  # parsed: flags as booleans
        return any(r["flags"] == "slave" and r["master-link-status"] == "ok" for r in replicas)

    def master_port(self) -> int:
        with self.sentinel.client() as sentinel:
            return int(sentinel.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", SENTINEL_MASTER)[1])

    def fail_over(self, timeout: float = 30.0) -> None:
        """What was written reaches the replica, the Sentinel promotes it, and the old master
        follows it as a replica."""
        old, new = (self.master, self.replica) if self.master_port() == self.master.port else (self.replica, self.master)
        with old.client() as client:
            client.execute_command("WAIT", 1, 5000)
        with self.sentinel.client() as sentinel:
            sentinel.execute_command("SENTINEL", "FAILOVER", SENTINEL_MASTER)
        _wait(lambda: self.master_port() == new.port and _info(new, "replication").get("role") == "master", timeout,
              "the replica promoted")  # fmt: skip
        _wait(lambda: _info(old, "replication").get("master_link_status") == "up", timeout, "the old master following")


def _info(server: RedisServer, section: str) -> dict[str, object]:
    try:
        with server.client(1.0) as client:
            return client.info(section)
    except redis.RedisError:
        return {}


def _cluster_ok(node: RedisServer) -> bool:
    try:
        with node.client(1.0) as client:
            return client.cluster("info").get("cluster_state") == "ok"
    except redis.RedisError:
        return False


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"redis-server: no {what} within {timeout:.0f} s")
        time.sleep(0.05)
