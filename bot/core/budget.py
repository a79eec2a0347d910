"""Fitting a prompt into the model's context with room left for the answer.

The system prompt and the new message always go in; past exchanges are added newest first while
they fit, so the oldest are the first to go.

Counts are exact without encoding the whole prompt: every special token is its own token and the
Llama 3 pre-tokenizer always splits the "\n\n" after a header from the (stripped) content, so a
prompt's tokens are the frame's plus, per message, its header tokens plus its content's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from bot.core.errors import MessageTooLong
from bot.core.memory import Exchange
from bot.core.prompt import Turn, neutralize
from bot.core.tokens import TokenCounter

# <|start_header_id|> role <|end_header_id|> "\n\n" ... <|eot_id|>
_PER_TURN = 5
# <|begin_of_text|> ... <|start_header_id|> assistant <|end_header_id|> "\n\n"
_FRAME = 5


@dataclass(frozen=True, slots=True)
class Budget:
    counter: TokenCounter
    context_tokens: int
    answer_tokens: int

    @property
    def prompt_tokens(self) -> int:
        return self.context_tokens - self.answer_tokens

    def count(self, turns: Sequence[Turn]) -> int:
        return _FRAME + sum(self._cost(turn.content) for turn in turns)

    def _cost(self, content: str) -> int:
        return _PER_TURN + self.counter.count(neutralize(content.strip()))

    @staticmethod
    def at_most(turns: Sequence[Turn]) -> int:
        """An upper bound of `count` without tokenizing: a Llama 3 token is at least one byte."""
        return _FRAME + sum(_PER_TURN + len(neutralize(turn.content.strip()).encode()) for turn in turns)

    def fit(self, system: str, history: Sequence[Exchange], user: str) -> list[Turn]:
        """The turns to send, or MessageTooLong when even the new message alone cannot fit."""
        head, tail = [Turn("system", system)], [Turn("user", user)]
        everything = head + _as_turns(history) + tail
        # Most conversations are far from the limit: then the tokenizer (about a millisecond
        # per thousand tokens of new text) is not needed at all.
        if self.at_most(everything) <= self.prompt_tokens:
            return everything
        used = self.count(head + tail)
        if used > self.prompt_tokens:
            raise MessageTooLong(f"{used} prompt tokens > {self.prompt_tokens}")
        kept: list[Exchange] = []
        for exchange in reversed(history):
            used += self._cost(exchange.user) + self._cost(exchange.assistant)
            if used > self.prompt_tokens:
                break
            kept.insert(0, exchange)
        return head + _as_turns(kept) + tail


def _as_turns(history: Sequence[Exchange]) -> list[Turn]:
    turns: list[Turn] = []
    for exchange in history:
        turns += [Turn("user", exchange.user), Turn("assistant", exchange.assistant)]
    return turns
