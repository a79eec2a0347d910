"""A local fake Slack for tests: the real slack-bolt / slack_sdk talk to it over real sockets.

One aiohttp server on 127.0.0.1 (port 0) plays every part of Slack the bot touches:

* Web API at ``fake.api_url`` (``http://127.0.0.1:PORT/api/``): point ``AsyncWebClient(base_url=...)``
  there. Every call is recorded (:class:`ApiCall`); a small model of messages per channel answers
  ``chat.*`` / ``conversations.*`` and lets a test read the final texts (``fake.messages``).
* Files: ``fake.add_file`` gives a Slack file object whose ``url_private[_download]`` point here; the
  bytes are served only with ``Authorization: Bearer <bot token>``, otherwise the HTML login page
  (status 200), as Slack does; also with it when ``files_read_scope = False`` (a token without
  files:read). ``add_file(chunked=True)`` serves without Content-Length. Downloads are recorded
  (:class:`Download`). ``add_external_file`` gives the object of a file stored elsewhere (Google
  Drive, files.remote.add): ``is_external``, ``mode: "external"``, URLs pointing at that service.
* Events, HTTP mode: ``fake.send_http_event(app_url, payload)`` POSTs signed like Slack signs.
* Events, Socket Mode: ``apps.connections.open`` (app token) answers ``ws://127.0.0.1:PORT/link``;
  the fake says ``hello``, pushes envelopes (``fake.push_socket_event``) and records acks.
* Faults: ``fail_next`` (``ok: false`` or HTTP 429 + ``Retry-After``), ``delay_next``,
  ``streaming_supported = False``, ``expire_stream``.

Tests never sleep a fixed time: ``wait_for`` / ``wait_call`` / ``wait_ack`` poll recorded state.

Choices where real Slack is not pinned down (documented so tests can rely on them):

* Unavailable streaming (``streaming_supported = False``) answers what Slack answers for a method
  it does not know: HTTP 200 ``{"ok": false, "error": "unknown_method", "req_method": ...}``
  (``streaming_unsupported_error`` changes the error code).
* ``chat.startStream`` outside a DM (channel not starting with ``D``) needs ``recipient_team_id``
  and ``recipient_user_id`` (``missing_recipient_team_id`` / ``missing_recipient_user_id``), as
  Slack documents. A streamed message's text is every ``markdown_text`` (and ``markdown_text``
  chunk) sent by start/append/stop, concatenated.
* Message length: ``max_text_chars`` (40,000 by default, Slack's documented limit) and
  ``max_text_bytes`` (off by default; reports put Slack's real cut near 4,000 UTF-8 bytes, set it
  to exercise splitting of Hangul text) answer ``msg_too_long``; one stream append is limited to
  ``max_stream_chunk_chars`` (12,000).
* Messages that users "post" exist once their event has been delivered by ``send_http_event`` /
  ``push_socket_event`` (or ``seed_message``), so ``conversations.replies`` sees them.
* Rate tiers: ``rate_tiers`` (method → calls a minute, Slack's documented tiers: Tier 2 20 for
  ``chat.startStream``/``chat.stopStream``, Tier 3 50 for ``chat.update``, Tier 4 100 for
  ``chat.appendStream``) are enforced per workspace over a sliding minute: a call past its tier
  gets HTTP 429 ``ratelimited`` with an honest ``Retry-After`` (whole seconds until the window
  has room) and does not count. ``chat.postEphemeral`` is Tier 4 (100); it refuses what
  chat.postMessage refuses (no text, too long, bad blocks) and, in a DM, a ``user`` other than
  the person the DM is with (``user_not_in_channel``), where the fake knows them (registered, or
  who wrote there). Slack shows an ephemeral in a thread only if the thread is already active
  (docs.slack.dev, chat.postEphemeral): not modelled, as it refuses nothing.
* Per-channel limits: ``channel_limits`` (method → :class:`ChannelLimit`; by default
  ``chat.postMessage``, about one a second per channel with bursts of 3, see fakes/slack_limits.py
  for the model and what Slack leaves undocumented, its workspace-wide limit among them): a call
  past its channel's limit gets the same 429 ``ratelimited`` with an honest ``Retry-After`` and
  does not count. ``channel_limits = {}`` turns it off.
* ``chat.update`` of a message still streaming answers ``cant_update_message``.
* Times are ``time.monotonic()`` values, comparable across calls, acks and downloads.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import math
import time
import uuid
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

import aiohttp
from aiohttp import WSCloseCode, WSMsgType, web
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from fakes.slack_ai import (
    AI_RATE_TIERS, SESSION_STATUSES, TRIGGER_SECONDS, Session, SlackError, check_blocks, check_view, new_trigger,
)  # fmt: skip
from fakes.slack_limits import CHANNEL_LIMITS, ChannelBuckets, ChannelLimit

T = TypeVar("T")

BOT_TOKEN = "xoxb-1-fake-bot-token"
APP_TOKEN = "xapp-1-A0001-fake-app-token"
SIGNING_SECRET = "fake-signing-secret"
TEAM_ID = "T0001"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
API_APP_ID = "A0001"

STREAM_METHODS = frozenset({"chat.startStream", "chat.appendStream", "chat.stopStream"})
# Slack's rate tiers for the methods an answer calls, a minute per workspace (docs.slack.dev).
RATE_TIERS = {
    "chat.startStream": 20, "chat.stopStream": 20, "chat.update": 50, "chat.appendStream": 100,
    "chat.postEphemeral": 100, **AI_RATE_TIERS,
}  # fmt: skip
_CHUNK = 64 * 1024

LOGIN_PAGE = b"""<!DOCTYPE html>
<html lang="en-US"><head><meta charset="utf-8"><title>Slack</title></head>
<body class="signin"><h1>Sign in to Fake Team</h1>
<form id="signin_form" action="/" method="post"><input type="email" name="email">
<input type="password" name="password"><button type="submit">Sign in</button></form>
</body></html>
"""


# ----------------------------------------------------------------------------- records


@dataclass
class ApiCall:
    """One Web API request as the fake received it."""

    method: str  # "chat.postMessage"
    args: dict[str, Any]  # query + form + JSON body merged (later wins), token removed
    headers: dict[str, str]
    token: str | None  # from "Authorization: Bearer" or a legacy token argument
    http_method: str
    at: float  # time.monotonic() when received
    status: int = 0  # HTTP status answered
    response: dict[str, Any] = field(default_factory=dict)
    peer: object = None  # the client's (host, port): calls on one kept-alive connection share it

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok"))


@dataclass
class Message:
    """The fake's model of one Slack message (bot replies and delivered user messages)."""

    channel: str
    ts: str
    text: str
    user: str | None
    thread_ts: str | None = None
    bot_id: str | None = None
    subtype: str | None = None
    blocks: list[Any] | None = None
    files: list[dict[str, Any]] = field(default_factory=list)
    stream_state: str | None = None  # None (plain), "streaming", "completed", "expired"
    texts: list[str] = field(default_factory=list)  # every text it showed, in order
    edited_ts: str | None = None
    deleted: bool = False
    metadata: Any = None

    def to_slack(self, fake: FakeSlack) -> dict[str, Any]:
        m: dict[str, Any] = {"type": "message", "text": self.text, "ts": self.ts}
        if self.user:
            m["user"] = self.user
        if self.subtype:
            m["subtype"] = self.subtype
        if self.bot_id:
            m.update(bot_id=self.bot_id, app_id=fake.api_app_id, bot_profile=fake.bot_profile())
        m["team"] = fake.team_id
        if self.thread_ts:
            m["thread_ts"] = self.thread_ts
        if self.blocks is not None:
            m["blocks"] = self.blocks
        if self.files:
            m.update(files=self.files, upload=False, display_as_bot=False)
        if self.edited_ts and self.user:
            m["edited"] = {"user": self.user, "ts": self.edited_ts}
        if reactions := fake.reactions(self.channel, self.ts):
            m["reactions"] = [{"name": r, "users": [fake.bot_user_id], "count": 1} for r in reactions]
        if self.metadata is not None:
            m["metadata"] = self.metadata
        return m


