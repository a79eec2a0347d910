"""The usage ledger: tokens in and out, answers and documents, per day and per team, user and
channel; in Redis (shared by every replica, kept `USAGE_TTL_DAYS`) or, without it, in this process.

One layout, in Redis hashes (or dicts of the same shape here), each field `<who>:<metric>`:
- `usage:<day>`: per team, user and channel (`<platform>:<team>:<user>:<channel>`), for reports;
- `usage:<day>:people` and `usage:<month>:people`: per person (`<platform>:<team>:<user>`), for
  `/usage` and the daily budget;
- `usage:<month>:teams`: per team (`<platform>:<team>`), for the monthly budget.
Days and months are the calendar's (USAGE_TIMEZONE), read from this process's clock when the
answer ends: replicas kept in time by NTP disagree by milliseconds, which can file an answer
finished at midnight under either day. Redis's own clock, as bot.core.memory.quota reads it for
windows of seconds, would cost a round trip before every write for that.

The keys of one answer are written in one round trip, not one transaction (under Redis Cluster
they live in different slots); while Redis is unreachable the counts wait in this process and
are written with the next answer after it is back."""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, fields
from typing import Mapping, Protocol
from urllib.parse import unquote

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bot.core.memory.health import REDIS_DOWN, RedisHealth
from bot.core.usage import AnswerUsage, Asker, Calendar

log = logging.getLogger(__name__)

DAY = 24 * 3600
# A month's hashes outlive the month (budgets read them to its last day), whatever the TTL.
MONTH_KEPT = 62 * DAY
# Fields held back while Redis is away (a field per metric per person, team and channel).
WAITING_CAP = 50_000

Hashes = dict[str, Counter[str]]


