"""The flows every front end drives: answer a question, read a document, reset a conversation.

An adapter turns a platform event into a `Question` (and, for a file, a `DocumentSource`), and
hands over where text appears (`bot.frontend.surface`); everything users then see is decided
here, once: when progress shows, how an answer ends, what each failure says, the size limits.
Each flow ends with something the user can read and logs its outcome once; it returns whether
the user got what they asked for."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bot.core.conversation import ConversationKey
from bot.core.engine import ChatEngine
from bot.core.errors import BotError, LLMModelError
from bot.core.metering import Meter
from bot.core.metrics import ANSWER_SECONDS, ANSWERS, IN_FLIGHT
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
    asker: str | None = None  # platform-qualified user id, for the per-user rate limit


class DocumentSource(Protocol):
    """A file a user handed over, not yet fetched."""

    name: str
    declared_size: int | None  # what the platform says, before a byte is fetched

    async def fetch(self, limits: ExtractionLimits) -> bytes:
        """The bytes, never more than `limits.max_bytes` (DocumentTooLarge past them)."""
        ...


@contextmanager
def _measured(question: Question) -> Iterator[Meter]:
    """Around one answer or summary: counted in flight while it runs, then its outcome, time and
    model use counted and logged, once. A failure is shown where the answer was to be before it
    arrives here; it is not raised further."""
    meter, error = Meter(), None
    with IN_FLIGHT.track_inprogress():
        try:
            yield meter
        except Exception as failure:
            error = failure
    outcome = "ok" if error is None else error.code if isinstance(error, BotError) else "internal"
    ANSWERS.labels(outcome).inc()
    ANSWER_SECONDS.observe(meter.seconds)
    fields = {**log_fields(question), "outcome": outcome, "latency_seconds": round(meter.seconds, 3),
              "first_text_seconds": meter.first_text_seconds and round(meter.first_text_seconds, 3),
              "tokens_in": meter.usage.tokens_in, "tokens_out": meter.usage.tokens_out}  # fmt: skip
    if error is None:
        log.info("answered", extra=fields)
    else:
        log_outcome(error, fields)


def log_fields(question: Question) -> dict[str, str | None]:
    """What a log line may say of whose question it was: the platform, the team (a Slack
    workspace, a Discord server) and the conversation as a hash, never its ids or text."""
    key = question.key
    team = key.scope[0] if len(key.scope) > 1 and key.scope[0] != "dm" else None
    return {"platform": key.platform, "team": team, "conversation": hashlib.sha256(key.id.encode()).hexdigest()[:16]}


async def answer(engine: ChatEngine, texts: Texts, question: Question, where: Surface | GrowingMessage) -> bool:
    """Stream the answer to `question` onto `where` (edited messages, or one growing message)."""
    with _measured(question) as meter:
        deltas = engine.stream_reply(question.key, question.text, user=question.asker, meter=meter)
        async with aclosing(deltas):
            await _show(deltas, where, texts)
        return True
    return False  # already shown where the answer was to be


async def _show(deltas: AsyncIterator[str], where: Surface | GrowingMessage, texts: Texts) -> None:
    if isinstance(where, GrowingMessage):
        await show_growing(deltas, where, texts)
    else:
        await show_edited(deltas, where, texts)


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
    progress = ProgressMessage(progress_on or surface, result=surface)
    await progress.update(texts.document_progress(0, 0))  # reading can take a while before steps count

    async def steps(done: int, total: int) -> None:
        if total > 1:  # a one-step summary needs no count: its answer comes about as fast
            await progress.update(texts.document_progress(done, total))

    def pages(done: int, total: int) -> None:  # called on the loop, page by page, while OCR reads
        progress.update_soon(texts("doc_ocr_progress", done=done, total=total))

    with _measured(question) as meter:
        try:
            data = await source.fetch(limits)
            result = await engine.summarize_document(
                question.key, data, source.name, question=question.text or None, progress=steps, reading=pages,
                user=question.asker, meter=meter,
            )
        except Exception as error:
            # "rephrase your question" would puzzle someone who asked none
            summarizing = isinstance(error, LLMModelError) and not question.text
            await progress.fail(texts("llm_model_error_summary") if summarizing else texts.for_error(error))
            raise
        await progress.finish(result or texts("llm_empty"))
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
