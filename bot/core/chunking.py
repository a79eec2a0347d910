"""Cutting long text into pieces sized in Llama 3 tokens, on the most natural boundary available:
paragraphs, then sentences (Korean sentences end in '다.', '요.', '?', ...), then, for a run-on
line with no sentence end, plain token windows. Nothing is dropped: joined back, the pieces hold
every character of the input apart from the whitespace at the cuts."""

from __future__ import annotations

import re
from typing import Iterator

from bot.core.tokens import TokenCounter

_PARAGRAPHS = re.compile(r"\n\s*\n")
_SENTENCES = re.compile(r"(?<=[.!?。…])\s+|\n")


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


def _pieces(text: str, counter: TokenCounter, max_tokens: int) -> Iterator[tuple[str, int]]:
    """Paragraphs that fit, else their sentences that fit, else token windows."""
    for paragraph in _PARAGRAPHS.split(text):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        cost = counter.count(paragraph)
        if cost <= max_tokens:
            yield paragraph, cost
            continue
        for sentence in _SENTENCES.split(paragraph):
            sentence = sentence.strip()
            if not sentence:
                continue
            cost = counter.count(sentence)
            if cost <= max_tokens:
                yield sentence, cost
            else:
                yield from _windows(sentence, counter, max_tokens)


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
