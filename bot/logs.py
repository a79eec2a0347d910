"""Logging set-up with one guarantee: secrets never reach a log line, at any level.

LOG_LEVEL sets the level (DEBUG shows what slack_sdk, botocore and discord.py log of their
requests); LOG_FORMAT=json writes one JSON object a line, with the fields an answer's line
carries (bot.frontend.flows). Every line, whichever format, passes `RedactSecrets` first."""

from __future__ import annotations

import json
import logging
import os
import re
from datetime import datetime, timezone
from urllib.parse import quote, quote_plus

from bot.config import Settings
from bot.startup import describe
from bot.workers import Worker

_SECRET_ENV = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID")


# Credentials of the kinds the bot handles, configured here or not (a token in a library's debug
# line may be one the settings never held): Slack tokens (docs.slack.dev, "Tokens": xoxb-, xoxp-,
# xapp-, ...), the value of any Authorization header (Slack's and OpenAI's `Bearer`, Discord's
# `Bot`, AWS Signature V4's `AWS4-HMAC-SHA256 Credential=..., Signature=...`), the signature and
# session token of a signed AWS request as botocore's debug output shows them, and Discord bot
# tokens (base64 user id, timestamp, HMAC, dot-separated).
_PATTERNS = re.compile(
    r"xox[abposre]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+"
    r"|(?<=Authorization)(['\"]?\s*[:=]\s*(?-i:b)?['\"]?)[^'\"\n]+"
    r"|(?-i:(?<=Bearer ))[A-Za-z0-9._~+/=-]{16,}"
    r"|(?<=Signature=)[0-9a-f]{16,}|(?<=Signature:\n)[0-9a-f]{16,}|(?<=Credential=)[A-Z0-9]{12,}"
    r"|(?<=X-Amz-Security-Token)(['\"]?\s*[:=]\s*(?-i:b)?['\"]?)[^'\"\s&,]+"
    r"|[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38}",
    re.IGNORECASE,
)


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        # As written and URL-encoded (a token in a query string or a form body); longest first,
        # so a secret containing another is hidden whole.
        forms = {form for s in secrets if len(s) >= 6 for form in _written(s)}
        self.secrets = sorted(forms, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        redacted, text = self._redact(message), self._redact(record.exc_text or "")
        record.msg, record.args = redacted, None
        if record.exc_text:
            record.exc_text = text
        return True

    def _redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[REDACTED]")
        return _PATTERNS.sub(_redacted, text)


def _written(secret: str) -> set[str]:
    """`secret` as it is, and percent-encoded as clients write it (upper or lower case hex)."""
    encoded = {quote(secret, safe=""), quote_plus(secret)}
    return {secret, *encoded, *(re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), e) for e in encoded)}


def _redacted(match: re.Match[str]) -> str:
    """The match hidden, keeping what only led up to it (`Authorization': b'`)."""
    lead = match.group(1) or match.group(2) or ""
    return f"{lead}[REDACTED]"


# What an answer's log line may carry besides its message (bot.frontend.flows), as JSON fields.
FIELDS = ("platform", "team", "conversation", "outcome", "latency_seconds", "first_text_seconds",
          "tokens_in", "tokens_out")  # fmt: skip


class JsonLines(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, the worker, the
    answer's fields where known, and a failure's traceback as `error`."""

    def __init__(self, worker: Worker) -> None:
        super().__init__()
        self.worker = str(worker) if worker.shared else None

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if self.worker:
            line["worker"] = self.worker
        line.update((name, getattr(record, name)) for name in FIELDS if getattr(record, name, None) is not None)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["error"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)


class OneLineNetworkErrors(logging.Filter):
    """The platform libraries log every failed (re)connection with a full traceback (slack_sdk's
    SocketModeClient.connect, discord.py's Client.connect): for a network or platform error the
    exception's own words on the same line say all there is, so the traceback goes. Errors of
    any other kind, and everything our own code logs, keep theirs."""

    _PLATFORM_MODULES = ("slack_sdk", "slack_bolt", "discord", "aiohttp")

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is None or record.name.startswith("bot") or not self._network(error):
            return True
        record.msg, record.args = f"{record.getMessage()} ({describe(error)})", None
        record.exc_info = record.exc_text = None
        return True

    def _network(self, error: BaseException) -> bool:
        return isinstance(error, (OSError, TimeoutError)) or type(error).__module__.startswith(self._PLATFORM_MODULES)


def secret_values(settings: Settings) -> list[str]:
    values = [os.environ.get(name, "") for name in _SECRET_ENV]
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if hasattr(value, "get_secret_value"):
            values.append(value.get_secret_value())
    return [value for value in values if value]


def setup_logging(settings: Settings, level: int = logging.INFO, worker: Worker = Worker()) -> None:
    """Log at LOG_LEVEL when it is set, else at `level` (the command's default)."""
    handler = logging.StreamHandler()
    if settings.log_format == "json":
        handler.setFormatter(JsonLines(worker))
    else:
        # Several workers write to one output: each line says whose it is.
        tag = f"[worker {worker}] " if worker.shared else ""
        handler.setFormatter(logging.Formatter(f"%(asctime)s %(levelname)s {tag}%(name)s: %(message)s"))
    handler.addFilter(OneLineNetworkErrors())
    handler.addFilter(RedactSecrets(secret_values(settings)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level or level)
    # langchain-aws logs a full traceback for every failed call; ours are classified and logged.
    logging.getLogger("langchain_aws").setLevel(logging.CRITICAL)
    logging.getLogger("slack_bolt").addFilter(_Dropped("`token` will be unused"))
    logging.getLogger("discord.client").addFilter(_Dropped("voice will NOT be supported"))


class _Dropped(logging.Filter):
    """Warnings a library gives at every start that say nothing to this bot's operator: bolt
    reads SLACK_BOT_TOKEN by itself and warns that the client's (the same) token wins; discord.py
    warns that voice libraries are missing from a bot that never speaks."""

    def __init__(self, words: str) -> None:
        super().__init__()
        self.words = words

    def filter(self, record: logging.LogRecord) -> bool:
        return self.words not in record.getMessage()
