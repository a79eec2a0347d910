"""Slack: `python -m bot slack`.

Socket Mode (SLACK_APP_TOKEN; the default when it is set) needs nothing exposed to the internet.
HTTP mode (SLACK_SIGNING_SECRET) serves events at `/slack/events`, and `/healthz` and `/readyz`
(bot.monitoring) on SLACK_HTTP_PORT."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal, TypeVar

import aiohttp
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.app import SlackBot, create_app
from bot.adapters.slack.http_server import listening
from bot.adapters.slack.surface import PausingRateLimits
from bot.config import Settings
from bot.core.engine import ChatEngine
from bot.core.errors import ConfigError
from bot.core.metrics import PLATFORM_CONNECTED
from bot.monitoring import add_health_routes
from bot.startup import NETWORK_ERRORS, Target, Unreachable, with_retries
from bot.workers import Worker

log = logging.getLogger(__name__)

Mode = Literal["socket", "http"]
EVENTS_PATH = "/slack/events"
SOCKET_MODE_CONNECTIONS = 10  # per app, at once; Slack refuses more ("too_many_websockets")
_TOKEN_FIXES = {
    "SLACK_BOT_TOKEN": "copy the Bot User OAuth Token (xoxb-…) from OAuth & Permissions of your Slack app.",
    "SLACK_APP_TOKEN": "generate an app-level token (xapp-…) with the connections:write scope under Basic "
    "Information → App-Level Tokens.",
}
T = TypeVar("T")


@dataclass(frozen=True)
class Running:
    mode: Mode
    bot: SlackBot
    app: AsyncApp
    url: str | None  # HTTP mode: where the server listens


async def serve(settings: Settings, engine: ChatEngine, worker: Worker = Worker()) -> None:
    async with running(settings, engine, worker=worker) as service:
        log.info("Slack bot running in %s mode%s", service.mode, f" at {service.url}" if service.url else "")
        await asyncio.Event().wait()


@asynccontextmanager
async def running(
    settings: Settings, engine: ChatEngine, *, host: str = "0.0.0.0", worker: Worker = Worker()
) -> AsyncIterator[Running]:
    """The bot connected (Socket Mode: one connection per worker) or listening (HTTP: workers
    share the port) until the block ends."""
    mode = slack_mode(settings)
    session = _api_session()
    try:
        async with _serving(settings, engine, session, mode, host, worker) as running_bot:
            yield running_bot
    finally:
        await session.close()


@asynccontextmanager
async def _serving(
    settings: Settings, engine: ChatEngine, session: aiohttp.ClientSession, mode: Mode, host: str, worker: Worker
) -> AsyncIterator[Running]:
    client = web_client(settings, session)
    me = await _check(client.auth_test, "SLACK_BOT_TOKEN", settings)
    bot = SlackBot(
        settings, engine, client, team=str(me.get("team_id") or ""), workspace_url=str(me.get("url") or ""),
        bot_user_id=str(me.get("user_id") or ""),
    )  # fmt: skip
    secret = settings.slack_signing_secret if mode == "http" else None
    app = create_app(bot, client, secret.get_secret_value() if secret else None)
    try:
        if mode == "socket":
            async with _socket_mode(app, settings):
                yield Running(mode, bot, app, None)
        else:
            async with _http(app, host, settings, shared=worker.shared) as url:
                PLATFORM_CONNECTED.labels("slack").set(1)
                yield Running(mode, bot, app, url)
    finally:
        PLATFORM_CONNECTED.labels("slack").set(0)
        await bot.aclose()


def slack_mode(settings: Settings) -> Mode:
    """Socket Mode or HTTP, as SLACK_MODE says or else as the configured credentials allow."""
    if not settings.slack_bot_token:
        raise ConfigError("SLACK_BOT_TOKEN is not set: give the bot token (xoxb-…) of your Slack app.")
    mode = settings.slack_mode or (
        "socket" if settings.slack_app_token else "http" if settings.slack_signing_secret else None
    )
    if mode is None:
        raise ConfigError("Set SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode).")
    if mode == "socket" and not settings.slack_app_token:
        raise ConfigError("Socket Mode needs SLACK_APP_TOKEN: an app-level token (xapp-…) with connections:write.")
    if mode == "socket" and settings.workers > SOCKET_MODE_CONNECTIONS:
        raise ConfigError(
            f"WORKERS={settings.workers}: Slack allows an app {SOCKET_MODE_CONNECTIONS} Socket Mode connections, "
            "one per worker. Use fewer workers, or HTTP mode (SLACK_SIGNING_SECRET)."
        )
    if mode == "http" and not settings.slack_signing_secret:
        raise ConfigError("HTTP mode needs SLACK_SIGNING_SECRET (Basic Information → App Credentials).")
    return mode


# Without a session of its own, slack_sdk opens a new aiohttp session, so a new TCP and TLS
# connection, for every Web API call and closes it after (slack_sdk/web/async_internal_utils.py,
# _request_with_session): a connect per chat.update and appendStream. The shared session keeps
# connections to Slack alive; its timeout is the one slack_sdk would set (AsyncWebClient's 30 s).
API_TIMEOUT = aiohttp.ClientTimeout(total=30)
API_CONNECTIONS = 200  # calls to Slack at once, per process; more wait for a free connection


def _api_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(timeout=API_TIMEOUT, connector=aiohttp.TCPConnector(limit=API_CONNECTIONS))


def web_client(settings: Settings, session: aiohttp.ClientSession | None = None) -> AsyncWebClient:
    assert settings.slack_bot_token is not None  # checked by slack_mode
    return AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=_api_url(settings),
        session=session,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            PausingRateLimits(max_retry_count=3),  # waits as long as Retry-After says
        ],
    )


def _api_url(settings: Settings) -> str:
    return settings.slack_api_url if settings.slack_api_url.endswith("/") else f"{settings.slack_api_url}/"


async def check_bot_token(settings: Settings) -> str:
    """Who SLACK_BOT_TOKEN is, asked of Slack (`doctor`)."""
    me = await _check(web_client(settings).auth_test, "SLACK_BOT_TOKEN", settings)
    return f"bot user {me.get('user')} in workspace {me.get('team')}"


async def check_app_token(settings: Settings) -> str:
    """Whether SLACK_APP_TOKEN may open a Socket Mode connection (`doctor`: none is opened)."""
    assert settings.slack_app_token is not None
    client = AsyncWebClient(base_url=_api_url(settings))
    token = settings.slack_app_token.get_secret_value()
    await _check(lambda: client.apps_connections_open(app_token=token), "SLACK_APP_TOKEN", settings)
    return "may open Socket Mode connections (apps.connections.open)"


async def _check(call: Callable[[], Awaitable[T]], variable: str, settings: Settings) -> T:
    """A first Slack call at start-up. A token Slack refuses stops the bot with a message naming
    it; a network or a Slack that fails is retried (bot.startup)."""

    async def attempt() -> T:
        try:
            return await call()
        except SlackApiError as error:
            if _transient(error):
                raise
            code = error.response.get("error")
            raise ConfigError(f"Slack rejected {variable} ({code}): {_TOKEN_FIXES[variable]}") from None

    target = Target("Slack", settings.slack_api_url, "SLACK_API_URL")
    return await with_retries(attempt, target, settings.platform_startup_timeout_seconds, _transient)


def _transient(error: BaseException) -> bool:
    if isinstance(error, SlackApiError):
        return error.response.status_code >= 500 or error.response.get("error") == "ratelimited"
    return isinstance(error, NETWORK_ERRORS)


@asynccontextmanager
async def _socket_mode(app: AsyncApp, settings: Settings) -> AsyncIterator[None]:
    assert settings.slack_app_token is not None  # checked by slack_mode
    handler = AsyncSocketModeHandler(app, app_token=settings.slack_app_token.get_secret_value())
    # slack_sdk's connect() retries every failure forever, a wrong token included (its
    # SocketModeClient.connect catches every Exception and sleeps ping_interval): so the app
    # token is checked here first, and the connection opened with the URL it got.
    handler.client.wss_uri = await _check(handler.client.issue_new_wss_url, "SLACK_APP_TOKEN", settings)
    try:
        await asyncio.wait_for(handler.connect_async(), max(settings.platform_startup_timeout_seconds, 1.0))
    except TimeoutError:
        await handler.close_async()
        raise Unreachable(
            "Slack's Socket Mode websocket (wss-primary.slack.com) did not open: check that the network "
            "or the proxy (HTTPS_PROXY) lets websockets through, or use HTTP mode (SLACK_SIGNING_SECRET)."
        ) from None
    following = asyncio.create_task(_follow_connection(handler.client))
    try:
        yield
    finally:
        following.cancel()
        await handler.close_async()


CONNECTION_CHECK_SECONDS = 1.0


async def _follow_connection(client: AsyncBaseSocketModeClient) -> None:
    """Whether the Socket Mode connection is up, for /readyz: slack_sdk reconnects by itself
    (after Slack's `disconnect` frames, a dropped socket, failed pings) and tells no one."""
    while True:
        PLATFORM_CONNECTED.labels("slack").set(1 if await client.is_connected() else 0)
        await asyncio.sleep(CONNECTION_CHECK_SECONDS)


@asynccontextmanager
async def _http(app: AsyncApp, host: str, settings: Settings, *, shared: bool) -> AsyncIterator[str]:
    port = settings.slack_http_port
    web_app = app.web_app(path=EVENTS_PATH, port=port)
    add_health_routes(web_app)
    async with listening(
        web_app, host, port, shared=shared, timeout=settings.slack_http_timeout_seconds,
        max_connections=settings.slack_http_max_connections,
    ) as url:  # fmt: skip
        yield url
