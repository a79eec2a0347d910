"""Fitting a prompt into the model's context with room left for the answer.

The system prompt and the new message always go in; past exchanges are added newest first while
they fit, so the oldest are the first to go. The final prompt is counted once as a whole, which
makes the result exact whatever the per-message overhead is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from bot.core.errors import MessageTooLong
from bot.core.memory import Exchange
from bot.core.prompt import Turn, llama3_prompt
from bot.core.tokens import TokenCounter

# Header tokens around each message: <|start_header_id|> role <|end_header_id|> \n\n ... <|eot_id|>
_PER_TURN = 5


@dataclass(frozen=True, slots=True)
class Budget:
    counter: TokenCounter
    context_tokens: int
    answer_tokens: int

    @property
    def prompt_tokens(self) -> int:
        return self.context_tokens - self.answer_tokens

    def count(self, turns: Sequence[Turn]) -> int:
        return self.counter.count(llama3_prompt(turns))

    def fit(self, system: str, history: Sequence[Exchange], user: str) -> list[Turn]:
        """The turns to send, or MessageTooLong when even the new message alone cannot fit."""
        head, tail = [Turn("system", system)], [Turn("user", user)]
        used = self.count(head + tail)
        if used > self.prompt_tokens:
            raise MessageTooLong(f"{used} prompt tokens > {self.prompt_tokens}")
        kept: list[Exchange] = []
        for exchange in reversed(history):
            cost = self.counter.count(exchange.user) + self.counter.count(exchange.assistant)
            if used + cost + 2 * _PER_TURN > self.prompt_tokens:
                break
            used += cost + 2 * _PER_TURN
            kept.insert(0, exchange)
        while True:
            turns = head + _as_turns(kept) + tail
            if not kept or self.count(turns) <= self.prompt_tokens:
                return turns
            kept.pop(0)


def _as_turns(history: Sequence[Exchange]) -> list[Turn]:
    turns: list[Turn] = []
    for exchange in history:
        turns += [Turn("user", exchange.user), Turn("assistant", exchange.assistant)]
    return turns