@dataclass
class Download:
    """One GET/HEAD of a file URL. Updated while the body is being written."""

    file_id: str | None
    path: str
    authorized: bool  # carried "Authorization: Bearer <bot token>"
    status: int
    size: int  # the file's full size (0 for the login page / unknown file)
    at: float
    bytes_sent: int = 0  # body bytes handed to the socket: an upper bound of what the client read
    completed: bool = False  # the whole file was written without the client going away
    done: bool = False  # the fake has finished answering (completed or not)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SocketPush:
    envelope_id: str
    type: str
    envelope: dict[str, Any]
    at: float


@dataclass(frozen=True)
class SocketAck:
    envelope_id: str
    payload: dict[str, Any] | None  # the response payload, if the app sent one
    raw: dict[str, Any]
    at: float
    latency: float | None  # seconds from the push to this ack


@dataclass(frozen=True)
class HttpDelivery:
    """What the app answered to one event POST."""

    status: int
    body: str
    headers: dict[str, str]
    elapsed: float

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class ResponseUrlPost:
    path: str
    body: Any
    at: float


@dataclass
class _Fault:
    error: str
    status: int
    retry_after: int | None
    times: int


_SlackError = SlackError


# ----------------------------------------------------------------------------- the fake


class FakeSlack:
    """Fake Slack server. Use ``async with FakeSlack() as fake:`` (or the ``fake_slack`` fixture)."""

    def __init__(
        self,
        *,
        bot_token: str = BOT_TOKEN,
        app_token: str = APP_TOKEN,
        signing_secret: str = SIGNING_SECRET,
        team_id: str = TEAM_ID,
        team: str = "Fake Team",
        team_domain: str = "fake-team",
        bot_user_id: str = BOT_USER_ID,
        bot_id: str = BOT_ID,
        bot_name: str = "llm-bot",
        api_app_id: str = API_APP_ID,
    ) -> None:
        self.bot_token, self.app_token, self.signing_secret = bot_token, app_token, signing_secret
        self.team_id, self.team, self.team_domain = team_id, team, team_domain
        self.bot_user_id, self.bot_id, self.bot_name, self.api_app_id = bot_user_id, bot_id, bot_name, api_app_id
        self.verification_token = "fake-verification-token"

        # knobs
        self.streaming_supported = True
        self.streaming_unsupported_error = "unknown_method"
        self.max_text_chars: int | None = 40_000
        self.max_text_bytes: int | None = None
        self.max_stream_chunk_chars = 12_000
        self.rate_tiers: dict[str, int] = dict(RATE_TIERS)
        self.tier_window = 60.0  # seconds: Slack's tiers are calls a minute
        self._tier_calls: dict[str, deque[float]] = defaultdict(deque)
        self.channel_limits: dict[str, ChannelLimit] = dict(CHANNEL_LIMITS)
        self._channel_buckets = ChannelBuckets()
        # False: the bot token lacks files:read, and file URLs answer the sign-in page even with it.
        self.files_read_scope = True

        # recorded state
        self.api_calls: list[ApiCall] = []
        self.downloads: list[Download] = []
        self.socket_pushes: list[SocketPush] = []
        self.socket_acks: list[SocketAck] = []
        self.socket_other: list[Any] = []  # non-ack frames the app sent over the websocket
        self.socket_connects = 0
        self.http_deliveries: list[HttpDelivery] = []
        self.response_url_posts: list[ResponseUrlPost] = []
        self.ephemerals: list[dict[str, Any]] = []
        self.views: list[dict[str, Any]] = []  # modals opened, in order
        self.home_views: dict[str, dict[str, Any]] = {}  # user → their published App Home
        self.sessions: dict[tuple[str, str], Session] = {}  # (channel, thread_ts) → agent session
        self.statuses: list[dict[str, Any]] = []  # assistant.threads.setStatus calls that took
        self.suggested_prompts: list[dict[str, Any]] = []
        self.titles: dict[tuple[str, str], str] = {}
        self._triggers: dict[str, tuple[float, bool]] = {}  # trigger_id → (issued at, used)
        self.not_member: set[str] = set()  # channels the bot is not in (conversations.history: not_in_channel)

        self._channels: dict[str, dict[str, Message]] = defaultdict(dict)
        self._channel_info: dict[str, dict[str, Any]] = {}
        self._users: dict[str, dict[str, Any]] = {}
        self._files: dict[str, tuple[dict[str, Any], bytes]] = {}
        self._chunked: set[str] = set()
        self._reactions: dict[tuple[str, str], list[str]] = defaultdict(list)
        self._faults: dict[str, deque[_Fault]] = defaultdict(deque)
        self._delays: dict[str, deque[float]] = defaultdict(deque)
        self._sockets: list[web.WebSocketResponse] = []
        self._clock_us = 1_700_000_000_000_000  # next ts is 1700000000.000100
        self._counter = 0
        self._runner: web.AppRunner | None = None
        self.port = 0

        self._handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "api.test": lambda a: {"args": a},
            "auth.test": self._auth_test,
            "apps.connections.open": self._apps_connections_open,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.startStream": self._chat_start_stream,
            "chat.appendStream": self._chat_append_stream,
            "chat.stopStream": self._chat_stop_stream,
            "conversations.replies": self._conversations_replies,
            "conversations.history": self._conversations_history,
            "conversations.info": self._conversations_info,
            "files.info": self._files_info,
            "users.info": self._users_info,
            "reactions.add": self._reactions_add,
            "reactions.remove": self._reactions_remove,
            "assistant.threads.setStatus": self._assistant_set_status,
            "assistant.threads.setSuggestedPrompts": self._assistant_set_prompts,
            "assistant.threads.setTitle": self._assistant_set_title,
            "agents.sessions.setStatus": self._agents_set_status,
            "views.open": self._views_open,
            "views.publish": self._views_publish,
            "chat.getPermalink": self._chat_get_permalink,
        }

    # -- lifecycle ------------------------------------------------------------------

    async def start(self) -> FakeSlack:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_get("/link", self._link)
        app.router.add_get("/link/", self._link)
        app.router.add_get("/files-pri/{team_file}/download/{name}", self._file)
        app.router.add_get("/files-pri/{team_file}/{name}", self._file)
        app.router.add_post("/commands/{tail:.*}", self._response_url)
        # Short shutdown: open websockets/handlers must not hold a test for the default 60 s.
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def close(self) -> None:
        # Close the app's websockets first (going away), or runner.cleanup waits on their handlers.
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlack:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/link"

    def web_client(self, token: str | None = None, **kwargs: Any) -> AsyncWebClient:
        """An ``AsyncWebClient`` aimed at the fake, with the bot token unless told otherwise.

        Bolt note: ``AsyncApp(client=...)`` takes the token from the client and ignores its own
        ``token=`` argument, so the token must be on the client.
        """
        return AsyncWebClient(token=token or self.bot_token, base_url=self.api_url, **kwargs)

    # -- ids and clock ---------------------------------------------------------------

    def next_ts(self) -> str:
        """A fresh, strictly increasing Slack timestamp ("1700000000.000100", ...)."""
        self._clock_us += 100
        return f"{self._clock_us // 1_000_000}.{self._clock_us % 1_000_000:06d}"

    def _next_id(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}{self._counter:08d}"

    # -- faults -----------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        error: str = "ratelimited",
        *,
        status: int | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail (queued after earlier faults).

        ``error="ratelimited"`` answers HTTP 429 with ``Retry-After`` (default 1 s) and
        ``{"ok": false, "error": "ratelimited"}``; any other error answers HTTP 200 ``ok: false``.
        """
        if status is None:
            status = 429 if error == "ratelimited" else 200
        if retry_after is None and status == 429:
            retry_after = 1
        self._faults[method].append(_Fault(error, status, retry_after, times))

    def delay_next(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` only after ``seconds`` (timeouts, races)."""
        self._delays[method].extend([seconds] * times)

    def expire_stream(self, channel: str, ts: str) -> None:
        """End a stream server-side (Slack ends streams after ~5 min): later appends/stops fail
        with ``message_not_in_streaming_state``."""
        self._require_message(channel, ts).stream_state = "expired"

    # -- seeding --------------------------------------------------------------------------

    def add_user(self, user_id: str, **fields: Any) -> dict[str, Any]:
        """Register a user for ``users.info`` (fields override the defaults, e.g. real_name, tz)."""
        profile_only = {"display_name", "email", "image_72"}
        user = self._default_user(user_id)
        for k, v in fields.items():
            if k in profile_only or k == "real_name":  # real_name lives in both places on Slack
                user["profile"][k] = v
                if k in ("display_name", "real_name"):
                    user["profile"][f"{k}_normalized"] = v
            if k not in profile_only:
                user[k] = v
        self._users[user_id] = user
        return user

    def add_channel(self, channel_id: str, **fields: Any) -> dict[str, Any]:
        """Register a channel for ``conversations.info`` (fields override, e.g. name, user for a DM)."""
        info = {**self._default_channel(channel_id), **fields}
        self._channel_info[channel_id] = info
        return info

    def add_file(
        self,
        content: bytes,
        name: str,
        mimetype: str = "application/octet-stream",
        filetype: str = "binary",
        *,
        user: str = "U0001",
        title: str | None = None,
        pretty_type: str | None = None,
        chunked: bool = False,
    ) -> dict[str, Any]:
        """Store a file and return its Slack file object (put it in an event's ``files`` list).
        ``chunked`` serves it without Content-Length (chunked transfer encoding)."""
        file_id = self._next_id("F")
        quoted = quote(name)
        now = int(time.time())
        obj: dict[str, Any] = {
            "id": file_id,
            "created": now,
            "timestamp": now,
            "name": name,
            "title": title if title is not None else name,
            "mimetype": mimetype,
            "filetype": filetype,
            "pretty_type": pretty_type or filetype.upper(),
            "user": user,
            "user_team": self.team_id,
            "editable": False,
            "size": len(content),
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": True,
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": f"{self.base_url}/files-pri/{self.team_id}-{file_id}/{quoted}",
            "url_private_download": f"{self.base_url}/files-pri/{self.team_id}-{file_id}/download/{quoted}",
            "permalink": f"https://{self.team_domain}.slack.com/files/{user}/{file_id}/{quoted}",
            "permalink_public": f"https://slack-files.com/{self.team_id}-{file_id}-0000000000",
            "has_rich_preview": False,
            "file_access": "visible",
        }
        self._files[file_id] = (obj, content)
        if chunked:
            self._chunked.add(file_id)
        return obj

    def add_external_file(
        self, url: str, name: str, *, external_type: str = "gdrive", mimetype: str = "application/pdf",
        user: str = "U0001",
    ) -> dict[str, Any]:
        """The file object of a file stored outside Slack: shared from Google Drive and the like
        (``external_type`` "gdrive", "dropbox", ...) or added by any app with files.remote.add
        ("app"). Its URLs point at ``url``, the other service, as Slack's do; Slack serves no bytes."""
        file_id = self._next_id("F")
        now = int(time.time())
        obj: dict[str, Any] = {
            "id": file_id, "created": now, "timestamp": now, "name": name, "title": name,
            "mimetype": mimetype if external_type != "app" else "application/vnd.slack-remote",
            "filetype": "remote" if external_type == "app" else "pdf", "pretty_type": "Remote",
            "user": user, "user_team": self.team_id, "editable": False, "size": 0, "mode": "external",
            "is_external": True, "external_type": external_type, "external_url": url, "is_public": False,
            "public_url_shared": False, "display_as_bot": False, "username": "",
            "url_private": url, "url_private_download": url,
            "permalink": f"https://{self.team_domain}.slack.com/files/{user}/{file_id}/{quote(name)}",
            "has_rich_preview": False, "file_access": "visible",
        }  # fmt: skip
        self._files[file_id] = (obj, b"")
        return obj

    def seed_message(
        self,
        channel: str,
        text: str,
        *,
        user: str = "U0001",
        ts: str | None = None,
        thread_ts: str | None = None,
        bot: bool = False,
    ) -> Message:
        """Put an existing message into the model (earlier history for ``conversations.replies``)."""
        msg = Message(
            channel=channel,
            ts=ts or self.next_ts(),
            text=text,
            user=self.bot_user_id if bot else user,
            thread_ts=thread_ts,
            bot_id=self.bot_id if bot else None,
            texts=[text],
        )
        self._channels[channel][msg.ts] = msg
        return msg

    # -- reading recorded state ------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[ApiCall]:
        return [c for c in self.api_calls if method is None or c.method == method]

    def message(self, channel: str, ts: str) -> Message | None:
        return self._channels.get(channel, {}).get(ts)

    def message_records(
        self, channel: str, thread_ts: str | None = None, *, include_users: bool = False
    ) -> list[Message]:
        """Messages of a channel in ts order, deleted ones left out.

        ``thread_ts=None``: the whole channel, threads included; otherwise that thread (root and
        replies). Only the bot's messages unless ``include_users``.
        """
        msgs = [m for m in self._channels.get(channel, {}).values() if not m.deleted]
        if thread_ts is not None:
            msgs = [m for m in msgs if m.thread_ts == thread_ts or m.ts == thread_ts]
        if not include_users:
            msgs = [m for m in msgs if self.is_ours(m)]
        return sorted(msgs, key=lambda m: _ts_key(m.ts))

    def messages(self, channel: str, thread_ts: str | None = None, *, include_users: bool = False) -> list[str]:
        """Final texts (after updates / streamed appends) of :meth:`message_records`."""
        return [m.text for m in self.message_records(channel, thread_ts, include_users=include_users)]

    def is_ours(self, msg: Message) -> bool:
        """Posted by the bot under test (not by a user or another bot)."""
        return msg.bot_id == self.bot_id or msg.user == self.bot_user_id

    def reactions(self, channel: str, ts: str) -> list[str]:
        """Reaction names the bot added to a message (any message ts, known to the model or not)."""
        return list(self._reactions.get((channel, ts), []))

    @property
    def socket_connected(self) -> bool:
        return self.open_sockets > 0

    @property
    def open_sockets(self) -> int:
        """Socket Mode connections open now (one per running app instance)."""
        return sum(not ws.closed for ws in self._sockets)

    # -- waiting ------------------------------------------------------------------------------

    async def wait_for(
        self,
        predicate: Callable[[], T | Awaitable[T]],
        timeout: float = 5.0,
        *,
        interval: float = 0.01,
        what: str | None = None,
    ) -> T:
        """Poll ``predicate`` until it returns something truthy (returned); TimeoutError otherwise."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if inspect.isawaitable(value):
                value = await value
            if value:
                return value  # type: ignore[return-value]
            if loop.time() >= deadline:
                seen = ", ".join(c.method for c in self.api_calls[-20:]) or "none"
                raise TimeoutError(f"{what or predicate!r} not met within {timeout}s (recent calls: {seen})")
            await asyncio.sleep(interval)

    async def wait_call(
        self,
        method: str,
        predicate: Callable[[ApiCall], bool] | None = None,
        timeout: float = 5.0,
        *,
        count: int = 1,
    ) -> ApiCall:
        """Wait until ``count`` calls of ``method`` (matching ``predicate``) arrived; return the last."""

        def found() -> ApiCall | None:
            hits = [c for c in self.calls(method) if predicate is None or predicate(c)]
            return hits[count - 1] if len(hits) >= count else None

        return await self.wait_for(found, timeout, what=f"{count} call(s) of {method}")

    async def wait_ack(self, envelope_id: str, timeout: float = 5.0) -> SocketAck:
        def found() -> SocketAck | None:
            return next((a for a in self.socket_acks if a.envelope_id == envelope_id), None)

        return await self.wait_for(found, timeout, what=f"ack of envelope {envelope_id}")

    async def wait_socket_connected(self, timeout: float = 5.0) -> None:
        await self.wait_for(lambda: self.socket_connected, timeout, what="a Socket Mode connection")

    # -- Web API --------------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.StreamResponse:
        received = time.monotonic()
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        bad_json = False
        if request.can_read_body:
            ctype = request.content_type
            if ctype == "application/json":
                raw = await request.read()
                try:
                    body = json.loads(raw) if raw.strip() else {}
                except ValueError:
                    body, bad_json = {}, True
                if isinstance(body, dict):
                    args.update(body)
            elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
                for k, v in (await request.post()).items():
                    args[k] = v if isinstance(v, str) else getattr(v, "filename", v)
        token = args.pop("token", None)
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            token = auth[len("Bearer ") :]
        call = ApiCall(method, args, dict(request.headers), token, request.method, received,
                       peer=request.transport.get_extra_info("peername") if request.transport else None)
        self.api_calls.append(call)

        if self._delays[method]:
            await asyncio.sleep(self._delays[method].popleft())

        headers: dict[str, str] = {"X-Slack-Req-Id": uuid.uuid4().hex}
        faults = self._faults[method]
        if faults:
            fault = faults[0]
            fault.times -= 1
            if fault.times <= 0:
                faults.popleft()
            status, payload = fault.status, {"ok": False, "error": fault.error}
            if fault.retry_after is not None:
                headers["Retry-After"] = str(fault.retry_after)
        elif bad_json:
            status, payload = 200, {"ok": False, "error": "invalid_json"}
        elif (wait := self._over_limit(method, args, received)) is not None:
            status, payload = 429, {"ok": False, "error": "ratelimited"}
            headers["Retry-After"] = str(math.ceil(wait))
        else:
            status, payload = 200, self._dispatch(method, args, token)
        call.status, call.response = status, payload
        return web.json_response(payload, status=status, headers=headers)

    def reset_tiers(self) -> None:
        """Forget the calls counted so far (a benchmark's warm-up), per channel too."""
        self._tier_calls.clear()
        self._channel_buckets.clear()

    def _over_limit(self, method: str, args: dict[str, Any], now: float) -> float | None:
        """Seconds until `method` has room in its tier and its channel's limit again, or None:
        the call counts against both (a refused call counts against neither)."""
        channel = str(args.get("channel") or "")
        per_channel = self.channel_limits.get(method) if channel else None
        in_channel = self._channel_buckets.wait(per_channel, method, channel, now) if per_channel else None
        waits = [wait for wait in (self._tier_wait(method, now), in_channel) if wait is not None]
        if waits:
            return max(waits)
        if method in self.rate_tiers:
            self._tier_calls[method].append(now)
        if per_channel:
            self._channel_buckets.take(per_channel, method, channel, now)
        return None

    def _tier_wait(self, method: str, now: float) -> float | None:
        """Seconds until `method` has room in its tier again, or None: it has room now."""
        limit = self.rate_tiers.get(method)
        if limit is None:
            return None
        calls = self._tier_calls[method]
        while calls and calls[0] <= now - self.tier_window:
            calls.popleft()
        return calls[0] + self.tier_window - now if len(calls) >= limit else None

    def _dispatch(self, method: str, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        handler = self._handlers.get(method)
        if handler is None or (method in STREAM_METHODS and not self.streaming_supported):
            error = "unknown_method" if handler is None else self.streaming_unsupported_error
            return {"ok": False, "error": error, "req_method": method}
        try:
            self._check_token(method, token)
            return {"ok": True, **handler(args)}
        except _SlackError as e:
            return {"ok": False, "error": e.error, **e.extra}

    def _check_token(self, method: str, token: str | None) -> None:
        if method == "api.test":
            return
        if not token:
            raise _SlackError("not_authed")
        wanted = self.app_token if method == "apps.connections.open" else self.bot_token
        if token == wanted:
            return
        if token in (self.app_token, self.bot_token):
            raise _SlackError("not_allowed_token_type")
        raise _SlackError("invalid_auth")

    # handlers: return the fields besides ok, or raise _SlackError

    def _auth_test(self, _: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team,
            "user": self.bot_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _apps_connections_open(self, _: dict[str, Any]) -> dict[str, Any]:
        return {"url": f"{self.ws_url}?ticket={uuid.uuid4()}&app_id={self.api_app_id}"}

    def _check_text(self, text: str) -> None:
        if self.max_text_chars is not None and len(text) > self.max_text_chars:
            raise _SlackError("msg_too_long")
        if self.max_text_bytes is not None and len(text.encode()) > self.max_text_bytes:
            raise _SlackError("msg_too_long")

    def _content(self, a: dict[str, Any]) -> tuple[str, Any]:
        """A new message's text and blocks, refused as Slack refuses them: neither (nor
        attachments), a text too long, blocks Slack would not take."""
        text = str(a.get("text") or "")
        blocks = _maybe_json(a.get("blocks"))
        if not text and not blocks and not a.get("attachments"):
            raise _SlackError("no_text")
        if blocks is not None:
            check_blocks(blocks)
        self._check_text(text)
        return text, blocks

    def _chat_post_message(self, a: dict[str, Any]) -> dict[str, Any]:
        channel = _required(a, "channel", "channel_not_found")
        text, blocks = self._content(a)
        msg = Message(
            channel=channel,
            ts=self.next_ts(),
            text=text,
            user=self.bot_user_id,
            bot_id=self.bot_id,
            thread_ts=a.get("thread_ts") or None,
            blocks=blocks,
            texts=[text],
            metadata=_maybe_json(a.get("metadata")),
        )
        self._channels[channel][msg.ts] = msg
        return {"channel": channel, "ts": msg.ts, "message": msg.to_slack(self)}

    def _chat_update(self, a: dict[str, Any]) -> dict[str, Any]:
        channel = _required(a, "channel", "channel_not_found")
        msg = self._require_message(channel, _required(a, "ts", "message_not_found"))
        if not self.is_ours(msg) or msg.stream_state == "streaming":
            raise _SlackError("cant_update_message")
        text = a.get("text")
        blocks = _maybe_json(a.get("blocks"))
        if text is None and blocks is None:
            raise _SlackError("no_text")
        if blocks is not None:
            check_blocks(blocks)
        if text is not None:
            self._check_text(str(text))
            msg.text = str(text)
        if blocks is not None:
            msg.blocks = blocks
        msg.texts.append(msg.text)
        msg.edited_ts = self.next_ts()
        return {"channel": channel, "ts": msg.ts, "text": msg.text, "message": msg.to_slack(self)}

    def _chat_delete(self, a: dict[str, Any]) -> dict[str, Any]:
        channel = _required(a, "channel", "channel_not_found")
        msg = self._require_message(channel, _required(a, "ts", "message_not_found"))
        if not self.is_ours(msg):
            raise _SlackError("cant_delete_message")
        msg.deleted = True
        return {"channel": channel, "ts": msg.ts}

    def _chat_post_ephemeral(self, a: dict[str, Any]) -> dict[str, Any]:
        channel = _required(a, "channel", "channel_not_found")
        user = _required(a, "user", "user_not_found")
        self._content(a)
        if (person := self._dm_person(channel)) is not None and user != person:
            raise _SlackError("user_not_in_channel")
        ts = self.next_ts()
        self.ephemerals.append({**a, "message_ts": ts})
        return {"message_ts": ts}

    def _dm_person(self, channel: str) -> str | None:
        """Whom a DM is with, where the fake knows: registered (``add_channel(..., user=...)``),
        else the user who wrote in it; None for other channels, or a DM nobody wrote in yet."""
        if not channel.startswith("D"):
            return None
        if registered := self._channel_info.get(channel, {}).get("user"):
            return str(registered)
        return next((m.user for m in self._channels.get(channel, {}).values() if m.user and not self.is_ours(m)), None)

    def _stream_text(self, a: dict[str, Any]) -> str:
        parts = [str(a["markdown_text"])] if a.get("markdown_text") else []
        chunks = _maybe_json(a.get("chunks")) or []
        if not isinstance(chunks, list):
            raise _SlackError("invalid_chunks")
        for chunk in chunks:
            if not isinstance(chunk, dict) or "type" not in chunk:
                raise _SlackError("invalid_chunks")
            if chunk["type"] == "markdown_text":
                parts.append(str(chunk.get("text", "")))
        text = "".join(parts)
        if len(text) > self.max_stream_chunk_chars:
            raise _SlackError("msg_too_long")
        return text

    def _chat_start_stream(self, a: dict[str, Any]) -> dict[str, Any]:
        channel = _required(a, "channel", "channel_not_found")
        thread_ts = _required(a, "thread_ts", "invalid_arguments")
        if not channel.startswith("D"):
            for key in ("recipient_team_id", "recipient_user_id"):
                if not a.get(key):
                    raise _SlackError(f"missing_{key}")
        text = self._stream_text(a)
        msg = Message(
            channel=channel,
            ts=self.next_ts(),
            text=text,
            user=self.bot_user_id,
            bot_id=self.bot_id,
            thread_ts=thread_ts,
            stream_state="streaming",
            texts=[text],
        )
        self._channels[channel][msg.ts] = msg
        return {"channel": channel, "ts": msg.ts}

    def _streaming_message(self, a: dict[str, Any]) -> Message:
        channel = _required(a, "channel", "channel_not_found")
        msg = self._require_message(channel, _required(a, "ts", "message_not_found"))
        if msg.stream_state != "streaming":
            raise _SlackError("message_not_in_streaming_state")
        return msg

    def _append(self, msg: Message, text: str) -> None:
        if text:
            self._check_text(msg.text + text)
            msg.text += text
            msg.texts.append(msg.text)

    def _chat_append_stream(self, a: dict[str, Any]) -> dict[str, Any]:
        msg = self._streaming_message(a)
        if not a.get("markdown_text") and not a.get("chunks"):
            raise _SlackError("invalid_arguments")
        self._append(msg, self._stream_text(a))
        return {"channel": msg.channel, "ts": msg.ts}

    def _chat_stop_stream(self, a: dict[str, Any]) -> dict[str, Any]:
        msg = self._streaming_message(a)
        if a.get("blocks"):
            check_blocks(_maybe_json(a["blocks"]))
        self._append(msg, self._stream_text(a))
        if a.get("blocks"):
            msg.blocks = _maybe_json(a["blocks"])
        if (session := self.sessions.get((msg.channel, msg.thread_ts or ""))) and session.status == "processing":
            session.status = "active"  # stopStream moves the session out of processing
            session.statuses.append("active")
        if a.get("metadata"):
            msg.metadata = _maybe_json(a["metadata"])
        msg.stream_state = "completed"
        return {"channel": msg.channel, "ts": msg.ts, "message": msg.to_slack(self)}

    def _conversations_replies(self, a: dict[str, Any]) -> dict[str, Any]:
        channel = _required(a, "channel", "channel_not_found")
        self._check_member(channel)
        ts = _required(a, "ts", "thread_not_found")
        msgs = self.message_records(channel, ts, include_users=True)
        root = self.message(channel, ts)
        if root is not None and root.thread_ts not in (None, ts):  # a reply's ts: just that reply
            msgs = [root]
        if not msgs:
            raise _SlackError("thread_not_found")
        msgs = _ts_window(msgs, a)
        out = [m.to_slack(self) for m in msgs]
        replies = [m for m in msgs if m.ts != ts]
        for m in out:
            if m["ts"] == ts:
                m.update(
                    thread_ts=ts,
                    reply_count=len(replies),
                    reply_users=sorted({r.user for r in replies if r.user}),
                    reply_users_count=len({r.user for r in replies if r.user}),
                    latest_reply=replies[-1].ts if replies else ts,
                )
        return _paginate(out, a)

    def _conversations_history(self, a: dict[str, Any]) -> dict[str, Any]:
        channel = _required(a, "channel", "channel_not_found")
        self._check_member(channel)
        msgs = [m for m in self.message_records(channel, include_users=True) if m.thread_ts in (None, m.ts)]
        out = [m.to_slack(self) for m in reversed(_ts_window(msgs, a))]
        return _paginate(out, a)

    def _conversations_info(self, a: dict[str, Any]) -> dict[str, Any]:
        channel = _required(a, "channel", "channel_not_found")
        return {"channel": self._channel_info.get(channel) or self._default_channel(channel)}

    def _files_info(self, a: dict[str, Any]) -> dict[str, Any]:
        file_id = _required(a, "file", "file_not_found")
        if file_id not in self._files:
            raise _SlackError("file_not_found")
        return {"file": self._files[file_id][0], "comments": [], "response_metadata": {"next_cursor": ""}}

    def _users_info(self, a: dict[str, Any]) -> dict[str, Any]:
        user_id = _required(a, "user", "user_not_found")
        if user_id in self._users:
            return {"user": self._users[user_id]}
        if user_id == self.bot_user_id or user_id[:1] in ("U", "W"):
            return {"user": self._default_user(user_id)}
        raise _SlackError("user_not_found")

    def _reaction_list(self, a: dict[str, Any]) -> tuple[list[str], str]:
        # Kept apart from the message model: reacting to a user message the fake never saw is
        # still valid on Slack's side.
        channel = _required(a, "channel", "channel_not_found")
        ts = _required(a, "timestamp", "no_item_specified")
        return self._reactions[(channel, ts)], _required(a, "name", "invalid_name")

    def _reactions_add(self, a: dict[str, Any]) -> dict[str, Any]:
        names, name = self._reaction_list(a)
        if name in names:
            raise _SlackError("already_reacted")
        names.append(name)
        return {}

    def _reactions_remove(self, a: dict[str, Any]) -> dict[str, Any]:
        names, name = self._reaction_list(a)
        if name not in names:
            raise _SlackError("no_reaction")
        names.remove(name)
        return {}

    # -- AI surfaces, views, permalinks (fakes.slack_ai says what each requires) --------------

    def _check_member(self, channel: str) -> None:
        if channel in self.not_member:
            raise _SlackError("not_in_channel")

    def _assistant_set_status(self, a: dict[str, Any]) -> dict[str, Any]:
        channel = _required(a, "channel_id", "channel_not_found")
        thread_ts = _required(a, "thread_ts", "invalid_thread_ts")
        if "status" not in a:
            raise _SlackError("invalid_arguments")
        loading = _maybe_json(a.get("loading_messages")) or []
        if not isinstance(loading, list) or len(loading) > 10:
            raise _SlackError("invalid_arguments")
        self.statuses.append({"channel_id": channel, "thread_ts": thread_ts, "status": a["status"], "at": time.monotonic()})
        return {}

    def _assistant_set_prompts(self, a: dict[str, Any]) -> dict[str, Any]:
        channel = _required(a, "channel_id", "channel_not_found")
        prompts = _maybe_json(a.get("prompts"))
        if not isinstance(prompts, list) or not 1 <= len(prompts) <= 4:
            raise _SlackError("invalid_arguments")
        if any(not isinstance(p, dict) or not p.get("title") or not p.get("message") for p in prompts):
            raise _SlackError("invalid_arguments")
        self.suggested_prompts.append({**a, "prompts": prompts, "channel_id": channel})
        return {}

    def _assistant_set_title(self, a: dict[str, Any]) -> dict[str, Any]:
        channel = _required(a, "channel_id", "channel_not_found")
        thread_ts = _required(a, "thread_ts", "invalid_thread_ts")
        self.titles[(channel, thread_ts)] = _required(a, "title", "invalid_arguments")
        return {}

    def _agents_set_status(self, a: dict[str, Any]) -> dict[str, Any]:
        channel = _required(a, "channel_id", "channel_not_found")
        status = _required(a, "status", "invalid_arguments")
        if status not in SESSION_STATUSES:
            raise _SlackError("invalid_status")
        key = (channel, str(a.get("thread_ts") or ""))
        session = self.sessions.setdefault(key, Session(channel, key[1], status, str(a.get("title") or "")))
        session.status = status
        session.statuses.append(status)
        return {"status": status, "title": session.title}

    def _use_trigger(self, a: dict[str, Any]) -> None:
        trigger = _required(a, "trigger_id", "invalid_trigger_id")
        issued, used = self._triggers.get(trigger, (None, False))
        if issued is None:
            raise _SlackError("invalid_trigger_id")
        if used or time.monotonic() - issued > TRIGGER_SECONDS:
            raise _SlackError("expired_trigger_id")
        self._triggers[trigger] = (issued, True)

    def _views_open(self, a: dict[str, Any]) -> dict[str, Any]:
        view = _maybe_json(a.get("view"))
        check_view(view, "modal")
        self._use_trigger(a)
        opened = {**view, "id": self._next_id("V"), "team_id": self.team_id, "app_id": self.api_app_id}
        self.views.append(opened)
        return {"view": opened}

    def _views_publish(self, a: dict[str, Any]) -> dict[str, Any]:
        user = _required(a, "user_id", "user_not_found")
        view = _maybe_json(a.get("view"))
        check_view(view, "home")
        published = {**view, "id": self._next_id("V"), "team_id": self.team_id, "app_id": self.api_app_id}
        self.home_views[user] = published
        return {"view": published}

    def _chat_get_permalink(self, a: dict[str, Any]) -> dict[str, Any]:
        channel = _required(a, "channel", "channel_not_found")
        ts = _required(a, "message_ts", "message_not_found")
        self._require_message(channel, ts)
        return {"channel": channel, "permalink": self.permalink(channel, ts)}

    def permalink(self, channel: str, ts: str) -> str:
        return f"https://{self.team_domain}.slack.com/archives/{channel}/p{ts.replace('.', '')}"

    def _require_message(self, channel: str, ts: str) -> Message:
        msg = self.message(channel, ts)
        if msg is None or msg.deleted:
            raise _SlackError("message_not_found")
        return msg

    def _default_user(self, user_id: str) -> dict[str, Any]:
        is_bot = user_id == self.bot_user_id
        name = self.bot_name if is_bot else user_id.lower()
        profile = {
            "real_name": name,
            "real_name_normalized": name,
            "display_name": name,
            "display_name_normalized": name,
            "team": self.team_id,
            "image_72": f"https://avatars.slack-edge.com/{user_id}_72.png",
        }
        if is_bot:
            profile.update(bot_id=self.bot_id, api_app_id=self.api_app_id)
        return {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "deleted": False,
            "real_name": name,
            "tz": "Asia/Seoul",
            "tz_label": "Korea Standard Time",
            "tz_offset": 32400,
            "profile": profile,
            "is_admin": False,
            "is_owner": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": 1700000000,
        }

    def _default_channel(self, channel: str) -> dict[str, Any]:
        base = {"id": channel, "created": 1700000000, "is_org_shared": False, "context_team_id": self.team_id}
        if channel.startswith("D"):
            return {**base, "is_im": True, "user": "U0001", "is_user_deleted": False, "priority": 0}
        name = f"channel-{channel.lower()}"
        return {
            **base,
            "name": name,
            "name_normalized": name,
            "is_channel": channel.startswith("C"),
            "is_group": channel.startswith("G"),
            "is_im": False,
            "is_mpim": False,
            "is_private": channel.startswith("G"),
            "is_archived": False,
            "is_general": False,
            "is_member": True,
            "is_ext_shared": False,
            "is_shared": False,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
        }

    def bot_profile(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "app_id": self.api_app_id,
            "name": self.bot_name,
            "deleted": False,
            "team_id": self.team_id,
            "icons": {"image_48": "https://a.slack-edge.com/bot_48.png"},
        }

    # -- files --------------------------------------------------------------------------

    async def _file(self, request: web.Request) -> web.StreamResponse:
        team_file = request.match_info["team_file"]
        file_id = team_file.split("-", 1)[1] if "-" in team_file else team_file
        authorized = request.headers.get("Authorization") == f"Bearer {self.bot_token}"
        stored = self._files.get(file_id)
        dl = Download(file_id, request.path, authorized, 200, 0, time.monotonic(), headers=dict(request.headers))
        self.downloads.append(dl)
        try:
            return await self._serve_file(request, dl, stored)
        finally:
            dl.done = True

    async def _serve_file(
        self, request: web.Request, dl: Download, stored: tuple[dict[str, Any], bytes] | None
    ) -> web.StreamResponse:
        if not (dl.authorized and self.files_read_scope):  # Slack answers 200 with its sign-in page, not 401/403
            dl.bytes_sent, dl.completed = len(LOGIN_PAGE), True
            return web.Response(body=LOGIN_PAGE, content_type="text/html", charset="utf-8")
        if stored is None:
            dl.status = 404
            return web.Response(status=404, text="file not found")
        obj, content = stored
        dl.size = len(content)
        headers = {
            "Content-Type": obj["mimetype"],
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(obj['name'])}",
        }
        if obj["id"] not in self._chunked:
            headers["Content-Length"] = str(len(content))
        resp = web.StreamResponse(headers=headers)
        await resp.prepare(request)
        if request.method == "HEAD":
            dl.completed = True
            return resp
        # Written in chunks so a client that stops reading (size limit) leaves a partial record.
        try:
            for start in range(0, len(content), _CHUNK):
                chunk = content[start : start + _CHUNK]
                await resp.write(chunk)
                dl.bytes_sent += len(chunk)
            await resp.write_eof()
            dl.completed = True
        except (ConnectionError, aiohttp.ClientConnectionError):
            pass
        return resp

    # -- Socket Mode ------------------------------------------------------------------------

    async def _link(self, request: web.Request) -> web.StreamResponse:
        # autoping=True answers the client's pings with pongs, as Slack's servers do.
        ws = web.WebSocketResponse(autoping=True, heartbeat=None, timeout=1.0)
        await ws.prepare(request)
        self._sockets.append(ws)
        self.socket_connects += 1
        open_count = sum(not s.closed for s in self._sockets)
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": open_count,
                "debug_info": {"host": "applink-fake", "build_number": 1, "approximate_connection_time": 18060},
                "connection_info": {"app_id": self.api_app_id},
            }
        )
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                now = time.monotonic()
                try:
                    data = json.loads(msg.data)
                except ValueError:
                    self.socket_other.append(msg.data)
                    continue
                if isinstance(data, dict) and "envelope_id" in data:
                    eid = data["envelope_id"]
                    pushed = next((p for p in self.socket_pushes if p.envelope_id == eid), None)
                    latency = now - pushed.at if pushed else None
                    self.socket_acks.append(SocketAck(eid, data.get("payload"), data, now, latency))
                else:
                    self.socket_other.append(data)
        finally:
            self._sockets.remove(ws)
        return ws

    async def _send_socket(self, frame: dict[str, Any], timeout: float, connection: int | None = None) -> None:
        """Send down the newest open connection, or the ``connection``-th open one (0: the oldest)."""
        if connection is None:
            await self.wait_socket_connected(timeout)
        else:
            await self.wait_for(lambda: self.open_sockets > connection, timeout, what=f"connection {connection}")
        ws = [ws for ws in self._sockets if not ws.closed][-1 if connection is None else connection]
        await ws.send_str(json.dumps(frame, ensure_ascii=False))

    async def push_socket_event(
        self,
        payload: dict[str, Any],
        retry_attempt: int = 0,
        envelope_type: str = "events_api",
        *,
        retry_reason: str = "",
        accepts_response_payload: bool | None = None,
        envelope_id: str | None = None,
        timeout: float = 5.0,
        connection: int | None = None,
    ) -> str:
        """Send one envelope down the newest Socket Mode connection (or, with ``connection``, the
        open connection of that index, oldest first, as Slack spreads events over an app's
        connections); return its envelope_id.

        Waits (up to ``timeout``) for the app to be connected. ``events_api`` envelopes carry
        ``retry_attempt``/``retry_reason``; ``slash_commands`` / ``interactive`` ones accept a
        response payload, as on Slack.
        """
        eid = envelope_id or str(uuid.uuid4())
        if accepts_response_payload is None:
            accepts_response_payload = envelope_type != "events_api"
        envelope: dict[str, Any] = {
            "envelope_id": eid,
            "payload": payload,
            "type": envelope_type,
            "accepts_response_payload": accepts_response_payload,
        }
        if envelope_type == "events_api":
            envelope.update(retry_attempt=retry_attempt, retry_reason=retry_reason)
        self._record_delivered(payload)
        await self.wait_socket_connected(timeout)
        # Recorded before sending so an ack can never arrive ahead of its push record.
        self.socket_pushes.append(SocketPush(eid, envelope_type, envelope, time.monotonic()))
        await self._send_socket(envelope, timeout, connection)
        return eid

    async def disconnect_socket(self, reason: str = "refresh_requested", timeout: float = 5.0) -> None:
        """Send Slack's ``disconnect`` frame; slack_sdk then opens a new connection."""
        await self._send_socket({"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake"}}, timeout)

    async def drop_sockets(self) -> None:
        """Close every Socket Mode connection, as Slack does some seconds after a ``disconnect``
        frame or when a connection dies; slack_sdk then opens a new one."""
        for ws in list(self._sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"connection dropped")

    # -- HTTP mode ---------------------------------------------------------------------------

    async def send_http_event(
        self,
        app_url: str,
        payload: Mapping[str, Any],
        *,
        signing_secret: str | None = None,
        retry_num: int | None = None,
        retry_reason: str | None = None,
        timestamp: int | str | None = None,
        bad_signature: bool = False,
        form: bool = False,
        timeout: float = 10.0,
    ) -> HttpDelivery:
        """POST ``payload`` to the app as Slack does: JSON (``form=True``: urlencoded, as slash
        commands are) signed over the exact bytes sent, with the current timestamp unless given."""
        if form:
            body = urlencode({k: v if isinstance(v, str) else json.dumps(v) for k, v in payload.items()}).encode()
            ctype = "application/x-www-form-urlencoded"
        else:
            # A lone surrogate (text cut inside an emoji's UTF-16 pair) cannot be UTF-8: Slack's
            # JSON carries it as the escape \ud800, which backslashreplace writes.
            body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "backslashreplace")
            ctype = "application/json"
        ts = str(int(time.time()) if timestamp is None else timestamp)
        secret = signing_secret or self.signing_secret
        signature = SignatureVerifier(secret + ("x" if bad_signature else "")).generate_signature(
            timestamp=ts, body=body
        )
        headers = {
            "Content-Type": ctype,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature or "",
        }
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
        self._record_delivered(dict(payload))
        started = time.monotonic()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
            async with session.post(app_url, data=body, headers=headers) as resp:
                text = await resp.text()
                result = HttpDelivery(resp.status, text, dict(resp.headers), time.monotonic() - started)
        self.http_deliveries.append(result)
        return result

    async def _response_url(self, request: web.Request) -> web.StreamResponse:
        raw = await request.text()
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = raw
        self.response_url_posts.append(ResponseUrlPost(request.path, body, time.monotonic()))
        return web.json_response({"ok": True})

    def _record_delivered(self, payload: dict[str, Any]) -> None:
        """A delivered user message now exists on "Slack" (so conversations.replies sees it)."""
        event = payload.get("event") if payload.get("type") == "event_callback" else None
        if not isinstance(event, dict) or event.get("type") not in ("message", "app_mention"):
            return
        channel, subtype = event.get("channel"), event.get("subtype")
        if not channel:
            return
        if subtype == "message_changed":
            msg = self.message(channel, event["message"]["ts"])
            if msg is not None and msg.text != event["message"].get("text", ""):
                msg.text = event["message"].get("text", "")
                msg.texts.append(msg.text)
            return
        if subtype == "message_deleted":
            msg = self.message(channel, event.get("deleted_ts", ""))
            if msg is not None:
                msg.deleted = True
            return
        if event.get("ts") and event["ts"] not in self._channels[channel]:
            self._channels[channel][event["ts"]] = Message(
                channel=channel,
                ts=event["ts"],
                text=event.get("text", ""),
                user=event.get("user"),
                thread_ts=event.get("thread_ts"),
                bot_id=event.get("bot_id"),
                subtype=subtype,
                files=list(event.get("files") or []),
                texts=[event.get("text", "")],
            )

    # -- payload builders -------------------------------------------------------------------

    def event_callback(
        self, event: dict[str, Any], event_id: str | None = None, team_id: str | None = None
    ) -> dict[str, Any]:
        """Wrap an inner event the way the Events API delivers it (what bolt's authorize needs)."""
        team = team_id or self.team_id
        event_ts = event.get("event_ts") or event.get("ts") or self.next_ts()
        return {
            "token": self.verification_token,
            "team_id": team,
            "context_team_id": team,
            "context_enterprise_id": None,
            "api_app_id": self.api_app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or self._next_id("Ev"),
            "event_time": int(float(event_ts)),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": team,
                    "user_id": self.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-{uuid.uuid4().hex}",
        }

    def _user_event(
        self,
        type_: str,
        text: str,
        *,
        channel: str,
        user: str,
        ts: str | None,
        thread_ts: str | None,
        files: list[dict[str, Any]] | None,
    ) -> dict[str, Any]:
        ts = ts or self.next_ts()
        event: dict[str, Any] = {
            "type": type_,
            "user": user,
            "text": text,
            "ts": ts,
            "client_msg_id": str(uuid.uuid4()),
            "team": self.team_id,
            "blocks": [_rich_text_block(text)] if text else [],
            "channel": channel,
            "event_ts": ts,
        }
        if type_ == "message":
            event["channel_type"] = _channel_type(channel)
        if thread_ts:
            parent = self.message(channel, thread_ts)
            event.update(thread_ts=thread_ts, parent_user_id=parent.user if parent and parent.user else user)
        if files:
            event.update(files=files, upload=False, display_as_bot=False)
            if type_ == "message":
                event["subtype"] = "file_share"
        return event

    def mention(
        self,
        text: str,
        channel: str = "C0001",
        user: str = "U0001",
        ts: str | None = None,
        thread_ts: str | None = None,
        files: list[dict[str, Any]] | None = None,
        *,
        event_id: str | None = None,
    ) -> dict[str, Any]:
        """An ``app_mention`` event_callback. ``<@UBOT>`` is put in front unless the text has it."""
        tag = f"<@{self.bot_user_id}>"
        if tag not in text:
            text = f"{tag} {text}"
        event = self._user_event(
            "app_mention", text, channel=channel, user=user, ts=ts, thread_ts=thread_ts, files=files
        )
        return self.event_callback(event, event_id)

    def message_event(
        self,
        text: str,
        channel: str = "C0001",
        user: str = "U0001",
        ts: str | None = None,
        thread_ts: str | None = None,
        files: list[dict[str, Any]] | None = None,
        *,
        event_id: str | None = None,
    ) -> dict[str, Any]:
        """A user's ``message`` event_callback (``file_share`` subtype when ``files`` are given)."""
        event = self._user_event("message", text, channel=channel, user=user, ts=ts, thread_ts=thread_ts, files=files)
        return self.event_callback(event, event_id)

    def dm(
        self,
        text: str,
        user: str = "U0001",
        channel: str = "D0001",
        ts: str | None = None,
        thread_ts: str | None = None,
        files: list[dict[str, Any]] | None = None,
        *,
        event_id: str | None = None,
    ) -> dict[str, Any]:
        """A direct message to the bot (``channel_type: im``)."""
        return self.message_event(text, channel, user, ts, thread_ts, files, event_id=event_id)

    def thread_message(
        self,
        text: str,
        thread_ts: str,
        channel: str = "C0001",
        user: str = "U0001",
        ts: str | None = None,
        files: list[dict[str, Any]] | None = None,
        *,
        event_id: str | None = None,
    ) -> dict[str, Any]:
        """A user's reply in a thread, without mentioning the bot."""
        return self.message_event(text, channel, user, ts, thread_ts, files, event_id=event_id)

    def bot_message(
        self,
        text: str,
        channel: str = "C0001",
        ts: str | None = None,
        thread_ts: str | None = None,
        *,
        bot_id: str | None = None,
        event_id: str | None = None,
    ) -> dict[str, Any]:
        """A message posted by a bot. By default our own bot (``user: UBOT``, ``bot_id: BBOT``, no
        subtype: how Slack echoes the bot's own posts); with another ``bot_id``, a
        ``bot_message`` subtype event from that bot."""
        ts = ts or self.next_ts()
        event: dict[str, Any] = {"type": "message", "text": text, "ts": ts, "channel": channel, "event_ts": ts}
        if bot_id is None or bot_id == self.bot_id:
            event.update(
                user=self.bot_user_id, bot_id=self.bot_id, app_id=self.api_app_id, bot_profile=self.bot_profile()
            )
            event["team"] = self.team_id
        else:
            event.update(subtype="bot_message", bot_id=bot_id, username="other-bot")
        event["channel_type"] = _channel_type(channel)
        if thread_ts:
            event["thread_ts"] = thread_ts
        return self.event_callback(event, event_id)

    def message_changed(
        self,
        channel: str,
        ts: str,
        text: str,
        *,
        user: str | None = None,
        previous_text: str | None = None,
        event_id: str | None = None,
    ) -> dict[str, Any]:
        """A ``message_changed`` event for message ``ts`` (Slack sends one for each edit, the bot's
        own ``chat.update`` included). Defaults come from the fake's model of that message."""
        known = self.message(channel, ts)
        author = user or (known.user if known else self.bot_user_id) or self.bot_user_id
        event_ts = self.next_ts()
        new: dict[str, Any] = {"type": "message", "user": author, "text": text, "ts": ts}
        if author == self.bot_user_id:
            new.update(bot_id=self.bot_id, app_id=self.api_app_id)
        new["edited"] = {"user": author, "ts": event_ts}
        prev: dict[str, Any] = {"type": "message", "user": author, "ts": ts}
        prev["text"] = previous_text if previous_text is not None else (known.text if known else "")
        if known and known.thread_ts:
            new["thread_ts"] = prev["thread_ts"] = known.thread_ts
        event = {
            "type": "message",
            "subtype": "message_changed",
            "message": new,
            "previous_message": prev,
            "channel": channel,
            "hidden": True,
            "ts": event_ts,
            "event_ts": event_ts,
            "channel_type": _channel_type(channel),
        }
        return self.event_callback(event, event_id)

    def trigger(self) -> str:
        """A trigger_id as Slack puts in an interaction: good for one views.open within 3 s."""
        trigger, issued = new_trigger()
        self._triggers[trigger] = (issued, False)
        return trigger

    def assistant_thread_started(
        self, channel: str = "D0001", user: str = "U0001", *, context_channel: str | None = "C0001"
    ) -> dict[str, Any]:
        """The event of a user opening a new thread with the app in its AI container."""
        thread_ts = self.next_ts()
        context = {"channel_id": context_channel, "team_id": self.team_id, "enterprise_id": None} if context_channel else {}
        event = {
            "type": "assistant_thread_started",
            "assistant_thread": {"user_id": user, "context": context, "channel_id": channel, "thread_ts": thread_ts},
            "event_ts": self.next_ts(),
        }
        return self.event_callback(event)

    def agent_session_stopped(self, channel: str, thread_ts: str, user: str = "U0001") -> dict[str, Any]:
        """The user pressed the native stop button of the agent session in a thread: the event
        Slack sends, with the bot's streams there stopped (as Slack does) and listed."""
        session = self.sessions.get((channel, thread_ts))
        assert session is not None and session.status == "processing", "Slack shows stop only while processing"
        streams = [m for m in self.message_records(channel, thread_ts) if m.stream_state == "streaming"]
        for msg in streams:
            msg.stream_state = "completed"
        event = {
            "type": "agent_session_stopped", "channel": channel, "thread_ts": thread_ts, "user": user,
            "streaming_message_ts": [m.ts for m in streams], "event_ts": self.next_ts(),
        }  # fmt: skip
        return self.event_callback(event)

    def app_home_opened(self, user: str = "U0001") -> dict[str, Any]:
        event = {"type": "app_home_opened", "user": user, "channel": f"D{user[1:]}", "tab": "home",
                 "event_ts": self.next_ts()}  # fmt: skip
        return self.event_callback(event)

    def _interaction(self, kind: str, user: str, **fields: Any) -> dict[str, Any]:
        return {
            "type": kind, "token": self.verification_token, "api_app_id": self.api_app_id,
            "team": {"id": self.team_id, "domain": self.team_domain}, "is_enterprise_install": False,
            "enterprise": None, "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": self.team_id},
            "trigger_id": self.trigger(), **fields,
        }  # fmt: skip

    def block_action(self, channel: str, ts: str, action_id: str, value: str, user: str = "U0001") -> dict[str, Any]:
        """A click on an element of the bot's message `ts` (a button, a feedback button)."""
        msg = self.message(channel, ts)
        assert msg is not None and msg.blocks, "a click needs a message with blocks"
        element = _element(msg.blocks, action_id)
        assert element is not None, f"no element {action_id} in the message"
        action: dict[str, Any] = {"action_id": action_id, "block_id": element[0], "type": element[1]["type"],
                                  "value": value, "action_ts": self.next_ts()}  # fmt: skip
        if element[1]["type"] == "feedback_buttons":
            side = next(b for b in ("positive_button", "negative_button") if element[1][b]["value"] == value)
            action["text"] = element[1][side]["text"]
        elif element[1].get("value") != value:
            raise AssertionError("the value is not the button's")
        container = {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False}
        if msg.thread_ts:
            container["thread_ts"] = msg.thread_ts
        return self._interaction(
            "block_actions", user, container=container, channel={"id": channel, "name": f"channel-{channel.lower()}"},
            message=msg.to_slack(self), state={"values": {}}, response_url=f"{self.base_url}/actions/{uuid.uuid4().hex}",
            actions=[action],
        )  # fmt: skip

    def view_submission(self, view: dict[str, Any], values: dict[str, dict[str, Any]], user: str = "U0001") -> dict[str, Any]:
        """The user submitted modal `view` (as views.open answered it) with `values` ({block_id:
        {action_id: {"type": ..., "value": ...}}})."""
        submitted = {**view, "state": {"values": values}, "hash": uuid.uuid4().hex[:12]}
        return self._interaction("view_submission", user, view=submitted, response_urls=[])

    def message_shortcut(self, callback_id: str, channel: str, ts: str, user: str = "U0001") -> dict[str, Any]:
        """A message shortcut (the message's ⋮ menu) on message `ts`."""
        msg = self.message(channel, ts)
        assert msg is not None, "a shortcut needs a message"
        return self._interaction(
            "message_action", user, callback_id=callback_id, message_ts=ts, message=msg.to_slack(self),
            channel={"id": channel, "name": f"channel-{channel.lower()}"},
            response_url=f"{self.base_url}/actions/{uuid.uuid4().hex}", action_ts=self.next_ts(),
        )  # fmt: skip

    def slash_command(
        self,
        command: str,
        text: str = "",
        *,
        user: str = "U0001",
        channel: str = "C0001",
    ) -> dict[str, str]:
        """A slash command payload (send with ``push_socket_event(..., envelope_type="slash_commands")``
        or ``send_http_event(..., form=True)``). Its ``response_url`` points at the fake."""
        n = self._next_id("")
        return {
            "token": self.verification_token,
            "team_id": self.team_id,
            "team_domain": self.team_domain,
            "channel_id": channel,
            "channel_name": "directmessage" if channel.startswith("D") else f"channel-{channel.lower()}",
            "user_id": user,
            "user_name": user.lower(),
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
            "response_url": f"{self.base_url}/commands/{self.team_id}/{n}/{uuid.uuid4().hex}",
            "trigger_id": f"{n}.{uuid.uuid4().hex}",
        }


