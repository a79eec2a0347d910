"""What a user's 👍/👎 (and the note after a 👎) does, the same on every front end: stored with
who and when, and a sentence for the user to read (thanks, or why it could not be saved)."""

from __future__ import annotations

import logging
import time

from redis.exceptions import RedisError

from bot.core.engine import ChatEngine
from bot.core.memory.feedback import Judgement, Verdict
from bot.frontend.texts import Texts

log = logging.getLogger(__name__)


async def judge(engine: ChatEngine, texts: Texts, answer_id: str, user: str, verdict: Verdict) -> str:
    try:
        await engine.feedback.judge(Judgement(answer_id, user, verdict, time.time()))
    except (RedisError, OSError) as error:
        log.warning("feedback on %s not saved: %s", answer_id, type(error).__name__)
        return texts("feedback_unavailable")
    return texts("feedback_thanks")


async def add_note(engine: ChatEngine, texts: Texts, answer_id: str, user: str, note: str) -> str:
    """The note of a 👎 (what went wrong); a note without a verdict is kept as a 👎 with it."""
    try:
        if note.strip() and not await engine.feedback.add_note(answer_id, user, note.strip()):
            await engine.feedback.judge(Judgement(answer_id, user, "down", time.time(), note.strip()))
    except (RedisError, OSError) as error:
        log.warning("feedback note on %s not saved: %s", answer_id, type(error).__name__)
        return texts("feedback_unavailable")
    return texts("feedback_thanks")
