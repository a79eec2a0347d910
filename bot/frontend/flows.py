"""The flows every front end drives: answer a question, read a document, reset a conversation.

An adapter turns a platform event into a `Question` (and, for a file, a `DocumentSource`), and
hands over where text appears (`bot.frontend.surface`); everything users then see is decided
here, once: when progress shows, how an answer ends, what each failure says, the size limits.
Each flow ends with something the user can read and logs its outcome once; it returns whether
the user got what they asked for."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bot.core.conversation import ConversationKey
from bot.core.engine import ChatEngine
from bot.core.errors import BotError, LLMModelError
from bot.core.usage import Asker
from bot.frontend.jobs import log_outcome
from bot.frontend.progress import ProgressMessage
from bot.frontend.streaming import show_edited, show_growing
from bot.frontend.surface import GrowingMessage, Surface
from bot.frontend.texts import Texts

if TYPE_CHECKING:  # the document package loads the format libraries
    from bot.core.documents import ExtractionLimits

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Question:
    key: ConversationKey  # the conversation it belongs to
    text: str  # plain text for the model ("" with a file: summarize it)
    asker: Asker | None = None  # who asked where: rate limit, budgets, usage ledger


class DocumentSource(Protocol):
    """A file a user handed over, not yet fetched."""

    name: str
    declared_size: int | None  # what the platform says, before a byte is fetched

    async def fetch(self, limits: ExtractionLimits) -> bytes:
        """The bytes, never more than `limits.max_bytes` (DocumentTooLarge past them)."""
        ...


async def answer(engine: ChatEngine, texts: Texts, question: Question, where: Surface | GrowingMessage) -> bool:
    """Stream the answer to `question` onto `where` (edited messages, or one growing message).
    Nobody is turned away for the model being busy: past its concurrency a question waits its
    turn, and an edited answer's placeholder says so until its text comes."""
    queue = engine.model_queue  # before asking: the question then joins it
    waiting = None if queue is None else texts("waiting", position=queue + 1)
    deltas = engine.stream_reply(question.key, question.text, asker=question.asker)
    try:
        async with aclosing(deltas):
            await _show(deltas, where, texts, waiting)
    except Exception as error:  # already shown where the answer was to be
        log_outcome(error)
        return False
    return True


async def _show(
    deltas: AsyncIterator[str], where: Surface | GrowingMessage, texts: Texts, waiting: str | None
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
        return await _refuse(surface, texts, limits.too_large())
    progress = ProgressMessage(progress_on or surface, result=surface, late_note=texts("result_comes_anew"))
    await progress.update(texts.document_progress(0, 0))  # reading can take a while before steps count

    async def steps(done: int, total: int) -> None:
        if total > 1:  # a one-step summary needs no count: its answer comes about as fast
            await progress.update(texts.document_progress(done, total))

    def pages(done: int, total: int) -> None:  # called on the loop, page by page, while OCR reads
        progress.update_soon(texts("doc_ocr_progress", done=done, total=total))

    try:
        data = await source.fetch(limits)
        result = await engine.summarize_document(
            question.key, data, source.name, question=question.text or None, progress=steps, reading=pages,
            asker=question.asker,
        )
    except asyncio.CancelledError:
        progress.abandon()  # the job was stopped: its progress must not change any more
        raise
    except Exception as error:
        log_outcome(error)
        # "rephrase your question" would puzzle someone who asked none
        summarizing = isinstance(error, LLMModelError) and not question.text
        await progress.fail(texts("llm_model_error_summary") if summarizing else texts.for_error(error))
        return False
    await progress.finish(result or texts("llm_empty"))
    return True


async def _refuse(surface: Surface, texts: Texts, error: BotError) -> bool:
    log_outcome(error)
    await surface.post(texts.for_error(error))
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
