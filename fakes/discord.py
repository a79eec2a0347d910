"""A local fake Discord (REST API + gateway) that a real discord.py client talks to over sockets.

    async with running_fake_discord() as fake:          # started, discord.py pointed at it
        client = discord.Client(intents=intents, guild_ready_timeout=0.01)
        tree = app_commands.CommandTree(client)             # ... commands, copy_global_to(guild)
        async with fake.running(client):                    # login, connect, on_ready; close
            await tree.sync(guild=discord.Object(fake.guild_id))
            inter = fake.interaction_create("ping", {}, user_id=5)
            await fake.dispatch("INTERACTION_CREATE", inter)
            await fake.wait_for(lambda: len(fake.interaction_responses(inter)) >= 2)

Only the far end of the wire is fake. What it checks because discord.py (2.7) or Discord does:
- JSON answers carry `Content-Type: application/json` exactly: discord.py parses nothing else.
- 429 answers carry `Via`: without it discord.py takes a 429 for a Cloudflare ban and raises.
- Interaction callbacks are answered as with `?with_response=1` (discord.py always asks): a JSON
  body with `interaction.id` and the created message under `resource.message`.
- After a deferred (type 5) callback, the first follow-up replaces the "thinking..." message (same
  message id), as Discord does; later follow-ups are new messages.
- A callback later than `interaction_deadline` (3 s) gets 404 Unknown interaction (10062).
- A follow-up or webhook edit later than `interaction_token_lifetime` (15 min) gets 401 Invalid
  Webhook Token (50027).
- Rate limits as Discord's "Rate Limits" page documents them: every authenticated request outside
  the interaction endpoints (callback, follow-ups and their edits, which "are not bound to the
  bot's Global Rate Limit") counts against `global_limit` a second; over it, 429 with
  `"global": true`, `X-RateLimit-Global: true`, `X-RateLimit-Scope: global` and `Retry-After`.
  Message edits and message creation are limited per route bucket (a channel's messages; an
  interaction's webhook), each 5 per 5 s unless `enforce_edit_rate` / `enforce_create_rate` say
  otherwise, and every response of those routes carries the bucket's
  `X-RateLimit-Limit/Remaining/Reset/Reset-After/Bucket`, which discord.py reads to wait before a
  bucket runs dry (http.py, `Ratelimit.update`): a window that refills whole at its reset, as
  discord.py expects. Over it: 429 with `"global": false`, `retry_after` and
  `X-RateLimit-Scope: user`. Discord publishes no numbers ("rate limits should not be hard
  coded", discord.com/developers/docs/topics/rate-limits); 5 per 5 s is what its headers are
  observed to say for `POST /channels/{id}/messages` and its edits, per channel
  (discord/discord-api-docs#2761: "POST-/channels/:channelId/messages and
  PATCH-/channels/:channelId/messages/:messageId's bucket hashes of 5/5"; bots log "Limit: 5,
  Method: POST, .../channels/{id}/messages, Global: false" with about 4.4 s to wait,
  alexemanuelol/rustplusplus#475), and for a webhook's (an interaction's follow-ups:
  `POST /webhooks/{id}/{token}`, bucketed by webhook and token, the "normal 5/5s" of
  discord/discord-api-docs#4043). The webhooks' hidden 30 a minute per channel is not modelled.
- discord.py asks for gateway compression (`compress=zstd-stream` when `zstandard` is importable,
  else `zlib-stream`); the fake honours it with one shared compressor per connection.
- Gateway events obey the identified intents: no MESSAGE_CREATE without GUILD_MESSAGES /
  DIRECT_MESSAGES, and message content is blanked without MESSAGE_CONTENT (except DMs, messages
  that mention the bot and the bot's own), as Discord does.
- Messages the bot creates or edits are echoed as MESSAGE_CREATE / MESSAGE_UPDATE (`echo=True`):
  an adapter must ignore its own messages.
- Attachment URLs carry signed-CDN style `ex/is/hm` query parameters; without `hm` the file is 404.
- Interactions: slash and message-menu commands (type 2, a menu's message under
  `resolved.messages`), button presses (type 3, only for a custom_id the message carries) and
  modal submits (type 5, only for a modal a MODAL callback opened); each interaction type takes
  only its callback types (UPDATE_MESSAGE 7 answers a component, not a command). One in a server
  the bot is not in comes from the user's own install (`authorizing_integration_owners` {"1": user})
  and the bot's own REST calls there are refused (50001 Missing Access).
- Components, modals and command registrations are checked as Discord documents them (5 rows of
  5 buttons, custom_id 1-100 characters and unique, labels up to 80; slash names lower case,
  menus without descriptions, at most 15 message menus; integration_types in {0, 1}, contexts in
  {0, 1, 2}): 400 Invalid Form Body (50035) naming the field.
- GET /channels/{id}/messages pages as Discord does (limit 1-100, one of before/after/around,
  newest first); POST .../messages/{id}/threads opens a thread with the message's id (name 1-100
  characters, one thread per message: 160004; not in a thread: 50024).
- A connection that IDENTIFYs with `shard: [i, n]` gets only its guilds (READY, GUILD_CREATE) and
  their events, a guild's shard being `(guild_id >> 22) % n`; events without a guild (DMs) go to
  shard 0. Unsharded connections get everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import fnmatch
import json
import math
import mimetypes
import re
import secrets
import time
import uuid
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import yarl
from aiohttp import WSMsgType, web

try:  # discord.py picks zstd-stream when zstandard is importable; mirror that choice
    import zstandard
except ImportError:  # pragma: no cover - depends on the environment
    zstandard = None  # type: ignore[assignment]

JSON = dict[str, Any]

DISCORD_EPOCH_MS = 1420070400000
API_VERSION = 10
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024
MESSAGE_LIMIT = 2000

# Intents (bits) the gateway gates events on.
GUILD_MEMBERS, GUILD_PRESENCES = 1 << 1, 1 << 8
GUILD_MESSAGES, DIRECT_MESSAGES, MESSAGE_CONTENT = 1 << 9, 1 << 12, 1 << 15
PRIVILEGED = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT

# Message flags.
SUPPRESS_EMBEDS, EPHEMERAL, LOADING = 1 << 2, 1 << 6, 1 << 7

# What the bot (and ordinary members) may do in a channel: view, send, embed, attach, history,
# reactions, app commands, threads.
MANAGE_GUILD = 1 << 5  # "Manage Server"
DEFAULT_PERMISSIONS = (
    (1 << 6) | (1 << 10) | (1 << 11) | (1 << 14) | (1 << 15) | (1 << 16) | (1 << 31) | (1 << 38)
)


# --------------------------------------------------------------------------- records

@dataclass
class UploadedFile:
    field: str  # multipart field name, e.g. "files[0]"
    filename: str
    content_type: str
    data: bytes


@dataclass
class Recorded:
    """One REST request as received, and how the fake answered it."""

    method: str
    path: str  # below the API root, e.g. "/channels/200/messages"
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes  # raw body; empty for multipart (see `json` and `files`)
    json: Any  # parsed JSON body, or the `payload_json` part of a multipart body
    files: list[UploadedFile]
    time: float  # time.monotonic() on arrival
    kind: str = "other"  # callback | followup | edit | delete | get | message | commands | ...
    status: int = 0
    response: Any = None
    response_headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass
class Edit:
    time: float  # time.monotonic() when the edit landed
    channel_id: int
    message_id: int
    content: str


@dataclass
class Download:
    attachment_id: int
    filename: str
    bytes_sent: int
    time: float
    headers: dict[str, str]


@dataclass
class StoredFile:
    id: int
    filename: str
    content_type: str
    data: bytes
    channel_id: int
    object: JSON  # the attachment object Discord would return


@dataclass
class _Bucket:
    """A rate limit window that refills whole `per` seconds after its first request."""

    per: float
    count: int = 0
    resets: float = -math.inf  # time.monotonic() when it refills

    def take(self, now: float, limit: int) -> float:
        """Count one request if the window has room: 0.0; else the seconds until it refills."""
        if now >= self.resets:
            self.count, self.resets = 0, now + self.per
        if self.count >= limit:
            return self.resets - now
        self.count += 1
        return 0.0


@dataclass
class _Rule:
    pattern: str
    times: int
    status: int
    body: JSON
    headers: dict[str, str]


@dataclass
class _Interaction:
    id: int
    token: str
    type: int
    channel_id: int
    guild_id: int | None
    user: JSON
    created: float  # when it was dispatched: the 3 s to answer count from here
    made: float  # when Discord made it (the time in its id): the token's 15 minutes count from here
    acked: bool = False
    original_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    command_type: int | None = None  # data.type of a command: 1 slash, 3 message context menu
    message_id: int | None = None  # a component's: the message it sits on
    thinking: bool = False  # deferred with type 5 and no follow-up or edit yet


@dataclass
class _Conn:
    ws: web.WebSocketResponse
    query: dict[str, str]
    compress: Callable[[bytes], bytes] | None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    seq: int = 0
    intents: int = 0
    session_id: str | None = None
    ready: bool = False
    shard: list[int] | None = None  # [shard_id, shard_count] from IDENTIFY


def _compressor(kind: str | None) -> Callable[[bytes], bytes] | None:
    """One shared compression context per connection: the client keeps one decompressor."""
    if kind == "zstd-stream":
        if zstandard is None:
            raise RuntimeError("client asked for zstd-stream but zstandard is not importable")
        zobj = zstandard.ZstdCompressor().compressobj()
        return lambda b: zobj.compress(b) + zobj.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
    if kind == "zlib-stream":
        zl = zlib.compressobj()
        # Z_SYNC_FLUSH ends every message with 00 00 ff ff, which discord.py waits for.
        return lambda b: zl.compress(b) + zl.flush(zlib.Z_SYNC_FLUSH)
    return None


def _now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat()


def _iso(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.timezone.utc).isoformat()


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


# --------------------------------------------------------------------------- the fake

class FakeDiscord:
    """Fake Discord on 127.0.0.1 (random port). Start with `async with` or `start()`/`stop()`."""

    def __init__(
        self,
        *,
        token: str | None = "fake-bot-token",
        bot_id: int = 1000,
        app_id: int | None = None,
        bot_name: str = "llm-bot",
        guild_id: int = 100,
        channel_id: int = 200,
        guild_name: str = "테스트 서버",
        channel_name: str = "general",
        heartbeat_interval: float = 41.25,
        interaction_deadline: float = 3.0,
        interaction_token_lifetime: float = 15 * 60,
        privileged_intents: bool = True,
        echo: bool = True,
    ) -> None:
        self.token = token  # None: accept any token
        self.bot_id = bot_id
        self.app_id = app_id if app_id is not None else bot_id
        self.guild_id = guild_id
        self.channel_id = channel_id
        self.heartbeat_interval = heartbeat_interval
        self.interaction_deadline = interaction_deadline
        # An interaction token allows follow-ups and edits for 15 minutes; then 401 (50027).
        self.interaction_token_lifetime = interaction_token_lifetime
        self.privileged_intents = privileged_intents  # False: IDENTIFY with them is closed 4014
        self.echo = echo
        self.port = 0

        # Recordings.
        self.requests: list[Recorded] = []
        self.edits: list[Edit] = []
        self.downloads: list[Download] = []
        self.gateway_connects: list[dict[str, str]] = []  # query params of each connection
        self.gateway_received: list[JSON] = []  # every payload the client sent
        self.gateway_sent: list[JSON] = []  # every payload sent (before compression)
        self.identify: JSON | None = None  # last IDENTIFY `d`
        self.identifies: list[JSON] = []  # every IDENTIFY `d`, in order
        # Discord takes one IDENTIFY per 5 s per `max_concurrency` bucket (shard_id % it); one
        # sooner is answered with INVALID_SESSION (op 9) and counted here.
        self.max_concurrency = 1
        self.identify_interval = 5.0
        self.identified_at: dict[int, float] = {}
        self.identifies_too_soon = 0
        self.commands: dict[int | None, list[JSON]] = {}  # guild id (None: global) -> last sync
        self.modals: list[JSON] = []  # every modal a MODAL (9) callback opened, with its channel

        # World state.
        self.users: dict[int, JSON] = {}
        self.guilds: dict[int, JSON] = {}  # id -> {"id", "name", "channels": {id: obj}, "members"}
        self.channels: dict[int, JSON] = {}  # every channel object, guild and DM
        self.files: dict[int, StoredFile] = {}
        self._messages: dict[int, JSON] = {}  # insertion ordered = creation ordered
        self._interactions: dict[str, _Interaction] = {}  # by token
        self._command_ids: dict[tuple[int | None, str, int], int] = {}
        self._rules: list[_Rule] = []
        # Discord's limits (see the module's docstring); None: not enforced.
        self.global_limit: int | None = 50  # requests a second
        self._global = _Bucket(1.0)
        # Route buckets, by route ("edit", "create"): (requests, per seconds) each, counted per
        # channel or interaction webhook.
        self._route_limits: dict[str, tuple[int, float] | None] = {"edit": (5, 5.0), "create": (5, 5.0)}
        self._route_buckets: dict[tuple[str, ...], _Bucket] = {}
        self._conns: list[_Conn] = []
        self._sessions: dict[str, int] = {}  # session id -> last sequence (for RESUME)
        self._session_shards: dict[str, list[int] | None] = {}
        self._ready = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._outbox: list[tuple[str, JSON]] = []  # echoes of the request being answered
        self._seq_id = 0
        self._runner: web.AppRunner | None = None

        self.add_user(bot_id, bot_name, bot=True)
        self.add_guild(guild_id, guild_name, channels={channel_id: channel_name})

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> FakeDiscord:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> FakeDiscord:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gw", self._gateway)
        app.router.add_get("/gw/", self._gateway)
        app.router.add_get("/attachments/{cid}/{aid}/{name}", self._attachment)
        app.router.add_get("/media/attachments/{cid}/{aid}/{name}", self._attachment)
        app.router.add_route("*", f"/api/v{API_VERSION}/{{tail:.*}}", self._api)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for conn in list(self._conns):
            with contextlib.suppress(Exception):
                await conn.ws.close(code=1001)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """Value for `DISCORD_API_URL` / `discord.http.Route.BASE`."""
        return f"{self.base_url}/api/v{API_VERSION}"

    @property
    def gateway_url(self) -> str:
        """Value for `DISCORD_GATEWAY_URL` / `DiscordWebSocket.DEFAULT_GATEWAY` (a yarl.URL)."""
        return f"ws://127.0.0.1:{self.port}/gw"

    def patched(self) -> contextlib.AbstractContextManager[None]:
        """Point discord.py at this fake for the duration of the `with` block."""
        return use_endpoints(self.api_url, self.gateway_url)

    @contextlib.asynccontextmanager
    async def running(self, client: Any, *, timeout: float = 5.0) -> AsyncIterator[Any]:
        """Log a discord.py Client in, connect it and wait for on_ready; close it afterwards."""
        await client.login(self.token or "any-token")
        task = asyncio.create_task(client.connect(reconnect=False))
        try:
            await asyncio.wait_for(client.wait_until_ready(), timeout)
            yield client
        finally:
            await client.close()
            await asyncio.wait_for(task, timeout)

    # ------------------------------------------------------------------ world building

    def snowflake(self, ago: float = 0.0) -> int:
        """A fresh snowflake built from the current time (less `ago` seconds), like Discord's."""
        self._seq_id += 1
        ms = int((time.time() - ago) * 1000) - DISCORD_EPOCH_MS
        return (ms << 22) | (self._seq_id & 0x3FFFFF)

    def add_user(self, user_id: int, name: str | None = None, *, bot: bool = False) -> JSON:
        user = {
            "id": str(user_id), "username": name or f"user{user_id}", "global_name": name,
            "discriminator": "0", "avatar": None, "bot": bot, "public_flags": 0, "flags": 0,
        }
        self.users[user_id] = user
        return user

    def user(self, user_id: int) -> JSON:
        return self.users.get(user_id) or self.add_user(user_id)

    def member(self, user_id: int, *, with_user: bool = True) -> JSON:
        m: JSON = {
            "roles": [], "joined_at": "2024-01-01T00:00:00+00:00", "deaf": False, "mute": False,
            "flags": 0, "pending": False, "nick": None, "avatar": None,
            "communication_disabled_until": None, "premium_since": None,
        }
        if with_user:
            m["user"] = self.user(user_id)
        return m

    def add_guild(
        self, guild_id: int, name: str = "guild", *, channels: dict[int, str] | None = None,
        members: list[int] | None = None,
    ) -> JSON:
        """A guild with text channels; sent as GUILD_CREATE after READY (or now, if connected)."""
        guild: JSON = {"id": guild_id, "name": name, "channels": {}, "members": {self.bot_id}}
        self.guilds[guild_id] = guild
        for pos, (cid, cname) in enumerate((channels or {}).items()):
            ch = {
                "id": str(cid), "type": 0, "guild_id": str(guild_id), "name": cname,
                "position": pos, "permission_overwrites": [], "nsfw": False, "parent_id": None,
                "topic": None, "last_message_id": None, "rate_limit_per_user": 0, "flags": 0,
            }
            guild["channels"][cid] = ch
            self.channels[cid] = ch
        guild["members"].update(members or [])
        if any(c.ready for c in self._conns):
            self._spawn(self.dispatch("GUILD_CREATE", self._guild_create(guild)))
        return guild

    def dm_channel(self, user_id: int) -> int:
        """The DM channel (type 1) between the bot and `user_id`, created on first use."""
        for cid, ch in self.channels.items():
            if ch["type"] == 1 and ch["recipients"][0]["id"] == str(user_id):
                return cid
        cid = self.snowflake()
        self.channels[cid] = {
            "id": str(cid), "type": 1, "last_message_id": None, "flags": 0,
            "recipients": [self.user(user_id)],
        }
        return cid

    def add_attachment(
        self, content: bytes, filename: str, content_type: str = "application/octet-stream",
        *, channel_id: int | None = None,
    ) -> JSON:
        """Store a file; return its attachment object, with URLs that point at this fake."""
        return self._store_file(content, filename, content_type, channel_id or 0).object

    def _store_file(
        self, data: bytes, filename: str, content_type: str | None, channel_id: int,
        description: str | None = None,
    ) -> StoredFile:
        aid = self.snowflake()
        ctype = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        now = int(time.time())
        # Discord's CDN links are signed (ex/is/hm); an adapter must keep the query string.
        sig = f"?ex={now + 86400:x}&is={now:x}&hm={secrets.token_hex(16)}&"
        path = f"/attachments/{channel_id}/{aid}/{quote(filename)}{sig}"
        obj: JSON = {
            "id": str(aid), "filename": filename, "size": len(data), "url": self.base_url + path,
            "proxy_url": f"{self.base_url}/media{path}", "content_type": ctype,
            "width": None, "height": None, "ephemeral": False, "flags": 0,
        }
        if description:
            obj["description"] = description
        stored = StoredFile(aid, filename, ctype, data, channel_id, obj)
        self.files[aid] = stored
        return stored

    # ------------------------------------------------------------------ scripting

    def rate_limit_next(
        self, route_pattern: str, retry_after: float = 0.3, times: int = 1, *,
        global_: bool = False,
    ) -> None:
        """Answer the next `times` requests matching `route_pattern` with 429.

        The pattern is an fnmatch glob on "METHOD /path" (path below /api/v10), or on the path
        alone when it has no space: "PATCH /channels/*/messages/*", "/webhooks/*".
        """
        self._rules.append(_Rule(route_pattern, times, 429, *_rate_limited(retry_after, global_)))

    def fail_next(
        self, route_pattern: str, status: int = 403, code: int = 50013,
        message: str = "Missing Permissions", times: int = 1,
    ) -> None:
        """Answer the next `times` matching requests with an error (discord.py retries 500/502/504
        itself after 1 s, 3 s, ...; prefer 503 or 4xx in fast tests)."""
        self._rules.append(_Rule(route_pattern, times, status, {"message": message, "code": code}, {}))

    def enforce_edit_rate(self, limit: int | None = 5, per: float = 5.0) -> None:
        """Allow `limit` edits per `per` s in each edit bucket (a channel's messages, an
        interaction's webhook); more get 429 (None: no limit)."""
        self._limit_route("edit", limit, per)

    def enforce_create_rate(self, limit: int | None = 5, per: float = 5.0) -> None:
        """Allow `limit` new messages per `per` s in each channel (`POST /channels/{id}/messages`)
        and each interaction's webhook (its follow-ups); more get 429 (None: no limit)."""
        self._limit_route("create", limit, per)

    def _limit_route(self, route: str, limit: int | None, per: float) -> None:
        self._route_limits[route] = None if limit is None else (limit, per)
        self._route_buckets = {k: b for k, b in self._route_buckets.items() if k[0] != route}

    # ------------------------------------------------------------------ queries

    def messages(self, channel_id: int) -> list[JSON]:
        """Current message objects in a channel, oldest first (deleted ones are gone)."""
        return [m for m in self._messages.values() if m["channel_id"] == str(channel_id)]

    def channel_messages(self, channel_id: int, *, from_bot: bool = True) -> list[str]:
        """Final contents (after edits) in a channel, oldest first; the bot's only by default."""
        return [
            m["content"] for m in self.messages(channel_id)
            if not from_bot or m["author"]["id"] == str(self.bot_id)
        ]

    def message(self, message_id: int | str) -> JSON | None:
        return self._messages.get(int(message_id))

    def interaction_responses(self, interaction: int | str | JSON) -> list[Recorded]:
        """Landed callback, follow-up, edit and delete requests for one interaction, in order."""
        it = self._find_interaction(interaction)
        if it is None:
            return []
        cb = f"/interactions/{it.id}/{it.token}/"
        hook = f"/webhooks/{self.app_id}/{it.token}"
        return [
            r for r in self.requests
            if r.ok and r.method != "GET" and (r.path.startswith(cb) or r.path.startswith(hook))
        ]

    def original_response(self, interaction: int | str | JSON) -> JSON | None:
        it = self._find_interaction(interaction)
        return self._messages.get(it.original_id) if it and it.original_id else None

    def interaction_messages(self, interaction: int | str | JSON) -> list[JSON]:
        """The messages an interaction's answer made (its original response, then its
        follow-ups), as they are now; deleted ones are gone."""
        it = self._find_interaction(interaction)
        ids = [] if it is None else [i for i in [it.original_id, *it.followup_ids] if i is not None]
        return [self._messages[i] for i in ids if i in self._messages]

    def command_id(self, name: str, guild_id: int | None = None, type: int = 1) -> int | None:
        return self._command_ids.get((guild_id, name, type))

    def requests_to(self, pattern: str) -> list[Recorded]:
        """Recorded requests whose "METHOD /path" (or path) matches an fnmatch glob."""
        return [r for r in self.requests if _matches(pattern, r.method, r.path)]

    def max_edits_in_window(self, channel_id: int, per: float = 5.0) -> int:
        """The most edits that landed in `channel_id` within any `per`-second window."""
        times = sorted(e.time for e in self.edits if e.channel_id == channel_id)
        best, j = 0, 0
        for i, t in enumerate(times):
            while times[j] <= t - per:
                j += 1
            best = max(best, i - j + 1)
        return best

    def assert_edit_rate(self, limit: int = 5, per: float = 5.0) -> None:
        """Fail if any channel got more than `limit` edits within `per` seconds."""
        for cid in {e.channel_id for e in self.edits}:
            n = self.max_edits_in_window(cid, per)
            assert n <= limit, f"{n} edits within {per}s in channel {cid} (limit {limit})"

    @property
    def intents(self) -> int | None:
        return None if self.identify is None else self.identify.get("intents")

    @property
    def ready_shards(self) -> list[list[int] | None]:
        """The shard of each READY connection (None: unsharded)."""
        return [c.shard for c in self._conns if c.ready]

    async def wait_ready(self, timeout: float = 5.0) -> None:
        """Until a client has IDENTIFYed and got READY and the GUILD_CREATEs."""
        await asyncio.wait_for(self._ready.wait(), timeout)

    async def wait_for(
        self, predicate: Callable[[], Any], timeout: float = 5.0, interval: float = 0.01,
    ) -> Any:
        """Poll `predicate` until it returns something truthy (returned); TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met within {timeout}s")
            await asyncio.sleep(interval)

    # ------------------------------------------------------------------ gateway events

    async def dispatch(self, event: str, data: JSON, *, timeout: float = 5.0) -> int:
        """Send a DISPATCH (op 0) to every READY connection whose intents and shard allow it.

        Returns how many connections got it (0 when the intents filtered it out).
        """
        await self.wait_ready(timeout)
        if event == "INTERACTION_CREATE":
            it = self._interactions.get(data.get("token", ""))
            if it is not None:
                it.created = time.monotonic()  # the 3 s to answer start now
        sent = 0
        for conn in [c for c in self._conns if c.ready and _on_shard(c.shard, _guild_of(event, data))]:
            payload = self._gate(conn.intents, event, data)
            if payload is not None:
                await self._send_dispatch(conn, event, payload)
                sent += 1
        return sent

    async def disconnect_gateway(self, code: int = 4000) -> None:
        """Close every gateway connection (4000: the client reconnects and RESUMEs)."""
        self._ready.clear()
        for conn in list(self._conns):
            await conn.ws.close(code=code, message=b"fake: disconnect")

    def interaction_create(
        self, command_name: str, options: dict[str, Any] | None = None, *, user_id: int = 5,
        guild_id: int | None = None, channel_id: int | None = None,
        attachment: JSON | None = None, locale: str = "ko", made_ago: float = 0.0,
        permissions: int = DEFAULT_PERMISSIONS,
    ) -> JSON:
        """An APPLICATION_COMMAND (type 2) INTERACTION_CREATE payload, as Discord sends it.

        `made_ago`: Discord made it that many seconds ago (its id says so, and its token's 15
        minutes count from then), a way to reach the token's end without waiting 15 minutes; its
        3 seconds to be answered still count from its dispatch.

        Where: `channel_id` (its guild, or a DM for a `dm_channel()`), else `guild_id`'s first
        channel, else the default guild and channel. Option types come from the synced command
        when known, else from the Python value (bool 5, int 4, float 10, str 3, attachment
        object 11); user (6) and channel (7) options are resolved. `attachment` fills the
        command's attachment option (or one named "file"). `data.id` and `data.guild_id` match
        the synced command: discord.py looks guild commands up by `data.guild_id`. `permissions`:
        the member's in the channel (in a server), e.g. with MANAGE_GUILD for a server admin.
        """
        channel_id, gid = self._where(channel_id, guild_id)
        synced_in = gid if self.command_id(command_name, gid) else None
        cmd_id = self.command_id(command_name, synced_in) or self.snowflake()
        declared = {
            o["name"]: o for c in self.commands.get(synced_in, [])
            if c["name"] == command_name for o in c.get("options", [])
        }
        opts = dict(options or {})
        if attachment is not None:
            name = next((n for n, o in declared.items() if o["type"] == 11), "file")
            opts[name] = attachment
        resolved: JSON = {}
        data_options = []
        for name, value in opts.items():
            otype = declared.get(name, {}).get("type") or _option_type(value)
            if otype == 11:
                resolved.setdefault("attachments", {})[value["id"]] = value
                value = value["id"]
            elif otype in (6, 9):
                resolved.setdefault("users", {})[str(value)] = self.user(int(value))
                if gid is not None:
                    resolved.setdefault("members", {})[str(value)] = self.member(
                        int(value), with_user=False) | {"permissions": str(DEFAULT_PERMISSIONS)}
                value = str(value)
            elif otype == 7:
                ch = self.channels[int(value)]
                resolved.setdefault("channels", {})[str(value)] = ch | {
                    "permissions": str(DEFAULT_PERMISSIONS)}
                value = str(value)
            data_options.append({"type": otype, "name": name, "value": value})
        data: JSON = {"id": str(cmd_id), "name": command_name, "type": 1, "options": data_options}
        if resolved:
            data["resolved"] = resolved
        if synced_in is not None:
            data["guild_id"] = str(synced_in)
        return self._interaction(2, data, user_id, gid, channel_id, locale, made_ago, permissions)

    def message_command(
        self, command_name: str, message: JSON, *, user_id: int = 5, locale: str = "ko",
    ) -> JSON:
        """A MESSAGE context-menu command (interaction type 2, data.type 3) on `message` (a stored
        message object, e.g. from `message_create`), as Discord sends it: `target_id` and the whole
        message under `resolved.messages`, whatever the intents (Discord's docs: message commands
        receive the message's content without the Message Content intent)."""
        channel_id, gid = self._where(int(message["channel_id"]), None)
        synced_in = gid if self.command_id(command_name, gid, 3) else None
        cmd_id = self.command_id(command_name, synced_in, 3) or self.snowflake()
        target = {k: v for k, v in message.items() if k not in ("guild_id", "member")}
        data: JSON = {
            "id": str(cmd_id), "name": command_name, "type": 3, "target_id": message["id"],
            "resolved": {"messages": {message["id"]: target}},
        }
        if synced_in is not None:
            data["guild_id"] = str(synced_in)
        return self._interaction(2, data, user_id, gid, channel_id, locale)

    def component_interaction(self, message: JSON | int | str, custom_id: str, *, user_id: int = 5) -> JSON:
        """A MESSAGE_COMPONENT interaction (type 3): `user_id` pressed the button `custom_id` on a
        message the bot sent (its current state is sent along, as Discord does). A custom_id the
        message does not carry is refused here: Discord cannot send one."""
        msg = self._messages[int(message["id"] if isinstance(message, dict) else message)]
        buttons = {c.get("custom_id"): c for row in msg["components"] for c in row.get("components", [])}
        if custom_id not in buttons:
            raise ValueError(f"message {msg['id']} has no component {custom_id!r}")
        if buttons[custom_id].get("disabled"):
            raise ValueError(f"component {custom_id!r} is disabled: Discord sends no interaction for it")
        channel_id, gid = self._where(int(msg["channel_id"]), None)
        data = {"custom_id": custom_id, "component_type": buttons[custom_id]["type"]}
        payload = self._interaction(3, data, user_id, gid, channel_id, "ko")
        payload["message"] = msg
        self._interactions[payload["token"]].message_id = int(msg["id"])
        return payload

    def modal_submit(self, custom_id: str, values: dict[str, str], *, user_id: int = 5) -> JSON:
        """A MODAL_SUBMIT interaction (type 5): `user_id` sent the modal `custom_id` (opened
        before by a MODAL callback, else refused here: Discord cannot send one) with `values`
        by text input custom_id."""
        modal = next((m for m in reversed(self.modals) if m["custom_id"] == custom_id), None)
        if modal is None:
            raise ValueError(f"no modal {custom_id!r} was opened")
        inputs = [row["components"][0] for row in modal["components"]]
        unknown = set(values) - {i["custom_id"] for i in inputs}
        if unknown:
            raise ValueError(f"modal {custom_id!r} has no inputs {unknown}")
        rows = [{"type": ACTION_ROW, "components": [{"type": TEXT_INPUT, "custom_id": i["custom_id"],
                                                     "value": values.get(i["custom_id"], "")}]} for i in inputs]
        channel_id, gid = self._where(modal["channel_id"], None)
        return self._interaction(5, {"custom_id": custom_id, "components": rows}, user_id, gid, channel_id, "ko")

    def message_create(
        self, content: str, *, author_id: int, channel_id: int | None = None,
        guild_id: int | None = None, mentions: list[int] | None = None,
        attachments: list[JSON] | None = None, bot: bool = False,
        message_reference: int | JSON | None = None, ago: float = 0.0,
    ) -> JSON:
        """A MESSAGE_CREATE payload from a user (stored, so replies and fetches find it); `ago`:
        sent that many seconds before now.

        Where: as for `interaction_create` (a `dm_channel()` id makes a DM message, no guild_id).
        `mentions`: user ids (`<@id>` in `content` count too); `attachments`: objects from
        `add_attachment`; `message_reference`: the id (or reference object) replied to.
        """
        channel_id, guild_id = self._where(channel_id, guild_id)
        author = self.user(author_id) | ({"bot": True} if bot else {})
        msg = self._new_message(
            channel_id, author, {"content": content, "attachments": attachments or []},
            mentions=mentions, reference=message_reference, ago=ago,
        )
        self._store(msg)
        event = dict(msg)
        if guild_id is not None:
            event["guild_id"] = str(guild_id)
            event["member"] = self.member(author_id, with_user=False)
        return event

    # ------------------------------------------------------------------ internals: payloads

    def _where(self, channel_id: int | None, guild_id: int | None) -> tuple[int, int | None]:
        """(channel, guild) of an event: the channel decides the guild; DM channels have none."""
        if channel_id is None:
            guild_id = guild_id or self.guild_id
            return next(iter(self.guilds[guild_id]["channels"])), guild_id
        ch = self.channels.get(channel_id)
        if ch is not None:
            return channel_id, int(ch["guild_id"]) if ch.get("guild_id") else None
        return channel_id, guild_id

    def _interaction(
        self, itype: int, data: JSON, user_id: int, guild_id: int | None, channel_id: int,
        locale: str, made_ago: float = 0.0, permissions: int = DEFAULT_PERMISSIONS,
    ) -> JSON:
        iid, token = self.snowflake(made_ago), "aW50ZXJhY3Rpb24" + secrets.token_urlsafe(96)
        channel = self.channels.get(channel_id) or {
            "id": str(channel_id), "type": 0 if guild_id else 1, "name": "channel",
            "position": 0, "guild_id": str(guild_id) if guild_id else None,
            "permission_overwrites": [], "nsfw": False, "parent_id": None,
        }
        channel = {**channel, "permissions": str(DEFAULT_PERMISSIONS)}
        payload: JSON = {
            "id": str(iid), "application_id": str(self.app_id), "type": itype, "data": data,
            "token": token, "version": 1, "channel": channel, "channel_id": str(channel_id),
            "locale": locale, "app_permissions": str(DEFAULT_PERMISSIONS),
            "entitlements": [], "entitlement_sku_ids": [],
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        }
        if guild_id is not None:
            member = self.member(user_id) | {"permissions": str(permissions)}
            # In a server the bot is not in, only the user's own install of the app (type 1) allows it.
            installed = self.bot_id in self.guilds.get(guild_id, {}).get("members", ())
            owners = {"0": str(guild_id)} if installed else {"1": str(user_id)}
            payload |= {
                "guild_id": str(guild_id), "guild_locale": "ko", "member": member, "context": 0,
                "guild": {"id": str(guild_id), "locale": "ko", "features": []},
                "authorizing_integration_owners": owners,
            }
        else:
            payload |= {
                "user": self.user(user_id), "context": 1,
                "authorizing_integration_owners": {"0": str(self.app_id)},
            }
        now = time.monotonic()
        self._interactions[token] = _Interaction(
            iid, token, itype, channel_id, guild_id, self.user(user_id), now, now - made_ago,
            command_type=data.get("type") if itype == 2 else None)
        return payload

    def _guild_create(self, guild: JSON) -> JSON:
        gid = guild["id"]
        everyone = {
            "id": str(gid), "name": "@everyone", "permissions": str(DEFAULT_PERMISSIONS),
            "position": 0, "color": 0, "colors": {"primary_color": 0}, "hoist": False,
            "managed": False, "mentionable": False, "flags": 0, "icon": None,
        }
        channels = [{k: v for k, v in c.items() if k != "guild_id"} for c in guild["channels"].values()]
        # member_count == len(members): discord.py then sees the guild as chunked and does not
        # ask for members before on_ready.
        members = [self.member(uid) for uid in sorted(guild["members"])]
        return {
            "id": str(gid), "name": guild["name"], "icon": None, "owner_id": str(self.bot_id + 1),
            "unavailable": False, "large": False, "member_count": len(members),
            "joined_at": "2024-01-01T00:00:00+00:00", "roles": [everyone], "channels": channels,
            "members": members, "threads": [], "presences": [], "voice_states": [], "emojis": [],
            "stickers": [], "features": [], "preferred_locale": "ko", "stage_instances": [],
            "guild_scheduled_events": [], "soundboard_sounds": [], "verification_level": 0,
            "default_message_notifications": 0, "explicit_content_filter": 0, "mfa_level": 0,
            "nsfw_level": 0, "premium_tier": 0, "system_channel_flags": 0, "afk_timeout": 300,
            "application_id": None, "description": None, "banner": None, "splash": None,
        }

    def _new_message(
        self, channel_id: int, author: JSON, body: JSON, *, mentions: list[int] | None = None,
        reference: int | JSON | None = None, type: int = 0, flags: int = 0,
        extra: JSON | None = None, ago: float = 0.0,
    ) -> JSON:
        content = body.get("content") or ""
        ids = set(mentions or []) | {int(m) for m in re.findall(r"<@!?(\d+)>", content)}
        msg: JSON = {
            "id": str(self.snowflake(ago)), "channel_id": str(channel_id), "author": author,
            "content": content, "timestamp": _iso(time.time() - ago), "edited_timestamp": None, "tts": False,
            "mention_everyone": False, "mentions": [self.user(i) for i in sorted(ids)],
            "mention_roles": [], "attachments": body.get("attachments") or [],
            "embeds": body.get("embeds") or [], "components": body.get("components") or [],
            "pinned": False, "type": type, "flags": flags | (body.get("flags") or 0),
        }
        if reference is not None:
            ref = reference if isinstance(reference, dict) else {"message_id": str(reference)}
            ref = {"channel_id": str(channel_id), "type": 0, **ref}
            msg["message_reference"] = ref
            msg["referenced_message"] = self._messages.get(int(ref["message_id"]))
            msg["type"] = 19 if type == 0 else type  # 19: REPLY
        return msg | (extra or {})

    def _store(self, msg: JSON) -> None:
        self._messages[int(msg["id"])] = msg
        ch = self.channels.get(int(msg["channel_id"]))
        if ch is not None:
            ch["last_message_id"] = msg["id"]

    def _gate(self, intents: int, event: str, data: JSON) -> JSON | None:
        """What Discord would send a connection with these intents (None: nothing)."""
        if not event.startswith("MESSAGE_") or event.startswith("MESSAGE_REACTION"):
            return data
        is_dm = "guild_id" not in data
        if not intents & (DIRECT_MESSAGES if is_dm else GUILD_MESSAGES):
            return None
        author = (data.get("author") or {}).get("id")
        mentioned = any(u["id"] == str(self.bot_id) for u in data.get("mentions") or [])
        if intents & MESSAGE_CONTENT or is_dm or mentioned or author == str(self.bot_id):
            return data
        if "content" not in data:
            return data
        return data | {"content": "", "embeds": [], "attachments": [], "components": []}

    # ------------------------------------------------------------------ internals: gateway

    async def _send(self, conn: _Conn, payload: JSON) -> None:
        self.gateway_sent.append(payload)
        raw = _dumps(payload)
        async with conn.lock:  # the shared compressor needs messages in order
            if conn.ws.closed:
                return
            try:
                if conn.compress is None:
                    await conn.ws.send_str(raw)
                else:
                    await conn.ws.send_bytes(conn.compress(raw.encode()))
            except ConnectionError:  # the client went away mid-send; it will reconnect or not
                conn.ready = False

    async def _send_dispatch(self, conn: _Conn, event: str, data: JSON) -> None:
        conn.seq += 1
        if conn.session_id:
            self._sessions[conn.session_id] = conn.seq
        await self._send(conn, {"op": 0, "t": event, "s": conn.seq, "d": data})

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=0, autoping=True)
        await ws.prepare(request)
        query = dict(request.query)
        self.gateway_connects.append(query)
        conn = _Conn(ws, query, _compressor(query.get("compress")))
        self._conns.append(conn)
        try:
            await self._send(conn, {"op": 10, "s": None, "t": None, "d": {
                "heartbeat_interval": int(self.heartbeat_interval * 1000),
                "_trace": ["[\"fake-gateway\"]"]}})
            async for msg in ws:
                if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    break
                payload = json.loads(msg.data)
                self.gateway_received.append(payload)
                await self._on_op(conn, payload["op"], payload.get("d"))
        finally:
            self._conns.remove(conn)
            if not any(c.ready for c in self._conns):
                self._ready.clear()
        return ws

    async def _on_op(self, conn: _Conn, op: int, d: Any) -> None:
        if op == 1:  # HEARTBEAT -> HEARTBEAT_ACK
            await self._send(conn, {"op": 11, "s": None, "t": None, "d": None})
        elif op == 2:
            await self._on_identify(conn, d)
        elif op == 6:  # RESUME: replay nothing, just continue the sequence
            if d.get("session_id") in self._sessions and (not self.token or d.get("token") == self.token):
                conn.session_id, conn.seq = d["session_id"], self._sessions[d["session_id"]]
                conn.shard = self._session_shards.get(conn.session_id)
                conn.intents = self.intents or 0
                await self._send_dispatch(conn, "RESUMED", {"_trace": []})
                conn.ready = True
                self._ready.set()
            else:
                await self._send(conn, {"op": 9, "s": None, "t": None, "d": False})
        elif op == 8:  # REQUEST_GUILD_MEMBERS -> one chunk with everyone we know
            gid = int(d["guild_id"])
            members = [self.member(u) for u in sorted(self.guilds.get(gid, {}).get("members", []))]
            await self._send_dispatch(conn, "GUILD_MEMBERS_CHUNK", {
                "guild_id": str(gid), "members": members, "chunk_index": 0, "chunk_count": 1,
                "not_found": [], "nonce": d.get("nonce")})

    async def _on_identify(self, conn: _Conn, d: JSON) -> None:
        self.identify = d
        self.identifies.append(d)
        if self.token is not None and d.get("token") != self.token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        bucket, now = (d.get("shard") or [0, 1])[0] % self.max_concurrency, time.monotonic()
        if now - self.identified_at.get(bucket, -math.inf) < self.identify_interval:
            self.identifies_too_soon += 1
            await self._send(conn, {"op": 9, "s": None, "t": None, "d": False})
            return
        self.identified_at[bucket] = now
        conn.intents = int(d.get("intents", 0))
        if conn.intents & PRIVILEGED and not self.privileged_intents:
            await conn.ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        conn.session_id = uuid.uuid4().hex
        conn.shard = self._session_shards[conn.session_id] = d.get("shard")
        guilds = [g for gid, g in self.guilds.items() if _on_shard(conn.shard, gid)]
        flags = (1 << 19) | (1 << 15) if self.privileged_intents else 0  # *_LIMITED app flags
        ready: JSON = {
            "v": API_VERSION, "user": self.users[self.bot_id] | {"verified": True, "mfa_enabled": False},
            "guilds": [{"id": str(g["id"]), "unavailable": True} for g in guilds],
            "session_id": conn.session_id, "session_type": "normal",
            "resume_gateway_url": self.gateway_url, "application": {"id": str(self.app_id), "flags": flags},
            "private_channels": [], "relationships": [], "presences": [], "guild_join_requests": [],
            "geo_ordered_rtc_regions": [], "user_settings": {}, "_trace": ["[\"fake-gateway\"]"],
        }
        if "shard" in d:
            ready["shard"] = d["shard"]
        await self._send_dispatch(conn, "READY", ready)
        for guild in guilds:
            await self._send_dispatch(conn, "GUILD_CREATE", self._guild_create(guild))
        conn.ready = True
        self._ready.set()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _echo(self, event: str, msg: JSON) -> None:
        """Discord tells the bot about its own messages too; do the same (not ephemeral ones)."""
        if not self.echo or msg["flags"] & EPHEMERAL or not any(c.ready for c in self._conns):
            return
        data = dict(msg)
        ch = self.channels.get(int(msg["channel_id"]))
        if ch is not None and ch.get("guild_id"):
            data["guild_id"] = ch["guild_id"]
            data["member"] = self.member(int(msg["author"]["id"]), with_user=False)
        self._outbox.append((event, data))

    # ------------------------------------------------------------------ internals: REST

    async def _api(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        rec = Recorded(
            request.method, path, dict(request.query), dict(request.headers), b"", None, [],
            time.monotonic())
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                data = await part.read(decode=False)  # type: ignore[union-attr]
                if part.name == "payload_json":  # type: ignore[union-attr]
                    rec.json = json.loads(data)
                else:
                    rec.files.append(UploadedFile(
                        part.name or "", part.filename or "",  # type: ignore[union-attr]
                        part.headers.get("Content-Type", "application/octet-stream"), bytes(data)))
        else:
            rec.body = await request.read()
            if rec.body and request.content_type == "application/json":
                rec.json = json.loads(rec.body)
        self.requests.append(rec)
        status, body, headers = self._route(rec)
        rec.status, rec.response, rec.response_headers = status, body, headers
        # Echo before answering: the gateway may well beat the HTTP response on Discord too, and
        # that is the order that catches an adapter relying on knowing its message id first.
        outbox, self._outbox = self._outbox, []
        for event, data in outbox:
            with contextlib.suppress(TimeoutError):  # the client left meanwhile
                await self.dispatch(event, data, timeout=0.5)
        if body is None:
            return web.Response(status=status, headers=headers)
        # Exactly "application/json": discord.py parses no other content type (not even
        # "application/json; charset=utf-8", which aiohttp's json_response sends).
        return web.Response(
            status=status, body=_dumps(body).encode(),
            headers={"Content-Type": "application/json", **headers})

    def _route(self, rec: Recorded) -> tuple[int, Any, dict[str, str]]:
        for rule in self._rules:
            if rule.times > 0 and _matches(rule.pattern, rec.method, rec.path):
                rule.times -= 1
                rec.kind = "scripted"
                return rule.status, rule.body, rule.headers
        webhook = rec.path.startswith(("/webhooks/", "/interactions/"))
        if not webhook and self.token is not None and rec.headers.get("Authorization") != f"Bot {self.token}":
            return 401, {"message": "401: Unauthorized", "code": 0}, {}
        if not webhook and self.global_limit is not None:
            if (wait := self._global.take(time.monotonic(), self.global_limit)) > 0:
                rec.kind = "rate_limited"
                return 429, *_rate_limited(wait, True)
        for method, pattern, handler in self._routes:
            m = re.fullmatch(pattern, rec.path)
            if m and rec.method in method.split("|"):
                status, body, *headers = handler(self, rec, **m.groupdict())
                return status, body, headers[0] if headers else {}
        rec.kind = "unknown"
        return 404, {"message": "404: Not Found", "code": 0}, {}

    # Handlers: (self, rec, **path params) -> (status, JSON body or None for no body[, headers]).

    def _get_gateway(self, rec: Recorded) -> tuple[int, Any]:
        body: JSON = {"url": self.gateway_url}
        if rec.path.endswith("/bot"):
            body |= {"shards": 1, "session_start_limit": {
                "total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": self.max_concurrency}}
        return 200, body

    def _get_me(self, rec: Recorded) -> tuple[int, Any]:
        return 200, self.users[self.bot_id] | {"verified": True, "mfa_enabled": False, "locale": "ko"}

    def _get_user(self, rec: Recorded, user_id: str) -> tuple[int, Any]:
        user = self.users.get(int(user_id))
        return (200, user) if user else _error(404, 10013, "Unknown User")

    def _get_app(self, rec: Recorded) -> tuple[int, Any]:
        return 200, {
            "id": str(self.app_id), "name": self.users[self.bot_id]["username"], "icon": None,
            "description": "", "summary": "", "bot_public": True, "bot_require_code_grant": False,
            "owner": self.user(self.bot_id + 1), "team": None, "verify_key": "0" * 64,
            "flags": (1 << 19) | (1 << 15), "bot": self.users[self.bot_id],
            "interactions_endpoint_url": None, "redirect_uris": [], "tags": [],
            "approximate_guild_count": len(self.guilds),
        }

    def _commands(self, rec: Recorded, app_id: str, guild_id: str | None = None) -> tuple[int, Any]:
        if int(app_id) != self.app_id:
            return _error(404, 10002, "Unknown Application")
        gid = int(guild_id) if guild_id else None
        rec.kind = "commands"
        if rec.method == "GET":
            return 200, self.commands.get(gid, [])
        if err := _command_errors(rec.json or []):
            return err
        out = []
        for cmd in rec.json or []:
            key = (gid, cmd["name"], cmd.get("type", 1))
            # Discord keeps a command's id across syncs while its name and type stay the same.
            cid = self._command_ids.setdefault(key, self.snowflake())
            out.append({
                "type": 1, "options": [], "default_member_permissions": None, "nsfw": False,
                "description": "", "integration_types": [0], "contexts": None,
                **cmd, "id": str(cid), "application_id": str(self.app_id), "version": str(cid),
                **({"guild_id": str(gid)} if gid else {}),
            })
        self._command_ids = {k: v for k, v in self._command_ids.items()
                             if k[0] != gid or any(c["id"] == str(v) for c in out)}
        self.commands[gid] = out
        return 200, out

    def _callback(self, rec: Recorded, iid: str, token: str) -> tuple[int, Any]:
        rec.kind = "callback"
        it = self._interactions.get(token)
        if it is None or it.id != int(iid) or time.monotonic() - it.created > self.interaction_deadline:
            return _error(404, 10062, "Unknown interaction")
        if it.acked:
            return _error(400, 40060, "Interaction has already been acknowledged.")
        body = rec.json or {}
        rtype, data = body.get("type"), body.get("data") or {}
        if rtype not in _CALLBACKS.get(it.type, ()):
            # e.g. UPDATE_MESSAGE (7) answers only a component or a modal, not a command
            return _invalid("type", "INTERACTION_RESPONSE_TYPE_INVALID", "Invalid interaction response type")
        resource: JSON = {"type": rtype}
        flags = int(data.get("flags") or 0)
        if rtype in (6, 7):  # the response is the message the component sits on
            it.original_id = it.message_id
            if rtype == 7:
                if err := self._validate(data, rec.files, edit=True):
                    return err
                edited = self._edit(it.message_id or 0, data, rec.files)  # the interaction's own, no edit bucket
                if edited[0] != 200:
                    return edited[0], edited[1]
                resource["message"] = edited[1]
        elif rtype == 9:
            if err := _modal_errors(data):
                return err
            self.modals.append({**data, "channel_id": it.channel_id})
        elif rtype in (4, 5):
            if rtype == 4 and (err := self._validate(data, rec.files)):
                return err
            msg = self._new_message(
                it.channel_id, self.users[self.bot_id], self._body(data, rec.files, it.channel_id),
                type=23 if it.command_type == 3 else 20, flags=LOADING if rtype == 5 else 0,
                extra={"webhook_id": str(self.app_id), "application_id": str(self.app_id),
                       "interaction_metadata": self._metadata(it)})
            self._store(msg)
            it.original_id, it.thinking = int(msg["id"]), rtype == 5
            resource["message"] = msg
            self._echo("MESSAGE_CREATE", msg)
        it.acked = True
        if "with_response" not in rec.query:
            return 204, None
        return 200, {
            "interaction": {
                "id": str(it.id), "type": it.type, "response_message_loading": rtype == 5,
                "response_message_ephemeral": bool(flags & EPHEMERAL),
                **({"response_message_id": str(it.original_id)} if "message" in resource else {}),
            },
            "resource": resource,
        }

    def _followup(self, rec: Recorded, app_id: str, token: str) -> tuple[Any, ...]:
        rec.kind = "followup"
        it = self._interactions.get(token)
        if it is None or int(app_id) != self.app_id or not it.acked:
            return _error(404, 10015, "Unknown Webhook")
        if self._expired(it):
            return _error(401, 50027, "Invalid Webhook Token")
        wait, limits = self._take("create", ("webhook", app_id, token))
        if wait > 0:
            return 429, *_rate_limited(wait, False, limits)
        data = rec.json or {}
        if err := self._validate(data, rec.files):
            return *err, limits
        if it.thinking and it.original_id in self._messages:
            # Discord: the first follow-up after a deferred response replaces "thinking...".
            it.thinking = False
            status, body, *_ = self._edit(it.original_id, data, rec.files)
            return status, body, limits
        msg = self._new_message(
            it.channel_id, self.users[self.bot_id], self._body(data, rec.files, it.channel_id),
            extra={"webhook_id": str(self.app_id), "application_id": str(self.app_id),
                   "interaction_metadata": self._metadata(it)})
        self._store(msg)
        it.followup_ids.append(int(msg["id"]))
        self._echo("MESSAGE_CREATE", msg)
        return 200, msg, limits

    def _webhook_message(self, rec: Recorded, app_id: str, token: str, mid: str) -> tuple[int, Any]:
        it = self._interactions.get(token)
        if it is None or int(app_id) != self.app_id:
            return _error(404, 10015, "Unknown Webhook")
        if self._expired(it):
            return _error(401, 50027, "Invalid Webhook Token")
        msg_id = it.original_id if mid == "@original" else int(mid)
        if msg_id is None or msg_id not in self._messages or (
                msg_id != it.original_id and msg_id not in it.followup_ids):
            return _error(404, 10008, "Unknown Message")
        if rec.method == "GET":
            rec.kind = "get"
            return 200, self._messages[msg_id]
        if rec.method == "DELETE":
            rec.kind = "delete"
            self._messages.pop(msg_id)
            return 204, None
        rec.kind = "edit"
        if msg_id == it.original_id:
            it.thinking = False
        return self._edit(msg_id, rec.json or {}, rec.files, bucket=("webhook", app_id, token))

    def _channel_messages(self, rec: Recorded, cid: str) -> tuple[Any, ...]:
        channel_id = int(cid)
        if channel_id not in self.channels:
            return _error(404, 10003, "Unknown Channel")
        if rec.method == "GET":
            rec.kind = "get"
            return self._history(channel_id, rec.query)
        rec.kind = "message"
        if not self._bot_in(channel_id):
            return _error(403, 50001, "Missing Access")
        wait, limits = self._take("create", ("channel", cid))
        if wait > 0:
            return 429, *_rate_limited(wait, False, limits)
        data = rec.json or {}
        if err := self._validate(data, rec.files):
            return *err, limits
        ref = data.get("message_reference")
        msg = self._new_message(
            channel_id, self.users[self.bot_id], self._body(data, rec.files, channel_id),
            reference=ref, extra={"nonce": data["nonce"]} if data.get("nonce") else None)
        self._store(msg)
        self._echo("MESSAGE_CREATE", msg)
        return 200, msg, limits

    def _history(self, channel_id: int, query: dict[str, str]) -> tuple[int, Any]:
        """GET /channels/{id}/messages as Discord answers it: `limit` 1 to 100 (default 50), at
        most one of `before`, `after`, `around`; always newest first. With `after`, the
        `limit` messages right after it (so a client pages forward from the newest of them);
        without any, the latest. The bot needs to be in the channel's guild (50001)."""
        if not self._bot_in(channel_id):
            return _error(403, 50001, "Missing Access")
        anchors = [k for k in ("before", "after", "around") if k in query]
        if len(anchors) > 1:
            return _invalid(anchors[1], "BASE_TYPE_BAD_VALUE", "Only one of before, after and around may be given.")
        limit = query.get("limit", "50")
        if not limit.isdigit() or not 1 <= int(limit) <= 100:
            return _invalid("limit", "NUMBER_TYPE_MAX", "int value should be between 1 and 100.")
        n, ordered = int(limit), sorted(self.messages(channel_id), key=lambda m: int(m["id"]))  # oldest first
        if "after" in query:
            found = [m for m in ordered if int(m["id"]) > int(query["after"])][:n]
        elif "around" in query:
            pivot = int(query["around"])
            older = [m for m in ordered if int(m["id"]) <= pivot][-(n - n // 2):]
            found = older + [m for m in ordered if int(m["id"]) > pivot][: n // 2]
        else:
            before = int(query.get("before", 1 << 63))
            found = [m for m in ordered if int(m["id"]) < before][-n:]
        return 200, list(reversed(found))

    def _bot_in(self, channel_id: int) -> bool:
        """Whether the bot may reach the channel: a DM, or a channel of a server it is in."""
        guild = self.channels[channel_id].get("guild_id")
        return not guild or self.bot_id in self.guilds.get(int(guild), {}).get("members", ())

    def _start_thread(self, rec: Recorded, cid: str, mid: str) -> tuple[int, Any]:
        """POST /channels/{id}/messages/{id}/threads: a public thread on a message of a text or
        announcement channel, its id the message's. `name` 1 to 100 characters is required;
        `auto_archive_duration` one of 60, 1440, 4320, 10080 minutes; one thread per message."""
        rec.kind = "thread"
        channel = self.channels.get(int(cid))
        msg = self._messages.get(int(mid))
        if channel is None:
            return _error(404, 10003, "Unknown Channel")
        if msg is None or msg["channel_id"] != cid:
            return _error(404, 10008, "Unknown Message")
        if not self._bot_in(int(cid)):
            return _error(403, 50001, "Missing Access")
        if channel["type"] not in (0, 5):
            return _error(400, 50024, "Cannot execute action on this channel type")
        data = rec.json or {}
        if not 1 <= len(data.get("name") or "") <= 100:
            return _invalid("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        if data.get("auto_archive_duration", 1440) not in (60, 1440, 4320, 10080):
            return _invalid("auto_archive_duration", "BASE_TYPE_CHOICES", "Value must be one of (60, 1440, 4320, 10080).")
        if int(mid) in self.channels:
            return _error(400, 160004, "A thread has already been created for this message")
        thread: JSON = {
            "id": mid, "type": 11, "guild_id": channel["guild_id"], "parent_id": cid,
            "owner_id": str(self.bot_id), "name": data["name"], "last_message_id": None,
            "rate_limit_per_user": data.get("rate_limit_per_user") or 0, "message_count": 0,
            "member_count": 1, "total_message_sent": 0, "flags": 0,
            "thread_metadata": {
                "archived": False, "auto_archive_duration": data.get("auto_archive_duration", 1440),
                "locked": False, "archive_timestamp": _now_iso(), "create_timestamp": _now_iso(),
            },
        }
        self.channels[int(mid)] = thread
        msg["thread"] = thread
        self._outbox.append(("THREAD_CREATE", thread | {"newly_created": True}))
        return 201, thread

    def _channel_message(self, rec: Recorded, cid: str, mid: str) -> tuple[int, Any]:
        msg = self._messages.get(int(mid))
        if msg is None or msg["channel_id"] != cid:
            return _error(404, 10008, "Unknown Message")
        if rec.method == "GET":
            rec.kind = "get"
            return 200, msg
        mine = msg["author"]["id"] == str(self.bot_id)
        if rec.method == "DELETE":
            rec.kind = "delete"
            self._messages.pop(int(mid))
            return 204, None
        rec.kind = "edit"
        if not mine:
            return _error(403, 50005, "Cannot edit a message authored by another user")
        return self._edit(int(mid), rec.json or {}, rec.files, bucket=("channel", cid))

    def _reaction(self, rec: Recorded, cid: str, mid: str, emoji: str) -> tuple[int, Any]:
        rec.kind = "reaction"
        if int(mid) not in self._messages:
            return _error(404, 10008, "Unknown Message")
        return 204, None

    def _get_channel(self, rec: Recorded, cid: str) -> tuple[int, Any]:
        ch = self.channels.get(int(cid))
        return (200, ch) if ch else _error(404, 10003, "Unknown Channel")

    def _typing(self, rec: Recorded, cid: str) -> tuple[int, Any]:
        rec.kind = "typing"
        return (204, None) if int(cid) in self.channels else _error(404, 10003, "Unknown Channel")

    def _open_dm(self, rec: Recorded) -> tuple[int, Any]:
        return 200, self.channels[self.dm_channel(int((rec.json or {})["recipient_id"]))]

    _routes: list[tuple[str, str, Callable[..., tuple[int, Any]]]] = [
        ("GET", r"/gateway(?:/bot)?", _get_gateway),
        ("GET", r"/users/@me", _get_me),
        ("POST", r"/users/@me/channels", _open_dm),
        ("GET", r"/users/(?P<user_id>\d+)", _get_user),
        ("GET", r"/(?:oauth2/)?applications/@me", _get_app),
        ("GET|PUT", r"/applications/(?P<app_id>\d+)(?:/guilds/(?P<guild_id>\d+))?/commands", _commands),
        ("POST", r"/interactions/(?P<iid>\d+)/(?P<token>[^/]+)/callback", _callback),
        ("POST", r"/webhooks/(?P<app_id>\d+)/(?P<token>[^/]+)", _followup),
        ("GET|PATCH|DELETE", r"/webhooks/(?P<app_id>\d+)/(?P<token>[^/]+)/messages/(?P<mid>@original|\d+)",
         _webhook_message),
        ("GET|POST", r"/channels/(?P<cid>\d+)/messages", _channel_messages),
        ("GET|PATCH|DELETE", r"/channels/(?P<cid>\d+)/messages/(?P<mid>\d+)", _channel_message),
        ("PUT|DELETE", r"/channels/(?P<cid>\d+)/messages/(?P<mid>\d+)/reactions/(?P<emoji>[^/]+)/@me",
         _reaction),
        ("POST", r"/channels/(?P<cid>\d+)/messages/(?P<mid>\d+)/threads", _start_thread),
        ("GET", r"/channels/(?P<cid>\d+)", _get_channel),
        ("POST", r"/channels/(?P<cid>\d+)/typing", _typing),
    ]

    # ------------------------------------------------------------------ internals: messages

    def _metadata(self, it: _Interaction) -> JSON:
        return {"id": str(it.id), "type": it.type, "user": it.user,
                "authorizing_integration_owners": {"0": str(it.guild_id or self.app_id)}}

    def _validate(self, data: JSON, files: list[UploadedFile], *, edit: bool = False) -> tuple[int, Any] | None:
        """A message body as Discord checks it: content length, components, not empty (an edit
        may leave out what it does not change)."""
        content = data.get("content") or ""
        if len(content) > MESSAGE_LIMIT:
            return _too_long()
        if err := _component_errors(data.get("components") or []):
            return err
        if not edit and not (content or data.get("embeds") or files or data.get("components")
                             or data.get("sticker_ids") or data.get("poll")):
            return _error(400, 50006, "Cannot send an empty message")
        return None

    def _body(self, data: JSON, files: list[UploadedFile], channel_id: int,
              existing: list[JSON] | None = None) -> JSON:
        """Message fields from a create/edit payload; uploaded files become stored attachments."""
        body = {k: data[k] for k in ("content", "embeds", "components", "flags") if k in data}
        if "attachments" in data or files:
            by_field = {f.field: f for f in files}
            listed = data.get("attachments") or [{"id": i} for i in range(len(files))]
            kept = {a["id"]: a for a in existing or []}
            out = []
            for a in listed:
                f = by_field.get(f"files[{a['id']}]")
                if f is not None:
                    out.append(self._store_file(
                        f.data, a.get("filename") or f.filename, None, channel_id,
                        a.get("description")).object)
                elif str(a["id"]) in kept:
                    out.append(kept[str(a["id"])])
            body["attachments"] = out
        return body

    def _edit(
        self, message_id: int, data: JSON, files: list[UploadedFile], *, bucket: tuple[str, ...] = (),
    ) -> tuple[Any, ...]:
        """Apply an edit counted in `bucket`'s rate limit (none for the follow-up that resolves
        a deferred response, which is no edit)."""
        msg = self._messages[message_id]
        channel_id = int(msg["channel_id"])
        wait, limits = self._take("edit", bucket) if bucket else (0.0, {})
        if wait > 0:
            return 429, *_rate_limited(wait, False, limits)
        if err := self._validate(data, files, edit=True):
            return *err, limits
        body = self._body(data, files, channel_id, msg["attachments"])
        if "content" in body and body["content"] is None:
            body["content"] = ""
        # An edit changes only SUPPRESS_EMBEDS, and a body with `flags` sets it as given: discord.py
        # sends `flags` with every Message.edit, which clears the flag unless it is passed again.
        edited = body.pop("flags", None)
        msg.update(body)
        msg["flags"] = int(msg["flags"]) & ~LOADING
        if edited is not None:
            msg["flags"] = (msg["flags"] & ~SUPPRESS_EMBEDS) | (int(edited) & SUPPRESS_EMBEDS)
        msg["edited_timestamp"] = _now_iso()
        if bucket:
            self.edits.append(Edit(time.monotonic(), channel_id, message_id, msg["content"]))
        self._echo("MESSAGE_UPDATE", msg)
        return 200, msg, limits

    def _take(self, route: str, where: tuple[str, ...]) -> tuple[float, dict[str, str]]:
        """Count one request of `route` ("edit", "create") in the bucket of `where` (a channel's
        messages, an interaction's webhook): 0.0 when it had room, else the seconds until it
        refills; and the bucket's headers (none when the route is not limited)."""
        if (limits := self._route_limits[route]) is None:
            return 0.0, {}
        limit, per = limits
        now = time.monotonic()
        window = self._route_buckets.setdefault((route, *where), _Bucket(per))
        wait = window.take(now, limit)
        return wait, _bucket_headers(limit, limit - window.count, window.resets - now, _BUCKETS[route, where[0]])

    def _expired(self, it: _Interaction) -> bool:
        return time.monotonic() - it.made > self.interaction_token_lifetime

    def _find_interaction(self, key: int | str | JSON) -> _Interaction | None:
        if isinstance(key, dict):
            key = key["token"]
        if isinstance(key, str) and key in self._interactions:
            return self._interactions[key]
        return next((i for i in self._interactions.values() if str(i.id) == str(key)), None)

    # ------------------------------------------------------------------ internals: CDN

    async def _attachment(self, request: web.Request) -> web.StreamResponse:
        stored = self.files.get(int(request.match_info["aid"]))
        if stored is None or "hm" not in request.query:
            return web.Response(status=404, text="This content is no longer available.")
        self.downloads.append(Download(
            stored.id, stored.filename, len(stored.data), time.monotonic(), dict(request.headers)))
        return web.Response(body=stored.data, headers={"Content-Type": stored.content_type})


# --------------------------------------------------------------------------- helpers

@contextlib.contextmanager
def use_endpoints(api_url: str, gateway_url: str) -> Iterator[None]:
    """Set discord.py's two switches (REST root and gateway URL); restore them afterwards."""
    import discord.gateway
    import discord.http

    old = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = api_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    try:
        yield
    finally:
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old


@contextlib.asynccontextmanager
async def running_fake_discord(**kwargs: Any) -> AsyncIterator[FakeDiscord]:
    """A started FakeDiscord with discord.py pointed at it (for fixtures)."""
    async with FakeDiscord(**kwargs) as fake:
        with fake.patched():
            yield fake


# Discord names a route's bucket with a hash that leaves out the top-level resource (channel,
# webhook): one per route and kind of place here.
_BUCKETS = {
    ("edit", "channel"): "80c17d2f203122d936070c88c8d10f33", ("edit", "webhook"): "d2ee3a1f4bd39f76ac7c3a9a76ed0a1c",
    ("create", "channel"): "3d1c2f8b8e5a41b6a3ad1e0f3b7c9e21", ("create", "webhook"): "9b0e77c4f1a2d35e8c6b4a0d2f1e7c58",
}


def _bucket_headers(limit: int, remaining: int, reset_after: float, bucket: str) -> dict[str, str]:
    """A route bucket's headers, as Discord's "Rate Limits" page shows them."""
    return {
        "X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(max(0, remaining)),
        "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",  # epoch seconds
        "X-RateLimit-Reset-After": f"{reset_after:.3f}",
        "X-RateLimit-Bucket": bucket,
    }


def _rate_limited(
    retry_after: float, global_: bool, limits: dict[str, str] | None = None
) -> tuple[JSON, dict[str, str]]:
    """Body and headers of a Discord 429 (discord.py reads the body; `Via` must be present): a
    global one carries no bucket, a route's carries its bucket's headers (`limits`)."""
    body = {"message": "You are being rate limited.", "retry_after": round(retry_after, 3), "global": global_}
    headers = {
        "Retry-After": str(max(1, math.ceil(retry_after))),  # whole seconds, rounded up
        "X-RateLimit-Scope": "global" if global_ else "user",
        "Via": "1.1 google",
    }
    if global_:
        headers["X-RateLimit-Global"] = "true"
    else:
        headers.update(limits or _bucket_headers(5, 0, retry_after, "scripted"))
    return body, headers


# Which callback types answer which interaction types (Discord's "Responding to an
# Interaction"): 2 command, 3 component, 4 autocomplete, 5 modal submit.
_CALLBACKS = {2: (4, 5, 9), 3: (4, 5, 6, 7, 9), 4: (8,), 5: (4, 5, 6, 7)}

# Message components (Discord's "Component Reference"): at most 5 action rows of at most 5
# buttons; a button's custom_id at most 100 characters and unique in its message, its label at
# most 80; a link button (style 5) has a url and no custom_id, the others the other way round.
ACTION_ROW, BUTTON, TEXT_INPUT = 1, 2, 4
CUSTOM_ID_LIMIT, LABEL_LIMIT = 100, 80


def _component_errors(rows: list[JSON]) -> tuple[int, JSON] | None:
    if len(rows) > 5:
        return _invalid("components", "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.")
    seen: set[str] = set()
    for r, row in enumerate(rows):
        items = row.get("components") or []
        if row.get("type") != ACTION_ROW or not 1 <= len(items) <= 5:
            return _invalid(f"components.{r}", "COMPONENT_LAYOUT_WIDTH_EXCEEDED", "Invalid action row")
        for i, item in enumerate(items):
            where = f"components.{r}.components.{i}"
            if item.get("type") != BUTTON:
                continue  # selects are not used by this bot; Discord checks them too
            link = item.get("style") == 5
            custom_id = item.get("custom_id")
            if item.get("style") not in (1, 2, 3, 4, 5, 6) or link != ("url" in item) or link == (custom_id is not None):
                return _invalid(where, "BUTTON_COMPONENT_INVALID", "Invalid button")
            if not link and not 1 <= len(custom_id) <= CUSTOM_ID_LIMIT:
                return _invalid(f"{where}.custom_id", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
            if custom_id in seen:
                return _invalid(f"{where}.custom_id", "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated")
            seen.add(custom_id or "")
            if len(item.get("label") or "") > LABEL_LIMIT or not (item.get("label") or item.get("emoji")):
                return _invalid(f"{where}.label", "BASE_TYPE_MAX_LENGTH", "Must be 80 or fewer in length.")
    return None


# Application commands (Discord's "Application Commands" docs): a slash command's and an
# option's name matches this and is lower case; a slash command and an option need a description
# of 1 to 100 characters, a context-menu command an empty one and a name of 1 to 32 characters
# of any kind; at most 100 slash, 15 user and 15 message commands; names unique per type.
_SLASH_NAME = re.compile(r"^[-_'\w\u0900-\u097F\u0E00-\u0E7F]{1,32}$")
_COMMANDS_PER_TYPE = {1: 100, 2: 15, 3: 15}
INTEGRATION_TYPES, CONTEXTS = (0, 1), (0, 1, 2)


def _command_errors(commands: list[JSON]) -> tuple[int, JSON] | None:
    seen: dict[int, set[str]] = {}
    for n, cmd in enumerate(commands):
        kind, name = cmd.get("type", 1), cmd.get("name") or ""
        if kind not in _COMMANDS_PER_TYPE:
            return _invalid(f"{n}.type", "BASE_TYPE_CHOICES", "Value must be one of (1, 2, 3).")
        if name in seen.setdefault(kind, set()):
            return _invalid(f"{n}.name", "APPLICATION_COMMANDS_DUPLICATE_NAME", f"Application command names must be unique: {name}")
        seen[kind].add(name)
        if len(seen[kind]) > _COMMANDS_PER_TYPE[kind]:
            return _invalid(str(n), "APPLICATION_COMMANDS_TOO_MANY", "Too many application commands of this type.")
        if err := _named(f"{n}", cmd, slash=kind == 1):
            return err
        for field_name, allowed in (("integration_types", INTEGRATION_TYPES), ("contexts", CONTEXTS)):
            values = cmd.get(field_name)
            if values is not None and (not values or len(set(values)) != len(values) or not set(values) <= set(allowed)):
                return _invalid(f"{n}.{field_name}", "BASE_TYPE_CHOICES", f"Value must be among {allowed}.")
        options = cmd.get("options") or []
        if kind != 1 and options:
            return _invalid(f"{n}.options", "APPLICATION_COMMAND_OPTIONS_NOT_ALLOWED", "Only slash commands take options.")
        if len(options) > 25:
            return _invalid(f"{n}.options", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        required = [bool(o.get("required")) for o in options]
        if required != sorted(required, reverse=True):
            return _invalid(f"{n}.options", "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID", "Required options must be placed before non-required options")
        for i, option in enumerate(options):
            if err := _named(f"{n}.options.{i}", option, slash=True):
                return err
    return None


def _named(path: str, item: JSON, *, slash: bool) -> tuple[int, JSON] | None:
    name, description = item.get("name") or "", item.get("description")
    if slash and (not _SLASH_NAME.match(name) or name != name.lower()):
        return _invalid(f"{path}.name", "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
    if not slash and not 1 <= len(name) <= 32:
        return _invalid(f"{path}.name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length.")
    if slash and not 1 <= len(description or "") <= 100:
        return _invalid(f"{path}.description", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
    if not slash and description:
        return _invalid(f"{path}.description", "APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION", "Context menu commands cannot have description")
    return None


def _modal_errors(data: JSON) -> tuple[int, JSON] | None:
    """A modal: custom_id up to 100 characters, title up to 45, one to five rows of text inputs
    (custom_id, a label up to 45 characters, style 1 short or 2 paragraph)."""
    if not 1 <= len(data.get("custom_id") or "") <= CUSTOM_ID_LIMIT:
        return _invalid("data.custom_id", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
    if not 1 <= len(data.get("title") or "") <= 45:
        return _invalid("data.title", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 45 in length.")
    rows = data.get("components") or []
    if not 1 <= len(rows) <= 5:
        return _invalid("data.components", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length.")
    for r, row in enumerate(rows):
        inputs = row.get("components") or []
        if row.get("type") != ACTION_ROW or len(inputs) != 1 or inputs[0].get("type") != TEXT_INPUT:
            return _invalid(f"data.components.{r}", "COMPONENT_LAYOUT_WIDTH_EXCEEDED", "Invalid action row")
        text = inputs[0]
        if not text.get("custom_id") or text.get("style") not in (1, 2) or not 1 <= len(text.get("label") or "") <= 45:
            return _invalid(f"data.components.{r}.components.0", "TEXT_INPUT_INVALID", "Invalid text input")
    return None


def _invalid(path: str, code: str, message: str) -> tuple[int, JSON]:
    """Discord's 400 Invalid Form Body (50035), the offending field under `errors` by its path."""
    errors: JSON = {"_errors": [{"code": code, "message": message}]}
    for part in reversed(path.split(".")):
        errors = {part: errors}
    return 400, {"message": "Invalid Form Body", "code": 50035, "errors": errors}


def _too_long() -> tuple[int, JSON]:
    return 400, {"message": "Invalid Form Body", "code": 50035, "errors": {"content": {"_errors": [
        {"code": "BASE_TYPE_MAX_LENGTH", "message": f"Must be {MESSAGE_LIMIT} or fewer in length."}]}}}


def _error(status: int, code: int, message: str) -> tuple[int, JSON]:
    return status, {"message": message, "code": code}


def _matches(pattern: str, method: str, path: str) -> bool:
    return fnmatch.fnmatchcase(f"{method} {path}" if " " in pattern else path, pattern)


def _guild_of(event: str, data: JSON) -> int | None:
    """The guild an event belongs to (None: a DM or no guild at all)."""
    guild = data.get("id") if event in ("GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE") else data.get("guild_id")
    return int(guild) if guild else None


def _on_shard(shard: list[int] | None, guild_id: int | None) -> bool:
    """Whether a connection with this shard gets the events of `guild_id` (None: no guild)."""
    if shard is None:
        return True
    index, count = shard
    return (guild_id >> 22) % count == index if guild_id is not None else index == 0


def _option_type(value: Any) -> int:
    if isinstance(value, dict) and "filename" in value:
        return 11
    if isinstance(value, bool):
        return 5
    if isinstance(value, int):
        return 4
    if isinstance(value, float):
        return 10
    return 3

