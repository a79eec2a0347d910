"""What one answer took from the model, learnt in one place: every model call the engine makes
for an answer (a streamed reply, each step of a summary) goes through a `MeteredLLM`, which adds
the tokens sent and received to the answer's `Meter` and to the bot's token metrics. The flow
that asked reads the meter when the answer ends (its log line; a usage ledger)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.core.budget import Budget
from bot.core.metrics import FIRST_TEXT_SECONDS, TOKENS
from bot.core.pictures import Picture
from bot.core.prompt import Turn

if TYPE_CHECKING:
    from bot.core.llm import ChatLLM


@dataclass(frozen=True)
class Usage:
    """Tokens of prompts sent (in) and of text received (out), counted with the model's tokenizer
    (or its estimate: bot.core.tokens), not read from the provider's bill."""

    tokens_in: int = 0
    tokens_out: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.tokens_in + other.tokens_in, self.tokens_out + other.tokens_out)


@dataclass
class Meter:
    """One answer's model use and timing, from when its question was taken up."""

    started: float = field(default_factory=time.monotonic)
    first_text_seconds: float | None = None
    usage: Usage = Usage()

    def text_started(self) -> None:
        if self.first_text_seconds is None:
            self.first_text_seconds = time.monotonic() - self.started
            FIRST_TEXT_SECONDS.observe(self.first_text_seconds)

    def add(self, usage: Usage) -> None:
        self.usage += usage
        TOKENS.labels("in").inc(usage.tokens_in)
        TOKENS.labels("out").inc(usage.tokens_out)

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started


@dataclass(frozen=True)
class MeteredLLM:
    """`llm` (a ChatLLM) with each call's tokens added to `meter`. A call that failed before any
    text came counts nothing: the provider answered with an error, not with tokens."""

    llm: "ChatLLM"
    budget: Budget
    meter: Meter

    async def stream(
        self, turns: Sequence[Turn], *, max_new_tokens: int | None = None, pictures: Sequence[Picture] = ()
    ) -> AsyncIterator[str]:
        parts: list[str] = []
        try:
            async for delta in self.llm.stream(turns, max_new_tokens=max_new_tokens, pictures=pictures):
                self.meter.text_started()
                parts.append(delta)
                yield delta
        finally:
            if parts:
                self._count(turns, "".join(parts))

    async def complete(
        self, turns: Sequence[Turn], *, max_new_tokens: int | None = None, pictures: Sequence[Picture] = ()
    ) -> str:
        text = await self.llm.complete(turns, max_new_tokens=max_new_tokens, pictures=pictures)
        self.meter.text_started()
        self._count(turns, text)
        return text

    def _count(self, turns: Sequence[Turn], answer: str) -> None:
        self.meter.add(Usage(self.budget.count(turns), self.budget.counter.count(answer)))
