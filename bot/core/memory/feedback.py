"""What users said of answers: per answer (its id), per user, 👍 or 👎 and an optional note;
and the answers themselves (question and text), kept beside them so an export can pair them.

In Redis (shared by every replica) or, without it, in this process; while Redis is unreachable,
in this process too (said once, with the memory's health), where the export does not see them.
User ids are stored as given and hashed on export only: a later verdict of the same user on the
same answer replaces theirs."""

from __future__ import annotations

import hashlib
import logging
import json
import secrets
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from typing import Literal, Protocol, TextIO

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bot.core.memory.health import REDIS_DOWN, RedisHealth
from bot.core.memory.local import LOCAL_CAP

log = logging.getLogger(__name__)

Verdict = Literal["up", "down"]
FEEDBACK_TTL = 180 * 24 * 3600  # seconds an answer and its verdicts are kept for evaluation
MAX_NOTE_CHARS = 3_000  # Slack's plain_text_input takes at most 3,000; longer is cut


@dataclass(frozen=True, slots=True)
class AnswerRecord:
    """An answer users can judge: the question as the model read it, and the answer shown."""

    answer_id: str
    question: str
    answer: str
    at: float


@dataclass(frozen=True, slots=True)
class Judgement:
    answer_id: str
    user: str  # platform-qualified id ("slack:T1:U1"), hashed on export
    verdict: Verdict
    at: float
    note: str = ""


class FeedbackStore(Protocol):
    async def remember_answer(self, record: AnswerRecord) -> None: ...

    async def judge(self, judgement: Judgement) -> None: ...

    async def add_note(self, answer_id: str, user: str, note: str) -> bool:
        """Attach `note` to `user`'s verdict on the answer; False if they gave none."""
        ...

    async def judgement(self, answer_id: str, user: str) -> Judgement | None: ...

    async def answer(self, answer_id: str) -> AnswerRecord | None: ...

    def everything(self) -> AsyncIterator[tuple[Judgement, AnswerRecord | None]]: ...

    async def salt(self) -> str:
        """A secret kept with the feedback, mixed into exported user ids: without it a list of
        the workspace's user ids would undo the hashing."""
        ...


def hashed_user(user: str, salt: str = "") -> str:
    """A stable pseudonym for a user id: the same user reads the same in every export."""
    return hashlib.sha256(f"{salt}{user}".encode()).hexdigest()[:16]


def export_row(judgement: Judgement, answer: AnswerRecord | None, salt: str = "") -> dict[str, object]:
    """One JSONL row for evaluation: no user id in the clear."""
    return {
        "answer_id": judgement.answer_id,
        "question": answer.question if answer else None,
        "answer": answer.answer if answer else None,
        "verdict": judgement.verdict,
        "note": judgement.note,
        "user": hashed_user(judgement.user, salt),
        "at": judgement.at,
    }


async def export(store: FeedbackStore, out: TextIO) -> int:
    """Every verdict with its question and answer as JSON lines on `out`; how many were written."""
    count, salt = 0, await store.salt()
    async for judgement, answer in store.everything():
        out.write(json.dumps(export_row(judgement, answer, salt), ensure_ascii=False) + "\n")
        count += 1
    return count


class LocalFeedback:
    """The store in one process (no Redis): the newest `cap` answers and verdicts."""

    def __init__(self, cap: int = LOCAL_CAP) -> None:
        self.cap = cap
        self._salt = secrets.token_hex(16)
        self._answers: OrderedDict[str, AnswerRecord] = OrderedDict()
        self._judgements: OrderedDict[tuple[str, str], Judgement] = OrderedDict()

    async def remember_answer(self, record: AnswerRecord) -> None:
        _put(self._answers, record.answer_id, record, self.cap)

    async def judge(self, judgement: Judgement) -> None:
        _put(self._judgements, (judgement.answer_id, judgement.user), judgement, self.cap)

    async def add_note(self, answer_id: str, user: str, note: str) -> bool:
        found = self._judgements.get((answer_id, user))
        if found is None:
            return False
        self._judgements[(answer_id, user)] = _with_note(found, note)
        return True

    async def judgement(self, answer_id: str, user: str) -> Judgement | None:
        return self._judgements.get((answer_id, user))

    async def answer(self, answer_id: str) -> AnswerRecord | None:
        return self._answers.get(answer_id)

    async def salt(self) -> str:
        return self._salt

    async def everything(self) -> AsyncIterator[tuple[Judgement, AnswerRecord | None]]:
        for judgement in list(self._judgements.values()):
            yield judgement, self._answers.get(judgement.answer_id)


