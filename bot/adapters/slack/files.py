"""Fetching a file a user shared: with the bot token, never more than the size limit."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import aiohttp

from bot.core.errors import BotError

if TYPE_CHECKING:  # the document package loads the format libraries
    from bot.core.documents import ExtractionLimits

log = logging.getLogger(__name__)

_CHUNK = 64 * 1024
_TIMEOUT = aiohttp.ClientTimeout(total=300, sock_connect=10, sock_read=60)


class FileDownloadFailed(BotError):
    code = "slack_file_download"


def file_name(file: dict[str, Any]) -> str:
    return str(file.get("name") or file.get("title") or file.get("id") or "file")


def check_size(file: dict[str, Any], limits: ExtractionLimits) -> None:
    """Refuse a file Slack says is too large before a byte of it is fetched."""
    if int(file.get("size") or 0) > limits.max_bytes:
        raise limits.too_large()


async def download(file: dict[str, Any], token: str, limits: ExtractionLimits) -> bytes:
    """The file's bytes. Raises DocumentTooLarge past the limit (the transfer is abandoned there)
    and FileDownloadFailed when Slack does not hand the file over."""
    check_size(file, limits)
    name = file_name(file)
    url = file.get("url_private_download") or file.get("url_private")
    if not url:
        raise FileDownloadFailed(name=name)
    try:
        async with aiohttp.ClientSession(timeout=_TIMEOUT, trust_env=True) as session:
            async with session.get(url, headers={"Authorization": f"Bearer {token}"}) as response:
                _check_response(response, file)
                return await _read_capped(response, limits)
    except (aiohttp.ClientError, asyncio.TimeoutError) as error:
        log.warning("download of file %s failed: %s", file.get("id"), type(error).__name__)
        raise FileDownloadFailed(name=name) from None


def _check_response(response: aiohttp.ClientResponse, file: dict[str, Any]) -> None:
    # Without a valid token Slack answers 200 with its HTML sign-in page instead of the file.
    login_page = response.content_type == "text/html" and file.get("mimetype") != "text/html"
    if response.status != 200 or login_page:
        log.warning("file %s: got %s %s, not the file", file.get("id"), response.status, response.content_type)
        raise FileDownloadFailed(name=file_name(file))


async def _read_capped(response: aiohttp.ClientResponse, limits: ExtractionLimits) -> bytes:
    if (response.content_length or 0) > limits.max_bytes:
        raise limits.too_large()
    data = bytearray()
    async for chunk in response.content.iter_chunked(_CHUNK):
        data += chunk
        if len(data) > limits.max_bytes:
            raise limits.too_large()
    return bytes(data)
