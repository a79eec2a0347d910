"""What the bot does with a question or a file, on any Discord surface."""

from __future__ import annotations

from contextlib import aclosing
from typing import TYPE_CHECKING

import discord

from bot.adapters.discord.scope import Origin
from bot.adapters.discord.surface import EDIT_INTERVAL, LIMITS
from bot.frontend.delivery import ProgressMessage, Surface, stream_to_surface
from bot.core.engine import ChatEngine
from bot.core.errors import FileUnreadable
from bot.frontend.texts import text, user_message
from bot.core.summary import Progress

if TYPE_CHECKING:  # the document package loads the format libraries
    from bot.core.documents import ExtractionLimits


async def answer(engine: ChatEngine, surface: Surface, origin: Origin, question: str) -> None:
    """Stream the answer onto `surface`; a failure is shown there, then raised."""
    lang = engine.settings.bot_language
    async with aclosing(engine.stream_reply(origin.key, question, user=origin.asker)) as deltas:
        await stream_to_surface(deltas, surface, LIMITS, lang=lang)


async def summarize(
    engine: ChatEngine, surface: Surface, origin: Origin, file: discord.Attachment, question: str | None
) -> None:
    """The document's summary (or the answer to `question` about it), after a progress line on
    long documents; a failure is shown in its place, then raised."""
    lang = engine.settings.bot_language
    progress = ProgressMessage(
        surface, lambda done, total: text("doc_progress", lang, done=done, total=total),
        min_interval=EDIT_INTERVAL,
    )
    try:
        data = await _read(file, engine.limits)
        summary = await engine.summarize_document(
            origin.key, data, file.filename, question=question, progress=_long_only(progress.update),
            user=origin.asker,
        )
    except Exception as error:
        await progress.finish(user_message(error, lang))
        raise
    await progress.finish_long(summary, LIMITS, lang=lang)


async def _read(file: discord.Attachment, limits: ExtractionLimits) -> bytes:
    # Discord states the size up front: a file too large is refused without fetching a byte.
    if file.size > limits.max_bytes:
        raise limits.too_large()
    try:
        return await file.read()
    except discord.HTTPException:
        raise FileUnreadable(name=file.filename) from None


def _long_only(update: Progress) -> Progress:
    """A one-step summary needs no progress line: its answer comes about as fast."""

    async def report(done: int, total: int) -> None:
        if total > 1:
            await update(done, total)

    return report