def _put(items: OrderedDict, key: object, value: object, cap: int) -> None:  # type: ignore[type-arg]
    items[key] = value
    items.move_to_end(key)
    while len(items) > cap:
        items.popitem(last=False)


def _with_note(judgement: Judgement, note: str) -> Judgement:
    return Judgement(judgement.answer_id, judgement.user, judgement.verdict, judgement.at, note[:MAX_NOTE_CHARS])


class RedisFeedback:
    """Answers as `{prefix}:feedback:answer:{id}` (JSON, expiring), verdicts as fields
    `{answer_id}|{user}` of the hash `{prefix}:feedback:judgements` (read back by HSCAN)."""

    def __init__(
        self, client: aioredis.Redis, prefix: str, health: RedisHealth | None = None, ttl_seconds: int = FEEDBACK_TTL
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.health = health or RedisHealth()
        self.ttl = ttl_seconds
        self._local = LocalFeedback()  # while Redis is unreachable

    @property
    def judgements_key(self) -> str:
        return f"{self.prefix}:feedback:judgements"

    def answer_key(self, answer_id: str) -> str:
        return f"{self.prefix}:feedback:answer:{answer_id}"

    async def remember_answer(self, record: AnswerRecord) -> None:
        """Never raises: the answer was shown already, and without this record only its
        feedback lacks the text (and its "다시 생성" is refused)."""
        try:
            await self.client.set(self.answer_key(record.answer_id), _dumps(record), ex=self.ttl)
        except REDIS_DOWN as error:
            self.health.lost(error)
            await self._local.remember_answer(record)
        except RedisError as error:  # refused (full, read-only replica)
            log.warning("answer %s not kept for feedback: Redis refused (%s)", record.answer_id, error)

    async def judge(self, judgement: Judgement) -> None:
        try:
            # One key: in order on one node, without MULTI (which Redis Cluster refuses across nodes).
            async with self.client.pipeline(transaction=False) as pipe:
                pipe.hset(self.judgements_key, f"{judgement.answer_id}|{judgement.user}", _dumps(judgement))
                pipe.expire(self.judgements_key, self.ttl)
                await pipe.execute()
        except REDIS_DOWN as error:
            self.health.lost(error)
            await self._local.judge(judgement)

    async def add_note(self, answer_id: str, user: str, note: str) -> bool:
        found = await self.judgement(answer_id, user)
        if found is None:
            return False
        await self.judge(_with_note(found, note))
        return True

    async def judgement(self, answer_id: str, user: str) -> Judgement | None:
        try:
            raw = await self.client.hget(self.judgements_key, f"{answer_id}|{user}")
        except REDIS_DOWN as error:
            self.health.lost(error)
            return await self._local.judgement(answer_id, user)
        return Judgement(**json.loads(raw)) if raw else await self._local.judgement(answer_id, user)

    async def salt(self) -> str:
        """Made once, by whichever process asks first, and kept (no expiry)."""
        key = f"{self.prefix}:feedback:salt"
        await self.client.set(key, secrets.token_hex(16), nx=True)
        return str(await self.client.get(key))

    async def answer(self, answer_id: str) -> AnswerRecord | None:
        try:
            raw = await self.client.get(self.answer_key(answer_id))
        except REDIS_DOWN as error:
            self.health.lost(error)
            raw = None
        return AnswerRecord(**json.loads(raw)) if raw else await self._local.answer(answer_id)

    async def everything(self) -> AsyncIterator[tuple[Judgement, AnswerRecord | None]]:
        async for _, raw in self.client.hscan_iter(self.judgements_key, count=500):
            judgement = Judgement(**json.loads(raw))
            yield judgement, await self.answer(judgement.answer_id)


def _dumps(item: AnswerRecord | Judgement) -> str:
    return json.dumps(asdict(item), ensure_ascii=False)
