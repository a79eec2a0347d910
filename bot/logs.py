"""Logging set-up with one guarantee: configured secrets never reach a log line."""

from __future__ import annotations

import logging
import os

from bot.config import Settings
from bot.startup import describe
from bot.workers import Worker

_SECRET_ENV = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID")


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        # Longest first, so a secret containing another is hidden whole.
        self.secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

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
        return text


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
    handler = logging.StreamHandler()
    # Several workers write to one output: each line says whose it is.
    tag = f"[worker {worker}] " if worker.shared else ""
    handler.setFormatter(logging.Formatter(f"%(asctime)s %(levelname)s {tag}%(name)s: %(message)s"))
    handler.addFilter(OneLineNetworkErrors())
    handler.addFilter(RedactSecrets(secret_values(settings)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
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
