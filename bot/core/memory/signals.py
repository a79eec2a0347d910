"""Short messages every process of the bot hears at once (e.g. "answer X was stopped"), through
ONE Redis pub/sub subscription per process and topic, so that nothing has to ask Redis again and
again whether something happened.

Pub/sub delivers only to connected subscribers: a message sent while this process's subscription
was down (Redis restarting, a failover, a partition) is lost. So whatever a message announces must
also be written down where it can be read (a mark), and the listener is asked to look it up, in
one batched read, each time the subscription is (re)made, every `safety_seconds` while it holds,
and every `poll_seconds` while it cannot be made (Redis down, or pub/sub refused: an ACL without
`&*`/`+@pubsub`) - per process, never per thing watched.

Every way the bot reaches Redis (bot.core.memory.connection) can do this: one server and TLS (a
connection of the client's pool), Sentinel (the pool's connection asks the sentinels for the
master; a failover's reconfiguration closes pub/sub clients - `CLIENT KILL TYPE pubsub` in
sentinel.c - and the loop below subscribes again through them), and Redis Cluster: classic
PUBLISH reaches the subscribers of every node of the cluster ("Pub/Sub" in the cluster
specification, redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/), so the
subscription may sit on any node; redis-py's asyncio `RedisCluster.pubsub()` (ClusterPubSub,
redis/asyncio/cluster.py) picks the node serving the channel's slot."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any, Protocol

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from bot.core.memory.health import REDIS_DOWN, RedisHealth

log = logging.getLogger(__name__)

Heard = Callable[[str], None]  # called with each message, on the event loop
Recheck = Callable[[], Awaitable[None]]  # reads what the messages announce, in one round trip

SAFETY_SECONDS = 5.0  # between rechecks while subscribed: bounds a message lost without notice
POLL_SECONDS = 0.5  # between rechecks while not subscribed: the latency polling had before
RETRY_SECONDS = (1.0, 30.0)  # first and longest wait before subscribing again
_ALIVE = "signals-alive"  # the payload of our own PING on the subscription
_PONGS = (_ALIVE, _ALIVE.encode(), ["pong", _ALIVE], [b"pong", _ALIVE.encode()])  # as redis-py may read it


class Signals(Protocol):
    def listen(self, heard: Heard, recheck: Recheck) -> None: ...

    async def send(self, message: str) -> None: ...

    async def aclose(self) -> None: ...


class LocalSignals:
    """Signals within one process (no Redis): a message reaches this process's listeners only,
    which is every process there is."""

    def __init__(self) -> None:
        self._heard: list[Heard] = []

    def listen(self, heard: Heard, recheck: Recheck) -> None:
        self._heard.append(heard)

    async def send(self, message: str) -> None:
        for heard in self._heard:
            heard(message)

    async def aclose(self) -> None:
        self._heard.clear()


async def _next_message(pubsub: Any, timeout: float) -> dict[str, Any] | None:
    """The next message within `timeout` seconds, as PubSub.get_message gives it, except the
    answer to our PING: redis-py 8 reads it as the bare payload and, with decoded responses,
    get_message then takes that string for a message (its `isinstance(response, bytes)` check in
    PubSub.handle_message): it is recognised here, before that."""
    response = await pubsub.parse_response(block=False, timeout=timeout)
    if response is None:
        return None
    if response in _PONGS:
        return {"type": "pong", "data": _ALIVE}
    message: dict[str, Any] | None = await pubsub.handle_message(response)
    return message


class _Lost(Exception):
    """The subscription stopped answering our PING: it is made again."""


class RedisSignals:
    """One subscription to `channel` for this process, started by the first listener."""

    def __init__(
        self, client: aioredis.Redis, channel: str, health: RedisHealth, *,
        safety_seconds: float = SAFETY_SECONDS, poll_seconds: float = POLL_SECONDS,
    ) -> None:  # fmt: skip
        self.client = client
        self.channel = channel
        self.health = health
        self.safety = safety_seconds
        self.poll = poll_seconds
        self.subscribed = False
        self._refused = False  # said once that subscribing is refused (until it works)
        self._heard: list[Heard] = []
        self._rechecks: list[Recheck] = []
        self._task: asyncio.Task[None] | None = None

    def listen(self, heard: Heard, recheck: Recheck) -> None:
        self._heard.append(heard)
        self._rechecks.append(recheck)
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"signals {self.channel}")

    async def send(self, message: str) -> None:
        """Tell every process's listeners (this one's too); lost while Redis is unreachable."""
        try:
            await self.client.publish(self.channel, message)
        except REDIS_DOWN as error:
            self.health.lost(error)
        except RedisError as error:  # refused (no pub/sub for this user): the rechecks find it
            log.debug("could not publish on %s (%s)", self.channel, error)

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        # A cancellation that meets redis-py's own read timeout (asyncio.timeout inside
        # Connection.read_response) can be taken for that timeout: the read returns None and the
        # loop goes on as if never cancelled (seen closing a subscription just made), and
        # awaiting the task hung shutdown. Cancelled again until it has ended.
        while not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=0.1)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.debug("signals on %s ended with %r", self.channel, error)

    async def _run(self) -> None:
        retry = RETRY_SECONDS[0]
        while True:
            try:
                await self._subscribed()
            except (RedisError, OSError, _Lost) as error:
                self._lost(error)
            except Exception:  # a surprise of redis-py's: the loop (every stop it brings) goes on
                log.exception("signals on %s failed", self.channel)
            if self.subscribed:
                retry = RETRY_SECONDS[0]  # it held: try again soon
            self.subscribed = False
            await self._polling(retry)
            retry = min(retry * 2, RETRY_SECONDS[1])

    async def _subscribed(self) -> None:
        """Hear messages until the subscription fails. Each subscribe confirmation (the first,
        and redis-py's own resubscribing after it reconnected) is followed by a recheck: what
        was sent before it was not heard."""
        if isinstance(self.client, RedisCluster):
            await self.client.initialize()  # its pubsub() picks a node from the slots it knows
        pubsub = self.client.pubsub()
        try:
            await pubsub.subscribe(self.channel)
            waiting_pong = False
            checked = asyncio.get_running_loop().time()
            while True:
                message = await _next_message(pubsub, self.safety)
                now = asyncio.get_running_loop().time()
                if message is not None:
                    waiting_pong = self._handle(message, waiting_pong)
                    if message["type"] == "subscribe":
                        checked = now
                        await self._recheck()
                if now - checked >= self.safety:
                    if waiting_pong:  # nothing came back for a whole interval: a dead connection
                        raise _Lost(f"no answer to PING within {self.safety:.0f} s")
                    await pubsub.ping(_ALIVE)
                    waiting_pong, checked = True, now
                    await self._recheck()
        finally:
            with suppress(Exception):
                await pubsub.aclose()

    def _handle(self, message: dict[str, Any], waiting_pong: bool) -> bool:
        """Pass a message on; whether a PONG is still awaited."""
        kind = message["type"]
        if kind == "subscribe":
            if not self.subscribed:
                log.info("listening for signals on %s", self.channel)
            self.subscribed, self._refused = True, False
        elif kind == "message":
            for heard in self._heard:
                heard(str(message["data"]))
        elif kind == "pong":
            return False
        return waiting_pong

    def _lost(self, error: BaseException) -> None:
        if self.subscribed:
            log.warning(
                "signals on %s: subscription lost (%s); looking every %.1f s until it is back",
                self.channel, type(error).__name__, self.poll,
            )  # fmt: skip
        elif not isinstance(error, REDIS_DOWN) and not self._refused:
            self._refused = True
            log.warning("signals on %s: cannot subscribe (%s); looking every %.1f s", self.channel, error, self.poll)
        else:
            log.debug("signals on %s: cannot subscribe (%s)", self.channel, type(error).__name__)

    async def _polling(self, seconds: float) -> None:
        """Recheck every `poll` seconds, for `seconds`."""
        deadline = asyncio.get_running_loop().time() + seconds
        while (left := deadline - asyncio.get_running_loop().time()) > 0:
            await asyncio.sleep(min(self.poll, left))
            await self._recheck()

    async def _recheck(self) -> None:
        for recheck in list(self._rechecks):
            try:
                await recheck()
            except Exception:  # a listener's bug must not end the subscription of every listener
                log.exception("a signals recheck on %s failed", self.channel)
