"""Translating a chat message between Korean and English, the direction read from the text."""

from __future__ import annotations

import re

_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")
_LETTER = re.compile(r"[^\W\d_]")

_INSTRUCTIONS = {
    "en": (
        "Translate the user's message into natural English. Answer with the translation only, "
        "keeping names, numbers, code, links and line breaks as they are."
    ),
    "ko": (
        "사용자의 메시지를 자연스러운 한국어로 번역하세요. 번역문만 답하고, 이름·숫자·코드·링크와 "
        "줄바꿈은 그대로 두세요."
    ),
}


def target_language(text: str) -> str:
    """"en" for Korean text, "ko" for anything else. Korean with English words in it is still
    Korean: a third of its letters in Hangul is enough."""
    letters = _LETTER.findall(text)
    hangul = sum(1 for letter in letters if _HANGUL.match(letter))
    return "en" if letters and hangul * 3 >= len(letters) else "ko"


def translation_system(text: str) -> str:
    return _INSTRUCTIONS[target_language(text)]
