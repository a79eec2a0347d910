"""Chat lines (a thread, a channel's recent messages) as a text the summarizer reads whole, chunk
by chunk like a document (bot.core.summary), and the summary's message numbers made links.

Each line is "[#N] author: text": the model cites the key messages by number, which costs a few
tokens where a link would cost dozens, and the numbers are turned into links afterwards."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_CITATION = re.compile(r"\[#(\d+)\]")


@dataclass(frozen=True, slots=True)
class ChatLine:
    author: str  # a display name, as people in the conversation know them
    text: str
    link: str = ""  # where the message can be opened (a permalink); "" if none


def transcript(lines: Sequence[ChatLine]) -> str:
    """The lines numbered from 1, one paragraph each (the chunker cuts between paragraphs first)."""
    return "\n\n".join(f"[#{i}] {line.author}: {line.text.strip()}" for i, line in enumerate(lines, 1))


def with_links(summary: str, lines: Sequence[ChatLine]) -> str:
    """`summary` with each [#N] it cites made a Markdown link to message N (when it has one)."""

    def link(match: re.Match[str]) -> str:
        index = int(match[1])
        if 1 <= index <= len(lines) and lines[index - 1].link:
            return f"[#{index}]({lines[index - 1].link})"
        return match[0]

    return _CITATION.sub(link, summary)
