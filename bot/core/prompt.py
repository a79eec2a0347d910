"""The Llama 3 chat format, built in one place.

Format (Meta's reference ChatFormat): `<|begin_of_text|>`, then per message
`<|start_header_id|>{role}<|end_header_id|>\n\n{content.strip()}<|eot_id|>`, ending with an open
assistant header. Servers that take a raw `inputs` string turn special-token text inside it into
real special tokens, so every piece of content passes through `neutralize` first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

Role = Literal["system", "user", "assistant"]

BEGIN = "<|begin_of_text|>"
EOT = "<|eot_id|>"
# A zero-width space between '<' and '|' keeps the text readable while making it impossible for
# any `<|...|>` special token to be spelled out of user-controlled content.
_BREAK = "<\u200b|"

SYSTEM_PROMPTS = {
    "ko": (
        "당신은 한국 팀의 업무를 돕는 친절하고 유능한 AI 비서입니다. "
        "항상 정중한 존댓말로, 정확하고 간결하게 답하세요. 이모지는 쓰지 마세요. "
        "사용자가 다른 언어를 요청하지 않는 한 한국어로 답하세요. "
        "모르는 내용은 지어내지 말고 모른다고 말하세요."
    ),
    "en": (
        "You are a friendly and capable AI assistant helping a team at work. "
        "Answer politely, accurately and concisely, without emojis. "
        "Answer in English unless the user asks for another language. "
        "If you do not know something, say so instead of making it up."
    ),
}


@dataclass(frozen=True, slots=True)
class Turn:
    role: Role
    content: str


def neutralize(text: str) -> str:
    """Make special-token text inert: `<|eot_id|>` can no longer become token 128009."""
    return text.replace("<|", _BREAK)


def header(role: Role) -> str:
    return f"<|start_header_id|>{role}<|end_header_id|>\n\n"


def render_turn(turn: Turn) -> str:
    return f"{header(turn.role)}{neutralize(turn.content.strip())}{EOT}"


def llama3_prompt(turns: Sequence[Turn]) -> str:
    """The exact prompt string for `turns`, ending where the assistant's answer begins."""
    return BEGIN + "".join(render_turn(turn) for turn in turns) + header("assistant")


_PERSONA = {"ko": "\n\n이 채널에서 지켜야 할 말투와 역할: {persona}", "en": "\n\nIn this channel, your role and tone: {persona}"}


def system_prompt(language: str, override: str | None = None, persona: str = "") -> str:
    """The system prompt in `language` (or the configured `override`), with a channel's persona."""
    system = override or SYSTEM_PROMPTS.get(language, SYSTEM_PROMPTS["ko"])
    if not persona:
        return system
    return system + _PERSONA.get(language, _PERSONA["ko"]).format(persona=neutralize(persona))


_DOCUMENT_CONTEXT = {
    "ko": (
        "\n\n아래는 사용자가 이 대화에 올린 문서에서 질문과 관련된 부분입니다. 문서에 관한 질문에는 "
        "이 내용을 근거로 답하고, 문서에 없는 내용은 문서에 없다고 말하세요."
    ),
    "en": (
        "\n\nBelow are the parts of the documents the user shared in this conversation that relate "
        "to the question. Base answers about the documents on them, and say so when they do not "
        "contain the answer."
    ),
}


def with_passages(system: str, language: str, passages: Sequence[tuple[str, str]]) -> str:
    """`system` followed by (filename, passage) pairs from the conversation's documents."""
    if not passages:
        return system
    quoted = "".join(f"\n\n[{name}]\n{text}" for name, text in passages)
    return system + _DOCUMENT_CONTEXT.get(language, _DOCUMENT_CONTEXT["ko"]) + quoted
