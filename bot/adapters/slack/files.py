"""Fetching a file a user shared: with the bot token, from Slack's own file host only, never more
than the size limit.

What this relies on, from Slack's file object (docs.slack.dev/reference/objects/file-object):
`url_private` / `url_private_download` need `Authorization: Bearer <token>` and, for files hosted
by Slack, point at files.slack.com (files.slack-gov.com on GovSlack); without the token Slack
answers 200 with its HTML sign-in page. `is_external: true` (with `mode: "external"`) marks a
file whose master copy lives elsewhere, `external_type` says where ("gdrive", "dropbox", "box",
"onedrive", or "app" for one any app added with files.remote.add), and its `url_private` then
points at that service: the token must never go there. slack_sdk does not model file objects."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.core.errors import BotError
from bot.frontend.downloads import TIMEOUT_SECONDS, DownloadFailed, WebOrigin, TrustedHosts, fetch

if TYPE_CHECKING:  # the document package loads the format libraries
    from bot.core.documents import ExtractionLimits

log = logging.getLogger(__name__)

SLACK_API_URL = "https://slack.com/api/"


class FileDownloadFailed(BotError):
    code = "slack_file_download"


class ExternalFile(BotError):
    """Stored outside Slack (Google Drive, files.remote.add, ...): not fetched."""

    code = "slack_file_external"


def file_name(file: dict[str, Any]) -> str:
    return str(file.get("name") or file.get("title") or file.get("id") or "file")


def check_size(file: dict[str, Any], limits: ExtractionLimits) -> None:
    """Refuse a file Slack says is too large before a byte of it is fetched."""
    if int(file.get("size") or 0) > limits.max_bytes:
        raise limits.too_large()


def trusted_hosts(api_url: str = SLACK_API_URL) -> TrustedHosts:
    """Slack's file host for the Web API in use (files.slack.com for slack.com, files.slack-gov.com
    for slack-gov.com), over https. An SLACK_API_URL the operator set is trusted as well, scheme
    and port included (a test's loopback): the token goes there with every call anyway."""
    api = WebOrigin.of(api_url)
    if api is None:
        return TrustedHosts()
    files = frozenset({WebOrigin("https", f"files.{api.host}", 443)})
    if api == WebOrigin.of(SLACK_API_URL):
        return TrustedHosts(public=files)
    return TrustedHosts(public=files, named=frozenset({api}))


async def download(
    file: dict[str, Any],
    token: str,
    limits: ExtractionLimits,
    *,
    api_url: str = SLACK_API_URL,
    timeout: float = TIMEOUT_SECONDS,
) -> bytes:
    """The file's bytes. Raises DocumentTooLarge past the limit (the transfer is abandoned there),
    ExternalFile for a file stored outside Slack, UntrustedSource for a URL off Slack's file host
    (the token is not sent), FileDownloadFailed when Slack does not hand the file over."""
    check_size(file, limits)
    name = file_name(file)
    if file.get("is_external") or file.get("mode") == "external":
        log.info("file %s is external (%s): not fetched", file.get("id"), file.get("external_type") or "?")
        raise ExternalFile(name=name)
    url = file.get("url_private_download") or file.get("url_private")
    if not url:
        raise FileDownloadFailed(name=name)
    try:
        fetched = await fetch(
            url, trusted_hosts(api_url), limits, name=name, headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        )
    except DownloadFailed:
        raise FileDownloadFailed(name=name) from None
    # Without a valid token Slack answers 200 with its HTML sign-in page instead of the file.
    if fetched.content_type == "text/html" and file.get("mimetype") != "text/html":
        log.warning("file %s: got Slack's sign-in page, not the file", file.get("id"))
        raise FileDownloadFailed(name=name)
    return fetched.data


class SharedFile:
    """A file shared in Slack, as the document flow fetches it (`bot.frontend.flows.DocumentSource`)."""

    def __init__(self, client: AsyncWebClient, file: dict[str, Any]) -> None:
        self.client = client
        self.file = file
        self.name = file_name(file)
        self.declared_size = int(file.get("size") or 0) or None

    async def fetch(self, limits: ExtractionLimits) -> bytes:
        file = self.file
        if not file.get("url_private_download") and file.get("id"):
            # Events may carry a partial file object ("file_access": "check_file_info").
            file = (await self.client.files_info(file=file["id"]))["file"]
        return await download(file, str(self.client.token), limits, api_url=self.client.base_url)
