"""Every download, whatever the platform: from trusted origins only, never to a private address
the operator did not name, no redirect elsewhere, a hard byte cap and a deadline."""

from __future__ import annotations

import time

import pytest

from bot.core.documents import ExtractionLimits
from bot.core.errors import DocumentTooLarge
from bot.frontend.downloads import DownloadFailed, WebOrigin, TrustedHosts, UntrustedSource, fetch, is_public_address
from fakes.file_host import FileHost

LIMITS = ExtractionLimits(max_bytes=200_000)
SECRET = {"Authorization": "Bearer xoxb-secret"}


def named(*hosts: FileHost) -> TrustedHosts:
    """Hosts as the operator would configure them: loopback allowed."""
    return TrustedHosts(named=frozenset(WebOrigin("http", "127.0.0.1", host.port) for host in hosts))


# "localhost" stands for a CDN name whose DNS answer was swapped for 127.0.0.1.
@pytest.mark.parametrize("platform_host", ["localhost", "127.0.0.1"])
async def test_a_platform_host_at_a_private_address_is_never_contacted(platform_host: str) -> None:
    async with FileHost() as host:
        host.files["/a.pdf"] = b"%PDF-1.7"
        trusted = TrustedHosts(public=frozenset({WebOrigin("http", platform_host, host.port)}))
        with pytest.raises(UntrustedSource):
            await fetch(f"http://{platform_host}:{host.port}/a.pdf", trusted, LIMITS, name="a.pdf")

    assert host.connections == 0


async def test_redirects_stay_within_the_origin_and_credentials_never_leave_it() -> None:
    async with FileHost() as host, FileHost() as elsewhere:
        host.files["/a.pdf"] = elsewhere.files["/a.pdf"] = b"%PDF-1.7 same"
        trusted = named(host, elsewhere)  # even a trusted origin is not followed to from another
        inside = await fetch(host.url(f"/redirect?to={host.url('/a.pdf')}"), trusted, LIMITS, name="a", headers=SECRET)
        with pytest.raises(UntrustedSource):
            await fetch(host.url(f"/redirect?to={elsewhere.url('/a.pdf')}"), trusted, LIMITS, name="a", headers=SECRET)

    assert inside.data == b"%PDF-1.7 same"
    assert [r.path for r in host.received].count("/a.pdf") == 1 and elsewhere.connections == 0


async def test_a_body_without_length_stops_at_the_cap() -> None:
    async with FileHost() as host:
        with pytest.raises(DocumentTooLarge):
            await fetch(host.url("/endless"), named(host), LIMITS, name="a.pdf")
        sent_after = host.sent

    # What the server got into socket buffers before the connection dropped, not 400 MB.
    assert sent_after < LIMITS.max_bytes + 8 * 1024 * 1024


async def test_a_download_that_never_finishes_fails_at_its_deadline() -> None:
    async with FileHost() as host:
        started = time.monotonic()
        with pytest.raises(DownloadFailed):
            await fetch(host.url("/drip"), named(host), LIMITS, name="a.pdf", timeout=1.0)
        took = time.monotonic() - started

    assert 1.0 <= took < 3.0


async def test_schemes_hosts_and_ports_outside_the_list_are_refused_before_connecting() -> None:
    async with FileHost() as host:
        host.files["/a.pdf"] = b"%PDF-1.7"
        trusted = named(host)
        for url in (
            f"https://127.0.0.1:{host.port}/a.pdf",
            f"http://localhost:{host.port}/a.pdf",
            f"http://127.0.0.1:{host.port + 1}/a.pdf",
            f"ftp://127.0.0.1:{host.port}/a.pdf",
            "file:///etc/passwd",
        ):
            with pytest.raises(UntrustedSource):
                await fetch(url, trusted, LIMITS, name="a.pdf")
        assert (await fetch(host.url("/a.pdf"), trusted, LIMITS, name="a.pdf")).data == b"%PDF-1.7"

    assert host.connections == 1


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
                "0.0.0.0", "::1", "fe80::1", "fd00::1", "::ffff:127.0.0.1", "224.0.0.1"],
)  # fmt: skip
def test_private_loopback_and_link_local_addresses_are_not_public(address: str) -> None:
    assert not is_public_address(address)


def test_public_addresses_are_public() -> None:
    assert is_public_address("162.159.128.233") and is_public_address("2606:4700::6810:85e5")
