"""What the model was used for, and by whom: the tokens of every model call an answer made, the
one record of a finished answer's usage (`AnswerUsage`, what the usage ledger and the metrics
read), and the calendar that budgets reset on.

Tokens are the provider's own counts where it reports them (Bedrock Converse `usage`, OpenAI's
`usage`), else the prompt's count by the token budget (the Llama 3 tokenizer, or the estimate
for other models) and the generated text's count by the same counter."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Callable, Literal, Sequence
from urllib.parse import quote
from zoneinfo import ZoneInfo

from bot.core.prompt import Turn

CountedBy = Literal["provider", "tokenizer", "estimate"]


@dataclass(frozen=True, slots=True)
class Asker:
    """Who asked, and where: a person (`user`) of a `team` (a Slack workspace, a Discord server;
    "" in a Discord DM) on a `platform`, in a `channel`."""

    platform: str
    team: str
    user: str
    channel: str = ""

    @property
    def id(self) -> str:
        """The person, qualified: per-user limits and budgets count by it."""
        return _joined(self.platform, self.team, self.user)

    @property
    def team_id(self) -> str:
        return _joined(self.platform, self.team)

    @property
    def place_id(self) -> str:
        """The person in the channel: the usage report's finest row."""
        return _joined(self.platform, self.team, self.user, self.channel)


def _joined(*parts: str) -> str:
    # Colons separate the parts in Redis fields; an id must never be able to forge another's.
    return ":".join(quote(part, safe="._-@") for part in parts)


@dataclass(slots=True)
class ModelCall:
    """One call to the model: what it was sent, the text it gave, the counts its provider reported."""

    turns: Sequence[Turn]
    text: list[str] = field(default_factory=list)
    reported: tuple[int, int] | None = None  # (prompt, generated) tokens, by the provider

    def report(self, usage: dict[str, int] | None) -> None:
        """Keep LangChain's `usage_metadata` of the answer (or of a streamed chunk), if it counts."""
        if usage and (usage.get("input_tokens") or usage.get("output_tokens")):
            self.reported = (int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0)))


class Meter:
    """The model calls made for one answer (a summary makes several)."""

    def __init__(self) -> None:
        self.calls: list[ModelCall] = []

    def call(self, turns: Sequence[Turn]) -> ModelCall:
        made = ModelCall(turns)
        self.calls.append(made)
        return made

    @property
    def used(self) -> bool:
        """Whether the model did anything worth counting (a call that failed at once did not)."""
        return any(call.text or call.reported for call in self.calls)

    def tokens(
        self, count_prompt: Callable[[Sequence[Turn]], int], count_text: Callable[[str], int]
    ) -> tuple[int, int, bool]:
        """(prompt, generated) tokens of every call that did something, and whether the
        provider reported all of them."""
        prompt = generated = 0
        reported = True
        for call in self.calls:
            if call.reported:
                prompt, generated = prompt + call.reported[0], generated + call.reported[1]
            elif call.text:
                prompt += count_prompt(call.turns)
                generated += count_text("".join(call.text))
                reported = False
        return prompt, generated, reported


@dataclass(frozen=True, slots=True)
class AnswerUsage:
    """A finished answer's (or document's) use of the model: the one point where what it cost is
    known, handed to the usage ledger and to every `ChatEngine.usage_observers`."""

    asker: Asker | None  # None: the terminal, counted nowhere by person
    model: str
    tokens_in: int
    tokens_out: int
    counted_by: CountedBy
    answered: bool  # the model gave text: an answer (or a summary) was made
    document: bool  # a document was read for it
    at: float = field(default_factory=time.time)  # epoch seconds


@dataclass(frozen=True, slots=True)
class Calendar:
    """Days and months as a team lives them (USAGE_TIMEZONE): what a day's usage is filed under,
    and when budgets start again."""

    zone: ZoneInfo

    @classmethod
    def named(cls, name: str) -> "Calendar":
        return cls(ZoneInfo(name))

    @property
    def zone_name(self) -> str:
        """As people read it now: KST for Asia/Seoul."""
        return datetime.now(self.zone).tzname() or str(self.zone)

    def local(self, at: float) -> datetime:
        return datetime.fromtimestamp(at, self.zone)

    def day(self, at: float) -> str:
        return self.local(at).date().isoformat()

    def month(self, at: float) -> str:
        return self.local(at).strftime("%Y-%m")

    def last_days(self, days: int, at: float) -> list[str]:
        """The `days` days up to the one of `at`, oldest first."""
        today = self.local(at).date()
        return [(today - timedelta(days=back)).isoformat() for back in range(days - 1, -1, -1)]

    def next_day(self, at: float) -> datetime:
        """Midnight after `at`, local time."""
        return self._midnight(self.local(at).date() + timedelta(days=1))

    def next_month(self, at: float) -> datetime:
        """Midnight of the first of the month after `at`, local time."""
        today = self.local(at).date()
        first = date(today.year + today.month // 12, today.month % 12 + 1, 1)
        return self._midnight(first)

    def _midnight(self, day: date) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=self.zone)
