"""Cutting long text into pieces sized in Llama 3 tokens, on the most natural boundary available:
paragraphs, then sentences (Korean sentences end in '다.', '요.', '?', ...), then, for a run-on
line with no sentence end, plain token windows. Nothing is dropped: joined back, the pieces hold
every character of the input apart from the whitespace at the cuts."""

from __future__ import annotations

import re
from typing import Iterator

from bot.core.tokens import TokenCounter

# Coarsest boundary first: paragraphs, then sentences and lines.
_BOUNDARIES = (re.compile(r"\n\s*\n"), re.compile(r"(?<=[.!?。…])\s+|\n"))


def chunk_text(text: str, counter: TokenCounter, max_tokens: int) -> list[str]:
    chunks: list[str] = []
    current: list[str] = []
    used = 0
    for piece, cost in _pieces(text, counter, max_tokens):
        if current and used + cost > max_tokens:
            chunks.append("\n".join(current))
            current, used = [], 0
        current.append(piece)
        used += cost + 1
    if current:
        chunks.append("\n".join(current))
    return chunks


def _pieces(
    text: str, counter: TokenCounter, max_tokens: int, level: int = 0
) -> Iterator[tuple[str, int]]:
    """Parts that fit, cut at the coarsest boundary that makes them fit, else token windows."""
    for part in _BOUNDARIES[level].split(text):
        part = part.strip()
        if not part:
            continue
        cost = counter.count(part)
        if cost <= max_tokens:
            yield part, cost
        elif level + 1 < len(_BOUNDARIES):
            yield from _pieces(part, counter, max_tokens, level + 1)
        else:
            yield from _windows(part, counter, max_tokens)


def _windows(text: str, counter: TokenCounter, max_tokens: int) -> Iterator[tuple[str, int]]:
    """Character windows shrunk until they fit: a character is never split."""
    start = 0
    while start < len(text):
        size = max(1, min(len(text) - start, max_tokens))
        while size > 1 and counter.count(text[start : start + size]) > max_tokens:
            size = max(1, int(size * 0.8))
        window = text[start : start + size]
        yield window, counter.count(window)
        start += size
