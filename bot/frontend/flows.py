"""The flows every front end drives: answer a question, read a document, reset a conversation.

An adapter turns a platform event into a `Question` (and, for a file, a `DocumentSource`), and
hands over where text appears (`bot.frontend.surface`); everything users then see is decided
here, once: when progress shows, how an answer ends, what each failure says, the size limits.
Each flow ends with something the user can read and logs its outcome once; it returns whether
the user got what they asked for."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import aclosing, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from bot.core.chat_summary import ChatLine
from bot.core.conversation import ConversationKey
from bot.core.engine import ChatEngine, well_formed
from bot.core.errors import BotError, LLMModelError
from bot.core.llm.line import watching_place
from bot.core.memory.channels import ChannelSettings
from bot.core.memory.feedback import AnswerRecord
from bot.core.metrics import ANSWER_SECONDS, ANSWERS, FIRST_TEXT_SECONDS, IN_FLIGHT
from bot.core.usage import AnswerUsage, Asker
from bot.frontend.jobs import log_outcome
from bot.frontend.progress import ProgressMessage
from bot.frontend.stopping import Stops
from bot.frontend.streaming import show_edited, show_growing
from bot.frontend.surface import GrowingMessage, Surface
from bot.frontend.texts import Texts
from bot.frontend.waiting import PlaceInLine

if TYPE_CHECKING:  # the document package loads the format libraries
    from bot.core.documents import ExtractionLimits

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Question:
    key: ConversationKey  # the conversation it belongs to
    text: str  # plain text for the model ("" with a file: summarize it)
    asker: Asker | None = None  # who asked where: rate limit, budgets, usage ledger
    answer_id: str = ""  # for stopping the answer and for feedback on it ("": neither)
    channel: ChannelSettings = ChannelSettings()  # the channel's persona and language

    def __post_init__(self) -> None:
        # The question is stored beside its answer (feedback) and in memory: a lone surrogate
        # from the platform's JSON could be encoded for neither.
        object.__setattr__(self, "text", well_formed(self.text))


class ChatSource(Protocol):
    """The messages of a thread or a channel, not yet read from the platform."""

    title: str  # what the summary is of ("#general, 오늘"), for the model

    async def lines(self) -> Sequence[ChatLine]: ...


class DocumentSource(Protocol):
    """A file a user handed over, not yet fetched."""

    name: str
    declared_size: int | None  # what the platform says, before a byte is fetched

    async def fetch(self, limits: ExtractionLimits) -> bytes:
        """The bytes, never more than `limits.max_bytes` (DocumentTooLarge past them)."""
        ...


@dataclass
class _Answering:
    """One answer (or summary) as its operator sees it: how long it took, how long until its first
    text, and what the model did for it (the engine's usage, when the model was called)."""

    started: float = field(default_factory=time.monotonic)
    first_text_seconds: float | None = None
    usage: AnswerUsage | None = None

    def observe(self, usage: AnswerUsage) -> None:
        self.usage = usage

    async def noting_first(self, deltas: AsyncIterator[str]) -> AsyncIterator[str]:
        async for delta in deltas:
            if self.first_text_seconds is None:
                self.first_text_seconds = time.monotonic() - self.started
                FIRST_TEXT_SECONDS.observe(self.first_text_seconds)
            yield delta

    def fields(self, question: Question, outcome: str) -> dict[str, object]:
        """What its log line says besides the message (bot.logs.FIELDS): whose answer, never
        ids of the conversation or its text."""
        asker, key = question.asker, question.key
        first = self.first_text_seconds
        return {
            "platform": key.platform,
            "team": asker.team or None if asker else None,
            "conversation": hashlib.sha256(key.id.encode()).hexdigest()[:16],
            "outcome": outcome,
            "latency_seconds": round(time.monotonic() - self.started, 3),
            "first_text_seconds": None if first is None else round(first, 3),
            "tokens_in": self.usage.tokens_in if self.usage else 0,
            "tokens_out": self.usage.tokens_out if self.usage else 0,
        }


@contextmanager
def _measured(question: Question, answering: _Answering | None = None) -> Iterator[_Answering]:
    """Around one answer or summary: counted in flight while it runs, then its outcome and time
    counted and logged, once. A failure is shown where the answer was to be before it arrives
    here; it is not raised further."""
    answering, error = answering or _Answering(), None
    with IN_FLIGHT.track_inprogress():
        try:
            yield answering
        except Exception as failure:
            error = failure
    outcome = "ok" if error is None else error.code if isinstance(error, BotError) else "internal"
    ANSWERS.labels(outcome).inc()
    ANSWER_SECONDS.observe(time.monotonic() - answering.started)
    if error is None:
        log.info("answered", extra=answering.fields(question, outcome))
    else:
        log_outcome(error, answering.fields(question, outcome))


@dataclass(frozen=True)
class TextSource:
    """Text already in hand (a chat message) read as a document: summarized like a file, and
    kept with the conversation for follow-up questions the same way."""

    name: str  # a .txt name: the reader goes by it
    text: str

    @property
    def declared_size(self) -> int:
        return len(self.text.encode())

    async def fetch(self, limits: ExtractionLimits) -> bytes:
        if self.declared_size > limits.max_bytes:
            raise limits.too_large()
        return self.text.encode()


async def answer(
    engine: ChatEngine, texts: Texts, question: Question, where: Surface | GrowingMessage, stops: Stops | None = None
) -> bool:
    """Stream the answer to `question` onto `where` (edited messages, or one growing message);
    with `stops` and an answer id, the user may stop it; a complete answer is kept for feedback.
    Nobody is turned away for the model being busy: past its concurrency a question waits its
    turn, and an edited answer's placeholder says where it stands, as the line moves, until its
    text comes."""
    waiting = _waiting(engine, texts)  # before asking: the question then joins the queue
    answering = _Answering()
    deltas = engine.stream_reply(
        question.key, question.text, asker=question.asker, channel=question.channel, observe=answering.observe
    )
    return await _answered(engine, texts, question, question.text, deltas, where, stops, waiting, answering)


def _waiting(engine: ChatEngine, texts: Texts) -> PlaceInLine:
    """Where a question asked now stands in the model's line (0: it goes at once); the line
    says so again each time that changes."""
    queue = engine.model_queue
    return PlaceInLine(texts, 0 if queue is None else queue + 1)


async def regenerate(
    engine: ChatEngine, texts: Texts, question: Question, where: Surface | GrowingMessage, stops: Stops | None = None,
    *, replacing: str = "",
) -> bool:  # fmt: skip
    """A new answer to the conversation's last question, replacing the old one in memory
    (`question.text` is unused: the question is the one remembered). With `replacing` (the id of
    the answer whose button was pressed), only if that answer is the last one remembered."""
    history = (await engine.memory.context(question.key)).history
    asked = history[-1].user if history else ""
    expected = None
    if replacing:
        record = await engine.feedback.answer(replacing)
        expected = record.answer if record else ""  # never kept (stopped, failed): not the last
    waiting = _waiting(engine, texts)
    answering = _Answering()
    deltas = engine.regenerate(
        question.key, asker=question.asker, channel=question.channel, replacing=expected, observe=answering.observe
    )
    return await _answered(engine, texts, question, asked, deltas, where, stops, waiting, answering)


async def translate(
    engine: ChatEngine, texts: Texts, question: Question, where: Surface, stops: Stops | None = None
) -> bool:
    """Stream the question's text translated between Korean and English onto `where` (not
    remembered: a translation is no turn of the conversation)."""
    if not question.text.strip():
        await where.post(texts("nothing_to_translate"))
        return False
    waiting = _waiting(engine, texts)
    answering = _Answering()
    deltas = engine.translate(question.text, asker=question.asker, observe=answering.observe)
    return await _answered(engine, texts, question, question.text, deltas, where, stops, waiting, answering)


async def _answered(
    engine: ChatEngine, texts: Texts, question: Question, asked: str, deltas: AsyncIterator[str],
    where: Surface | GrowingMessage, stops: Stops | None, waiting: PlaceInLine, answering: _Answering,
) -> bool:  # fmt: skip
    if stops is not None and question.answer_id:
        deltas = stops.until_stopped(question.answer_id, deltas)
    said: list[str] = []
    shown = False
    with _measured(question, answering), watching_place(waiting):
        async with aclosing(deltas), aclosing(answering.noting_first(_kept(deltas, said))) as kept:
            await _show(kept, where, texts, waiting)
        shown = True
    if not shown:  # a failure, already shown where the answer was to be
        return False
    if question.answer_id and (text := "".join(said).strip()):
        await engine.feedback.remember_answer(AnswerRecord(question.answer_id, asked, text, time.time()))
    return True


async def _kept(deltas: AsyncIterator[str], said: list[str]) -> AsyncIterator[str]:
    async for delta in deltas:
        said.append(delta)
        yield delta


async def _show(
    deltas: AsyncIterator[str], where: Surface | GrowingMessage, texts: Texts, waiting: PlaceInLine
) -> None:
    if isinstance(where, GrowingMessage):  # shows nothing before the first text
        await show_growing(deltas, where, texts)
    else:
        await show_edited(deltas, where, texts, placeholder=waiting)


async def read_document(
    engine: ChatEngine, texts: Texts, question: Question, source: DocumentSource, surface: Surface,
    *, progress_on: Surface | None = None,
) -> bool:  # fmt: skip
    """The document's summary (or, with the question's text, the answer about it), after a
    progress message that becomes the result; on `progress_on` when progress goes elsewhere."""
    limits = engine.limits
    if source.declared_size is not None and source.declared_size > limits.max_bytes:
        # refused before a byte is fetched, and before a progress message would promise more
        return await _refuse(surface, texts, question, limits.too_large())
    progress = ProgressMessage(progress_on or surface, result=surface, late_note=texts("result_comes_anew"))
    await progress.update(texts.document_progress(0, 0))  # reading can take a while before steps count

    async def steps(done: int, total: int) -> None:
        if total > 1:  # a one-step summary needs no count: its answer comes about as fast
            await progress.update(texts.document_progress(done, total))

    def pages(done: int, total: int) -> None:  # called on the loop, page by page, while OCR reads
        progress.update_soon(texts("doc_ocr_progress", done=done, total=total))

    with _measured(question) as answering:
        try:
            data = await source.fetch(limits)
            result = await engine.summarize_document(
                question.key, data, source.name, question=question.text or None, progress=steps, reading=pages,
                asker=question.asker, observe=answering.observe,
            )
        except asyncio.CancelledError:
            progress.abandon()  # the job was stopped: its progress must not change any more
            raise
        except Exception as error:
            # "rephrase your question" would puzzle someone who asked none
            summarizing = isinstance(error, LLMModelError) and not question.text
            await progress.fail(texts("llm_model_error_summary") if summarizing else texts.for_error(error))
            raise
        await progress.finish(result or texts("llm_empty"))
        return True
    return False


async def summarize_chat(
    engine: ChatEngine, texts: Texts, question: Question, source: ChatSource, surface: Surface
) -> bool:
    """A summary of a thread's or a channel's messages, after a progress message that becomes
    it; remembered in the question's conversation, for follow-up questions."""
    progress = ProgressMessage(surface, late_note=texts("result_comes_anew"))
    await progress.update(texts("chat_reading"))

    async def steps(done: int, total: int) -> None:
        if total > 1:
            await progress.update(texts("chat_progress", done=done, total=total))

    with _measured(question) as answering:
        try:
            lines = await source.lines()
            summary = await engine.summarize_conversation(
                question.key, lines, source.title, asked=question.text, progress=steps, asker=question.asker,
                channel=question.channel, observe=answering.observe,
            )  # fmt: skip
        except asyncio.CancelledError:
            progress.abandon()  # the job was stopped: its progress must not change any more
            raise
        except Exception as error:
            await progress.fail(texts.for_error(error))
            raise
        await progress.finish(summary or texts("llm_empty"))
        return True
    return False


async def _refuse(surface: Surface, texts: Texts, question: Question, error: BotError) -> bool:
    with _measured(question):
        await surface.post(texts.for_error(error))
        raise error
    return False


async def reset(engine: ChatEngine, texts: Texts, key: ConversationKey, surface: Surface) -> bool:
    await engine.reset(key)
    await surface.post(texts("reset_done"))
    return True


async def own_usage(engine: ChatEngine, texts: Texts, asker: Asker) -> str:
    """What `/usage` shows a person: their use today and this month, and what is left of the
    budgets that are set."""
    used = await engine.usage_of(asker)
    today, month = used.today, used.month
    lines = [
        texts(
            "usage_own",
            today_answers=today.answers, today_documents=today.documents, today_tokens=today.tokens,
            today_in=today.tokens_in, today_out=today.tokens_out,
            month_answers=month.answers, month_documents=month.documents, month_tokens=month.tokens,
            month_in=month.tokens_in, month_out=month.tokens_out,
        )
    ]  # fmt: skip
    settings, zone = engine.settings, engine.calendar.zone_name
    if daily := settings.budget_user_daily_tokens:
        lines.append(texts("usage_user_budget", limit=daily, left=max(0, daily - today.tokens), zone=zone))
    if (monthly := settings.budget_team_monthly_tokens) and asker.team:
        left = max(0, monthly - used.team_month.tokens)
        lines.append(texts("usage_team_budget", limit=monthly, left=left, zone=zone))
    return "\n".join(lines)