@dataclass(frozen=True, slots=True)
class Totals:
    tokens_in: int = 0
    tokens_out: int = 0
    answers: int = 0
    documents: int = 0

    @property
    def tokens(self) -> int:
        """What budgets count: tokens in and out, as providers bill them."""
        return self.tokens_in + self.tokens_out

    def __add__(self, other: Totals) -> Totals:
        return Totals(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    @classmethod
    def of(cls, usage: AnswerUsage) -> Totals:
        # A document's summary (or answer about it) counts as the document, not as an answer too.
        return cls(usage.tokens_in, usage.tokens_out, int(usage.answered and not usage.document), int(usage.document))

    @classmethod
    def read(cls, hash_: Mapping[str, object], who: str) -> Totals:
        return cls(*(int(hash_.get(f"{who}:{f.name}") or 0) for f in fields(cls)))  # type: ignore[call-overload]

    def counts(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}


METRICS = tuple(f.name for f in fields(Totals))


@dataclass(frozen=True, slots=True)
class UsageRow:
    """One day of one person's use in one channel."""

    day: str
    platform: str
    team: str
    user: str
    channel: str
    totals: Totals


@dataclass(frozen=True, slots=True)
class OwnUsage:
    """A person's use today and this month, and their team's this month."""

    today: Totals
    month: Totals
    team_month: Totals


class Layout:
    """Where each count goes (see the module's docstring)."""

    def __init__(self, prefix: str, calendar: Calendar) -> None:
        self.prefix = prefix
        self.calendar = calendar

    def detail(self, day: str) -> str:
        return f"{self.prefix}:usage:{day}"

    def people(self, period: str) -> str:
        return f"{self.prefix}:usage:{period}:people"

    def teams(self, month: str) -> str:
        return f"{self.prefix}:usage:{month}:teams"

    def increments(self, usage: AnswerUsage, asker: Asker) -> Hashes:
        day, month = self.calendar.day(usage.at), self.calendar.month(usage.at)
        counts = Totals.of(usage).counts()
        where = {
            self.detail(day): asker.place_id,
            self.people(day): asker.id,
            self.people(month): asker.id,
            self.teams(month): asker.team_id,
        }
        return {key: Counter({f"{who}:{metric}": n for metric, n in counts.items()}) for key, who in where.items()}

    def own(self, asker: Asker, at: float) -> list[tuple[str, str]]:
        """(hash, who) of OwnUsage's three totals, in its order."""
        day, month = self.calendar.day(at), self.calendar.month(at)
        return [(self.people(day), asker.id), (self.people(month), asker.id), (self.teams(month), asker.team_id)]

    def kept_seconds(self, key: str, ttl_seconds: int) -> int:
        return max(ttl_seconds, MONTH_KEPT) if _is_month(key) else ttl_seconds


def _is_month(key: str) -> bool:
    period = key.split(":usage:", 1)[1].split(":")[0]
    return len(period) == 7  # YYYY-MM (a day is YYYY-MM-DD)


def rows_of(day: str, hash_: Mapping[str, object]) -> list[UsageRow]:
    """The rows of a day's detail hash."""
    grouped: dict[str, dict[str, object]] = defaultdict(dict)
    for field_, value in hash_.items():
        who, _, metric = field_.rpartition(":")
        grouped[who][field_] = value
    rows = []
    for who, values in sorted(grouped.items()):
        platform, team, user, channel = (unquote(part) for part in who.split(":"))
        rows.append(UsageRow(day, platform, team, user, channel, Totals.read(values, who)))
    return rows


def _merge(into: Hashes, more: Hashes) -> None:
    for key, counts in more.items():
        into.setdefault(key, Counter()).update(counts)


class Ledger(Protocol):
    async def record(self, usage: AnswerUsage) -> None: ...

    async def own(self, asker: Asker, at: float) -> OwnUsage: ...

    async def rows(self, days: list[str]) -> list[UsageRow]: ...


class LocalLedger:
    """The ledger of this process only: without Redis, each process counts for itself."""

    def __init__(self, layout: Layout, ttl_seconds: int) -> None:
        self.layout = layout
        self.ttl = ttl_seconds
        self._hashes: Hashes = {}
        self._until: dict[str, float] = {}

    async def record(self, usage: AnswerUsage) -> None:
        if usage.asker is None:
            return
        now = time.time()
        for key in [key for key, until in self._until.items() if until <= now]:
            del self._hashes[key], self._until[key]
        added = self.layout.increments(usage, usage.asker)
        _merge(self._hashes, added)
        for key in added:
            self._until[key] = now + self.layout.kept_seconds(key, self.ttl)

    async def own(self, asker: Asker, at: float) -> OwnUsage:
        return OwnUsage(*(Totals.read(self._hashes.get(key, {}), who) for key, who in self.layout.own(asker, at)))

    async def rows(self, days: list[str]) -> list[UsageRow]:
        return [row for day in days for row in rows_of(day, self._hashes.get(self.layout.detail(day), {}))]


class RedisLedger:
    """In Redis, shared by every replica. Counts made while it is unreachable wait here (up to
    WAITING_CAP fields) and go with the next answer once it is back; meanwhile budgets and
    `/usage` add them to what Redis last said, or see only them."""

    def __init__(self, client: aioredis.Redis, layout: Layout, ttl_seconds: int, health: RedisHealth) -> None:
        self.client = client
        self.layout = layout
        self.ttl = ttl_seconds
        self.health = health
        self._waiting: Hashes = {}
        self._sending: list[Hashes] = []  # counts on their way to Redis: not there yet for `own`

    async def record(self, usage: AnswerUsage) -> None:
        if usage.asker is None:
            return
        # Taken out of `_waiting` before the write: answers ending meanwhile must not send these
        # counts a second time (each did, doubling usage with every answer in flight at once).
        batch, self._waiting = self._waiting, {}
        _merge(batch, self.layout.increments(usage, usage.asker))
        self._sending.append(batch)
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                for key, counts in batch.items():
                    for field_, n in counts.items():
                        pipe.hincrby(key, field_, n)
                    pipe.expire(key, self.layout.kept_seconds(key, self.ttl))
                await pipe.execute()
        except REDIS_DOWN as error:
            self.health.lost(error)
        except RedisError as error:  # refused (a full Redis under maxmemory): the answer stands
            log.warning("usage not written yet: Redis refused (%s)", error)
        else:
            self.health.ok()
            return
        finally:
            self._sending.remove(batch)
        _merge(self._waiting, batch)
        if sum(len(counts) for counts in self._waiting.values()) > WAITING_CAP:
            log.warning("usage counted while Redis could not take it exceeds %d fields: dropped", WAITING_CAP)
            self._waiting.clear()

    async def own(self, asker: Asker, at: float) -> OwnUsage:
        wanted = self.layout.own(asker, at)
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                for key, who in wanted:
                    pipe.hmget(key, [f"{who}:{metric}" for metric in METRICS])
                found = await pipe.execute()
        except REDIS_DOWN as error:
            self.health.lost(error)
            found = [[None] * len(METRICS)] * len(wanted)
        else:
            self.health.ok()
        totals = []
        for (key, who), values in zip(wanted, found):
            stored = Totals.read(dict(zip((f"{who}:{m}" for m in METRICS), values)), who)
            unwritten = [self._waiting, *self._sending]
            totals.append(sum((Totals.read(counts.get(key, {}), who) for counts in unwritten), stored))
        return OwnUsage(*totals)

    async def rows(self, days: list[str]) -> list[UsageRow]:
        async with self.client.pipeline(transaction=False) as pipe:
            for day in days:
                pipe.hgetall(self.layout.detail(day))
            hashes = await pipe.execute()
        return [row for day, hash_ in zip(days, hashes) for row in rows_of(day, hash_)]