# ----------------------------------------------------------------------------- helpers


def _ts_key(ts: str) -> tuple[int, int]:
    sec, _, micro = ts.partition(".")
    return int(sec or 0), int((micro or "0").ljust(6, "0")[:6])


def _required(a: dict[str, Any], key: str, error: str) -> str:
    value = a.get(key)
    if not value:
        raise _SlackError(error)
    return str(value)


def _maybe_json(value: Any) -> Any:
    """Form-encoded calls carry blocks/chunks/metadata as JSON strings."""
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            raise _SlackError("invalid_arguments") from None
    return value


def _ts_window(msgs: list[Message], a: dict[str, Any]) -> list[Message]:
    inclusive = str(a.get("inclusive", "")).lower() in ("1", "true")
    if a.get("oldest"):
        lo = _ts_key(str(a["oldest"]))
        msgs = [m for m in msgs if _ts_key(m.ts) > lo or (inclusive and _ts_key(m.ts) == lo)]
    if a.get("latest"):
        hi = _ts_key(str(a["latest"]))
        msgs = [m for m in msgs if _ts_key(m.ts) < hi or (inclusive and _ts_key(m.ts) == hi)]
    return msgs


def _paginate(items: list[dict[str, Any]], a: dict[str, Any]) -> dict[str, Any]:
    start = int(a.get("cursor") or 0)
    limit = int(a.get("limit") or 1000)
    page, more = items[start : start + limit], start + limit < len(items)
    return {
        "messages": page,
        "has_more": more,
        "response_metadata": {"next_cursor": str(start + limit) if more else ""},
    }


def _element(blocks: list[Any], action_id: str) -> tuple[str, dict[str, Any]] | None:
    """(block_id, element) of the interactive element `action_id` in `blocks`."""
    for block in blocks:
        for element in block.get("elements") or ():
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return str(block.get("block_id") or "b"), element
    return None


def _channel_type(channel: str) -> str:
    return {"D": "im", "G": "group"}.get(channel[:1], "channel")


def _rich_text_block(text: str) -> dict[str, Any]:
    return {
        "type": "rich_text",
        "block_id": uuid.uuid4().hex[:5],
        "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}],
    }


@contextlib.asynccontextmanager
async def serve_web_app(app: web.Application) -> AsyncIterator[str]:
    """Run an aiohttp app (e.g. bolt's ``app.web_app()``) on 127.0.0.1:0; yields its base URL."""
    runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()
