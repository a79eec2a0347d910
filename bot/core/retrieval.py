"""Finding the passages of a document that matter for a question: BM25 over Korean-aware terms.

Korean attaches particles and endings to words ('예산은', '예산을', '예산이'), so whole words rarely
match. Overlapping character bigrams of Hangul words match the stem whatever is attached, need no
morphological model (kiwipiepy's takes ~300 MB and seconds to load, too much for a small bot
process) and are the usual baseline for Korean lexical search. Latin words and numbers are
matched whole, case-folded."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

_WORDS = re.compile(r"[가-힣]+|[A-Za-z]+|\d+(?:[.,]\d+)*")


def terms(text: str) -> list[str]:
    out: list[str] = []
    for word in _WORDS.findall(text):
        if "가" <= word[0] <= "힣":
            out += [word] if len(word) == 1 else [word[i : i + 2] for i in range(len(word) - 1)]
        else:
            out.append(word.lower())
    return out


@dataclass
class BM25:
    passages: list[str]
    k1: float = 1.2
    b: float = 0.75
    _tf: list[Counter[str]] = field(init=False, repr=False)
    _idf: dict[str, float] = field(init=False, repr=False)
    _avg: float = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._tf = [Counter(terms(p)) for p in self.passages]
        df: Counter[str] = Counter()
        for tf in self._tf:
            df.update(tf.keys())
        n = len(self.passages)
        self._idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}
        self._avg = sum(sum(tf.values()) for tf in self._tf) / max(n, 1)

    def scores(self, query: str) -> list[float]:
        wanted = set(terms(query)) & self._idf.keys()
        results = []
        for tf in self._tf:
            length = sum(tf.values())
            norm = self.k1 * (1 - self.b + self.b * length / (self._avg or 1))
            results.append(
                sum(self._idf[t] * tf[t] * (self.k1 + 1) / (tf[t] + norm) for t in wanted if t in tf)
            )
        return results
