"""Fetching a file a user pointed the bot at: only from hosts we decided to trust, never from a
private address unless the operator named that host, and never more bytes than we can hold.

The URLs come inside objects that others shape (a Slack file's `url_private_download`, which any
app in a workspace can set with files.remote.add; a Discord attachment's `url`), so each is
checked before a connection is opened: scheme, host and port against the trusted origins. The
addresses a host resolves to are checked as the connection is made, so a DNS answer cannot swap
in 127.0.0.1 after the check. Redirects are followed within the same origin only, and the body
is streamed under a hard byte cap whatever Content-Length says."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import urllib.request
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from bot.core.errors import BotError, FileUnreadable

if TYPE_CHECKING:  # the document package loads the format libraries
    from bot.core.documents import ExtractionLimits

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 120.0  # one whole download, redirects included
_CONNECT_SECONDS = 10.0
_READ_SECONDS = 30.0  # the longest silence between two pieces of the body
_MAX_REDIRECTS = 3
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024
_DEFAULT_PORTS = {"http": 80, "https": 443}


class UntrustedSource(BotError):
    """The file lives somewhere the bot does not fetch from; nothing was sent there."""

    code = "file_untrusted_source"


class DownloadFailed(FileUnreadable):
    """A trusted host did not hand the file over: network error, timeout, error status."""


@dataclass(frozen=True)
class WebOrigin:
    scheme: str
    host: str
    port: int

    @classmethod
    def of(cls, url: str | URL) -> WebOrigin | None:
        """The origin of an http(s) URL; None for anything else."""
        try:
            parsed = URL(url)
        except ValueError:
            return None
        # raw_host: as aiohttp resolves and connects to it (an IDN in its xn-- form)
        if parsed.scheme not in _DEFAULT_PORTS or not parsed.raw_host:
            return None
        return cls(parsed.scheme, parsed.raw_host.lower().rstrip("."), parsed.port or _DEFAULT_PORTS[parsed.scheme])


@dataclass(frozen=True)
class TrustedHosts:
    """Where files may be fetched from. The platform's own hosts (`public`) must resolve to
    public addresses; hosts the operator named (`named`: an on-premises server, a test's
    loopback) may resolve to private ones."""

    public: frozenset[WebOrigin] = field(default_factory=frozenset)
    named: frozenset[WebOrigin] = field(default_factory=frozenset)

    def check(self, url: str | URL, name: str) -> WebOrigin:
        origin = WebOrigin.of(url)
        if origin is None or origin not in self.public | self.named or self._private_literal(origin.host):
            log.warning("refused to fetch %s from %s: not a trusted host", name, _where(url))
            raise UntrustedSource(name=name)
        return origin

    def _private_literal(self, host: str) -> bool:
        # aiohttp connects to an IP-literal host without asking the resolver.
        return _address(host) is not None and not is_public_address(host) and host not in self.private_ok

    @property
    def private_ok(self) -> frozenset[str]:
        return frozenset(origin.host for origin in self.named)


@dataclass(frozen=True)
class Fetched:
    data: bytes
    content_type: str


async def fetch(
    url: str,
    trusted: TrustedHosts,
    limits: ExtractionLimits,
    *,
    name: str,
    headers: Mapping[str, str] | None = None,
    timeout: float = TIMEOUT_SECONDS,
) -> Fetched:
    """GET `url` from a trusted host, at most `limits.max_bytes` of it. `headers` (credentials)
    go only to that origin. Raises UntrustedSource, DocumentTooLarge or DownloadFailed."""
    origin = trusted.check(url, name)
    try:
        async with asyncio.timeout(timeout), _session(trusted) as session:
            return await _follow(session, URL(url), origin, limits, name, dict(headers or {}))
    except aiohttp.ClientConnectorError as error:
        if isinstance(error.os_error, _PrivateAddress):
            log.warning("refused to fetch %s: %s", name, error.os_error)
            raise UntrustedSource(name=name) from None
        raise _failed(name, origin, type(error).__name__) from None
    except (aiohttp.ClientError, TimeoutError, ValueError) as error:  # ValueError: a garbled Location
        raise _failed(name, origin, type(error).__name__) from None


async def _follow(
    session: aiohttp.ClientSession, url: URL, origin: WebOrigin, limits: ExtractionLimits, name: str,
    headers: dict[str, str],
) -> Fetched:
    for _ in range(_MAX_REDIRECTS + 1):
        async with session.get(url, headers=headers, allow_redirects=False) as response:
            location = response.headers.get("Location")
            if response.status in _REDIRECT_STATUSES and location:
                url = response.url.join(URL(location))
                if WebOrigin.of(url) != origin:  # the credentials must not follow it elsewhere
                    log.warning("refused a redirect of %s to %s", name, _where(url))
                    raise UntrustedSource(name=name)
                continue
            if response.status != 200:
                raise _failed(name, origin, f"HTTP {response.status}")
            return Fetched(await _read_capped(response, limits), response.content_type)
    raise _failed(name, origin, "too many redirects")


async def _read_capped(response: aiohttp.ClientResponse, limits: ExtractionLimits) -> bytes:
    if (response.content_length or 0) > limits.max_bytes:
        raise limits.too_large()
    data = bytearray()
    async for chunk in response.content.iter_chunked(_CHUNK):
        data += chunk
        if len(data) > limits.max_bytes:  # leaving the block drops the connection mid-body
            raise limits.too_large()
    return bytes(data)


@asynccontextmanager
async def _session(trusted: TrustedHosts) -> AsyncIterator[aiohttp.ClientSession]:
    # An outgoing proxy (HTTPS_PROXY) is the operator's and may sit on a private address; behind
    # it the proxy resolves the target, so only the host check above applies there.
    resolver = _PublicOnlyResolver(trusted.private_ok | _proxy_hosts())
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(resolver=resolver),
        timeout=aiohttp.ClientTimeout(sock_connect=_CONNECT_SECONDS, sock_read=_READ_SECONDS),
        trust_env=True,
        # Compressed bodies would be inflated before the cap counts them.
        auto_decompress=False,
        headers={"Accept-Encoding": "identity"},
    )
    try:
        yield session
    finally:
        await session.close()
        await resolver.close()


class _PrivateAddress(OSError):
    pass


class _PublicOnlyResolver(AbstractResolver):
    """aiohttp's own resolution, minus every address that is not public, except for the hosts
    in `private_ok`. aiohttp connects only to what the resolver returns, so the check and the
    connection see the same addresses."""

    def __init__(self, private_ok: frozenset[str]) -> None:
        self._resolver = aiohttp.ThreadedResolver()
        self._private_ok = private_ok

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = await self._resolver.resolve(host, port, family)
        if host.lower().rstrip(".") in self._private_ok:
            return addresses
        public = [address for address in addresses if is_public_address(address["host"])]
        if not public:
            raise _PrivateAddress(f"{host} resolves to non-public addresses only")
        return public

    async def close(self) -> None:
        await self._resolver.close()


def is_public_address(text: str) -> bool:
    """False for loopback, private, link-local, shared (CGNAT), reserved and multicast
    addresses, IPv4 ones written as IPv6 (::ffff:127.0.0.1) included."""
    address = _address(text)
    if address is None:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _proxy_hosts() -> frozenset[str]:
    proxies = urllib.request.getproxies().values()
    return frozenset(origin.host for url in proxies if (origin := WebOrigin.of(url)) is not None)


def _failed(name: str, origin: WebOrigin, why: str) -> DownloadFailed:
    log.warning("download of %s from %s failed: %s", name, origin.host, why)
    return DownloadFailed(name=name)


def _where(url: str | URL) -> str:
    """The origin of `url`, for logs: its path and query may carry signatures."""
    origin = WebOrigin.of(url)
    return f"{origin.scheme}://{origin.host}:{origin.port}" if origin else "a URL that is not http(s)"
