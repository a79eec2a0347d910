"""Which parts of a conversation's documents go into a question's prompt."""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

from bot.core.chunking import chunk_text
from bot.core.memory import StoredDocument
from bot.core.retrieval import BM25
from bot.core.tokens import TokenCounter

PASSAGE_TOKENS = 300


@lru_cache(maxsize=32)
def _index(text: str, counter: TokenCounter) -> tuple[list[str], BM25]:
    # Cut and indexed once per document text; questions about the same file reuse it.
    passages = chunk_text(text, counter, PASSAGE_TOKENS)
    return passages, BM25(passages)


def relevant_passages(
    documents: Sequence[StoredDocument], question: str, counter: TokenCounter, budget_tokens: int
) -> list[tuple[str, str]]:
    """(filename, passage) pairs, best first, within `budget_tokens`. When nothing matches the
    question's terms (e.g. "요약해줘"), the documents' opening passages stand in."""
    scored: list[tuple[float, int, str, str]] = []
    openings: list[tuple[str, str]] = []
    for order, document in enumerate(documents):
        passages, index = _index(document.text, counter)
        openings += [(document.filename, p) for p in passages[:3]]
        for position, score in enumerate(index.scores(question)):
            if score > 0:
                scored.append((score, -order, document.filename, passages[position]))
    scored.sort(key=lambda item: (-item[0], item[1]))
    ranked = [(name, text) for _, _, name, text in scored] or openings
    chosen, used = [], 0
    for name, text in ranked:
        cost = counter.count(text) + 8
        if used + cost > budget_tokens:
            continue
        chosen.append((name, text))
        used += cost
    return chosen
