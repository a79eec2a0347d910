"""Per-channel settings as admins change them and users read them, the same on every front end:
the words that name each setting, parsing a change ("언어 en", "페르소나 친절한 선생님",
"멘션 필요"), and the summary shown by /help and the settings command."""

from __future__ import annotations

from bot.core.memory.channels import ChannelSettings, Changes
from bot.frontend.texts import Texts

RESET = "reset"

_PERSONA = ("persona", "페르소나", "말투")
_LANGUAGE = ("language", "언어")
_MENTION = ("mention", "멘션")
_RESET = ("reset", "초기화")
_YES = ("on", "yes", "true", "필요", "켜기")
_NO = ("off", "no", "false", "불필요", "끄기")
_LANGUAGES = {"ko": "ko", "한국어": "ko", "en": "en", "english": "en", "영어": "en"}


def requested(command: str) -> Changes | str | None:
    """The change `command` asks for, RESET for all back to the defaults, None when it asks for
    nothing this knows."""
    name, _, value = command.strip().partition(" ")
    name, value = name.lower(), value.strip()
    if name in _RESET:
        return RESET
    if name in _PERSONA:
        return {"persona": value}
    if name in _LANGUAGE and value.lower() in _LANGUAGES:
        return {"language": _LANGUAGES[value.lower()]}
    if name in _MENTION and value.lower() in _YES + _NO:
        return {"followups_need_mention": value.lower() in _YES}
    return None


def summary(settings: ChannelSettings, texts: Texts) -> str:
    default = texts("settings_default")
    mention = default if settings.followups_need_mention is None else ("O" if settings.followups_need_mention else "X")
    return texts(
        "settings_summary", persona=settings.persona or default, language=settings.language or default, mention=mention
    )
