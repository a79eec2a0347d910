"""Per-channel settings as admins change them and users read them, the same on every front end:
the words that name each setting, parsing a change ("언어 en", "페르소나 친절한 선생님",
"멘션 필요"), the settings command's flow, and the summary shown by /help and that command."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Literal

from redis.exceptions import RedisError

from bot.core.memory.channels import ChannelSettings, ChannelSettingsStore, Changes
from bot.frontend.texts import Texts, texts_for

log = logging.getLogger(__name__)

# What a settings command asks for, besides a change: the settings shown, all of them back to
# the defaults, or something this does not know (answered with the usage).
Asked = Changes | Literal["show", "reset", "unknown"]

_PERSONA = ("persona", "페르소나", "말투")
_LANGUAGE = ("language", "언어")
_MENTION = ("mention", "멘션")
_RESET = ("reset", "초기화")
_YES = ("on", "yes", "true", "필요", "켜기")
_NO = ("off", "no", "false", "불필요", "끄기")
_LANGUAGES = {"ko": "ko", "한국어": "ko", "en": "en", "english": "en", "영어": "en"}


def requested(command: str) -> Asked:
    """What the command's text (after the command's name) asks for."""
    name, _, value = command.strip().partition(" ")
    name, value = name.lower(), value.strip()
    if not name:
        return "show"
    if name in _RESET:
        return "reset"
    if name in _PERSONA:
        return {"persona": value}
    if name in _LANGUAGE and value.lower() in _LANGUAGES:
        return {"language": _LANGUAGES[value.lower()]}
    if name in _MENTION and value.lower() in _YES + _NO:
        return {"followups_need_mention": value.lower() in _YES}
    return "unknown"


async def command(
    store: ChannelSettingsStore, channel: str, asked: Asked, *, admin: bool, bot_language: str,
    usage: Callable[[Texts], str],
) -> str:  # fmt: skip
    """The reply to a settings command in `channel` (as the store names it): the settings and
    `usage` to anyone; a change or a reset only for an `admin` (which the front end decides),
    answered in the channel's language after the change."""
    current = await store.get(channel)
    texts = texts_for(current.language_or(bot_language))
    if asked == "show":
        return f"{summary(current, texts)}\n{usage(texts)}"
    if not admin:
        return texts("settings_admins_only")
    if asked == "unknown":
        return usage(texts)
    try:
        if asked == "reset":
            await store.reset(channel)
            updated = ChannelSettings()
        else:
            updated = await store.change(channel, asked)  # type: ignore[arg-type]
    except (RedisError, OSError):
        log.warning("channel settings not saved", exc_info=True)
        return texts("settings_unavailable")
    texts = texts_for(updated.language_or(bot_language))
    return texts("settings_saved", summary=summary(updated, texts))


def summary(settings: ChannelSettings, texts: Texts) -> str:
    default = texts("settings_default")
    mention = default if settings.followups_need_mention is None else ("O" if settings.followups_need_mention else "X")
    return texts(
        "settings_summary", persona=settings.persona or default, language=settings.language or default, mention=mention
    )
