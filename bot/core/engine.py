"""The one API every adapter calls: stream a reply, get a whole reply, summarize a document,
reset a conversation.

Adapters translate platform events into (ConversationKey, text or file) and render what comes
back; everything else (memory, prompt, token budget, documents, the LLM, ordering) happens here."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, AsyncIterator, Callable, Sequence

from bot.config import Settings
from bot.core.budget import Budget
from bot.core.conversation import ConversationKey
from bot.core.chat_summary import ChatLine, transcript, with_links
from bot.core.errors import (
    BotError, NothingToRegenerate, NothingToSummarize, NotTheLastAnswer, NoTextLayer, PicturesNotSeen,
    RateLimited, TeamBudgetSpent, UnsupportedDocument, UserBudgetSpent,
)
from bot.core.llm import ChatLLM, ModelFacts, build_llm
from bot.core.memory import Exchange, LocalMemory, Memory, RedisMemory, StoredDocument, TurnHandle
from bot.core.memory.channels import ChannelSettings, ChannelSettingsStore, LocalChannelSettings, RedisChannelSettings
from bot.core.memory.connection import RedisTarget
from bot.core.memory.feedback import FeedbackStore, LocalFeedback, RedisFeedback
from bot.core.memory.ledger import Layout, Ledger, LocalLedger, OwnUsage, RedisLedger
from bot.core.memory.quota import LocalQuotas, Quotas, RedisQuotas
from bot.core.metrics import DOCUMENTS, count_tokens
from bot.core.passages import relevant_passages
from bot.core.prompt import Turn, system_prompt, with_passages
from bot.core.summary import Progress, Summarizer
from bot.core.pictures import PICTURE_TOKENS, Picture, as_picture, picture_type
from bot.core.tokens import TokenCounter, token_counter
from bot.core.translation import translation_system
from bot.core.usage import AnswerUsage, Asker, Calendar, Meter

UsageObserver = Callable[[AnswerUsage], None]

if TYPE_CHECKING:
    from bot.core.documents import ExtractedDocument, ExtractionLimits, ExtractionPool
    from bot.core.documents.sandbox import PageProgress

log = logging.getLogger(__name__)

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")

_DOCUMENT_TURN = {"ko": "[문서 첨부: {name}] 이 문서를 요약해 주세요.", "en": "[Document: {name}] Please summarize it."}
# What the user asked with a picture, as the model reads it and the conversation remembers it.
_PICTURE_TURN = {"ko": "[사진 첨부: {name}] {question}", "en": "[Picture: {name}] {question}"}
_PICTURE_QUESTION = {"ko": "이 사진에 무엇이 있는지 설명해 주세요.", "en": "Please describe what is in this picture."}


@dataclass
class ChatEngine:
    settings: Settings
    llm: ChatLLM
    memory: Memory
    tokens: TokenCounter
    model: ModelFacts
    # Called with every finished answer's usage, after the ledger has it (metrics listen here).
    usage_observers: list[UsageObserver] = field(default_factory=lambda: [count_tokens])
    # Started with the first document, stopped by `aclose`.
    _extraction: "ExtractionPool | None" = field(default=None, init=False, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> "ChatEngine":
        model = ModelFacts.from_settings(settings)
        return cls(settings, build_llm(settings), build_memory(settings), token_counter(model.llama3), model)

    @property
    def language(self) -> str:
        return self.settings.bot_language

    @property
    def budget(self) -> Budget:
        return Budget(self.tokens, self.model.context_tokens, self.settings.llm_max_new_tokens)

    @cached_property
    def quotas(self) -> Quotas:
        """Call quotas (a platform's rate limits) shared with every replica through Redis."""
        if isinstance(self.memory, RedisMemory):
            return RedisQuotas(self.memory.client, self.settings.redis_key_prefix)
        return LocalQuotas()

    @cached_property
    def feedback(self) -> FeedbackStore:
        """What users said of answers (bot.core.memory.feedback)."""
        if isinstance(self.memory, RedisMemory):
            return RedisFeedback(self.memory.client, self.settings.redis_key_prefix, self.memory.health)
        return LocalFeedback()

    @cached_property
    def channel_settings(self) -> ChannelSettingsStore:
        """Per-channel persona, language and follow-up rule (bot.core.memory.channels)."""
        if isinstance(self.memory, RedisMemory):
            signals = self.memory.signals("channel-settings")
            return RedisChannelSettings(self.memory.client, self.settings.redis_key_prefix, signals)
        return LocalChannelSettings()

    @cached_property
    def calendar(self) -> Calendar:
        return Calendar.named(self.settings.usage_timezone)

    @cached_property
    def ledger(self) -> Ledger:
        """Who used how much of the model, per day: in Redis when there is one."""
        layout = Layout(self.settings.redis_key_prefix, self.calendar)
        ttl = self.settings.usage_ttl_days * 24 * 3600
        if isinstance(self.memory, RedisMemory):
            return RedisLedger(self.memory.client, layout, ttl, self.memory.health)
        return LocalLedger(layout, ttl)

    async def usage_of(self, asker: Asker) -> OwnUsage:
        return await self.ledger.own(asker, time.time())

    @property
    def limits(self) -> "ExtractionLimits":
        from bot.core.documents import ExtractionLimits

        return ExtractionLimits.from_settings(self.settings)

    @property
    def model_queue(self) -> int | None:
        """None when a question asked now would reach the model at once; else how many wait
        for it already (it would wait behind them)."""
        return self.llm.queue

    async def stream_reply(
        self, key: ConversationKey, text: str, *, asker: Asker | None = None, pictures: Sequence[Picture] = (),
        channel: ChannelSettings = ChannelSettings(), observe: UsageObserver | None = None,
    ) -> AsyncIterator[str]:  # fmt: skip
        """Text deltas of the answer to `text` in conversation `key`, asked by `asker` (for the
        per-user rate limit, the budgets and the usage ledger), with `pictures` for a model that
        sees them (they are not remembered; the text is), in the `channel`'s language and persona;
        `observe` gets this answer's usage.

        Raises BotError subclasses. The exchange is remembered only when the answer completed
        and the caller consumed it to the end; use `contextlib.aclosing` when you may stop early."""
        await self._admit(asker)
        meter = Meter()
        try:
            async for delta in self._answer(key, well_formed(text), pictures, meter, channel):
                yield delta
        finally:
            await self._account(asker, meter, observe, document=False)

    async def regenerate(
        self, key: ConversationKey, *, asker: Asker | None = None, channel: ChannelSettings = ChannelSettings(),
        replacing: str | None = None, observe: UsageObserver | None = None,
    ) -> AsyncIterator[str]:  # fmt: skip
        """A new answer to the conversation's last question, which, once complete, takes the old
        answer's place in memory (the memory keeps only the answer shown last). Raises
        NothingToRegenerate when the conversation remembers no answer, NotTheLastAnswer when
        `replacing` (the text of the answer to replace) is not the last one remembered."""
        await self._admit(asker)
        meter = Meter()
        try:
            async with self.memory.turn(key) as turn:
                if not turn.context.history:
                    raise NothingToRegenerate(key.id)
                *earlier, last = turn.context.history
                if replacing is not None and last.assistant != replacing:
                    raise NotTheLastAnswer(key.id)
                async for delta in self._model_answer(turn, earlier, last.user, (), meter, channel, turn.replace_last):
                    yield delta
        finally:
            await self._account(asker, meter, observe, document=False)

    async def reply(
        self, key: ConversationKey, text: str, *, asker: Asker | None = None, pictures: Sequence[Picture] = (),
        observe: UsageObserver | None = None,
    ) -> str:  # fmt: skip
        async with aclosing(self.stream_reply(key, text, asker=asker, pictures=pictures, observe=observe)) as deltas:
            return "".join([delta async for delta in deltas]).strip()

    async def _answer(
        self, key: ConversationKey, text: str, pictures: Sequence[Picture], meter: Meter,
        channel: ChannelSettings = ChannelSettings(),
    ) -> AsyncIterator[str]:  # fmt: skip
        async with self.memory.turn(key) as turn:
            async for delta in self._model_answer(turn, turn.context.history, text, pictures, meter, channel,
                                                  turn.remember):  # fmt: skip
                yield delta

    async def _model_answer(
        self, turn: TurnHandle, history: list[Exchange], text: str, pictures: Sequence[Picture], meter: Meter,
        channel: ChannelSettings, keep: Callable[[Exchange], None],
    ) -> AsyncIterator[str]:  # fmt: skip
        """The model's answer to `text` after `history`, kept by `keep` once complete."""
        system = self._system_for(turn.context.documents, text, channel)
        prompt = self._budget_with(pictures).fit(system, history, text)
        parts: list[str] = []
        async for delta in self.llm.stream(prompt, pictures=pictures, meter=meter):
            parts.append(delta)
            yield delta
        answer = "".join(parts).strip()
        if answer:
            keep(Exchange(text.strip(), answer))

    async def translate(
        self, text: str, *, asker: Asker | None = None, observe: UsageObserver | None = None
    ) -> AsyncIterator[str]:
        """Text deltas of `text` translated between Korean and English (either way, read from
        the text); not part of any conversation, so nothing is remembered, but counted for
        `asker` like an answer (`observe` gets its usage). MessageTooLong when the text cannot
        fit the context with its translation."""
        await self._admit(asker)
        meter = Meter()
        try:
            text = well_formed(text)
            turns = self.budget.fit(translation_system(text), [], text)
            async for delta in self.llm.stream(turns, meter=meter):
                yield delta
        finally:
            await self._account(asker, meter, observe, document=False)

    async def summarize_document(
        self,
        key: ConversationKey,
        data: bytes,
        filename: str,
        *,
        question: str | None = None,
        progress: Progress | None = None,
        reading: PageProgress | None = None,
        asker: Asker | None = None,
        observe: UsageObserver | None = None,
    ) -> str:
        """Read a whole document, keep it with the conversation for follow-up questions, and
        return its summary (or, with `question`, the answer to that question about it).
        `reading(done, total)` follows the pages read by OCR, `progress` the summary's steps.

        A picture (PNG, JPEG, GIF, WebP) goes with the question to a model that sees pictures;
        for a text-only model it is read as a document, its text by OCR, and a picture that
        yields no text is PicturesNotSeen."""
        filename = well_formed(filename)
        if picture_type(data):
            if self.model.accepts_images:
                return await self._answer_picture(key, data, filename, question, asker, observe)
            try:
                return await self._summarize(key, data, filename, question, progress, reading, asker, observe)
            except (UnsupportedDocument, NoTextLayer) as error:
                raise PicturesNotSeen(f"{filename}: {type(error).__name__}") from None
        return await self._summarize(key, data, filename, question, progress, reading, asker, observe)

    async def _answer_picture(
        self, key: ConversationKey, data: bytes, filename: str, question: str | None, asker: Asker | None,
        observe: UsageObserver | None,
    ) -> str:  # fmt: skip
        picture = as_picture(data)
        asked = well_formed(question or "").strip() or _PICTURE_QUESTION.get(self.language, _PICTURE_QUESTION["ko"])
        text = _PICTURE_TURN.get(self.language, _PICTURE_TURN["ko"]).format(name=filename, question=asked)
        return await self.reply(key, text, asker=asker, pictures=[picture], observe=observe)

    async def _summarize(
        self, key: ConversationKey, data: bytes, filename: str, question: str | None,
        progress: Progress | None, reading: PageProgress | None, asker: Asker | None,
        observe: UsageObserver | None,
    ) -> str:  # fmt: skip
        await self._admit(asker)  # one dropped file is one request, whatever it asks
        meter = Meter()
        try:
            document = await self.read_document(data, filename, reading)
            await self.memory.save_document(key, StoredDocument(filename, document.text))
            if question:
                async with aclosing(self._answer(key, well_formed(question), (), meter)) as deltas:
                    return "".join([delta async for delta in deltas]).strip()
            summarizer = Summarizer(self.llm, self.budget, self.language, meter=meter)
            summary = (await summarizer.summarize(document.text, filename, progress)).strip()
            async with self.memory.turn(key) as turn:
                asked = _DOCUMENT_TURN.get(self.language, _DOCUMENT_TURN["ko"]).format(name=filename)
                turn.remember(Exchange(asked, summary))
            return summary
        finally:
            await self._account(asker, meter, observe, document=True)

    async def summarize_conversation(
        self, key: ConversationKey, lines: Sequence[ChatLine], title: str, *, asked: str,
        progress: Progress | None = None, asker: Asker | None = None, channel: ChannelSettings = ChannelSettings(),
        observe: UsageObserver | None = None,
    ) -> str:  # fmt: skip
        """A summary of chat `lines` (all of them, chunk by chunk when long) with who said what
        and Markdown links to the key messages; remembered in conversation `key` as the answer to
        `asked`, for follow-up questions. NothingToSummarize when `lines` is empty."""
        if not lines:
            raise NothingToSummarize(title)
        await self._admit(asker)
        meter = Meter()
        try:
            language = channel.language_or(self.language)
            summarizer = Summarizer(self.llm, self.budget, language, meter=meter, kind="conversation")
            text = well_formed(transcript(lines))
            summary = with_links((await summarizer.summarize(text, well_formed(title), progress)).strip(), lines)
            async with self.memory.turn(key) as turn:
                turn.remember(Exchange(well_formed(asked).strip(), summary))
            return summary
        finally:
            await self._account(asker, meter, observe, document=True)

    async def read_document(
        self, data: bytes, filename: str, reading: "PageProgress | None" = None
    ) -> "ExtractedDocument":
        """The text of a document, read in an extraction process within the configured limits;
        `reading(done, total)` is called for each page read by OCR."""
        if self._extraction is None:
            # Imported here: the format libraries (pdfium, office readers) are only loaded for files.
            from bot.core.documents import ExtractionPool

            self._extraction = ExtractionPool()
        try:
            document = await self._extraction.extract(data, filename, self.limits, reading)
        except BotError as error:
            DOCUMENTS.labels("unknown", error.code).inc()
            raise
        DOCUMENTS.labels(document.format, "ok").inc()
        return document

    async def reset(self, key: ConversationKey) -> None:
        await self.memory.clear(key)

    async def claim_event(self, event_id: str, ttl_seconds: int = 3600) -> bool:
        """De-duplicate platform deliveries: True only for the first replica to see `event_id`."""
        return await self.memory.claim(f"event:{event_id}", ttl_seconds)

    async def _admit(self, asker: Asker | None) -> None:
        """Refuse before the model is called: over the per-user rate, or a budget spent."""
        if asker is None:
            return
        limit = self.settings.user_rate_limit_per_minute
        if limit and await self.memory.hit(f"user:{asker.id}", 60) > limit:
            raise RateLimited(asker.id)
        await self._check_budgets(asker)

    async def _check_budgets(self, asker: Asker) -> None:
        daily, monthly = self.settings.budget_user_daily_tokens, self.settings.budget_team_monthly_tokens
        if not (daily or monthly):
            return
        now = time.time()
        used = await self.ledger.own(asker, now)
        if daily and used.today.tokens >= daily:
            raise UserBudgetSpent(asker.id, limit=daily, **self._reset_params(self.calendar.next_day(now)))
        # A Discord DM has no team: only the person's budget applies there.
        if monthly and asker.team and used.team_month.tokens >= monthly:
            raise TeamBudgetSpent(asker.team_id, limit=monthly, **self._reset_params(self.calendar.next_month(now)))

    @staticmethod
    def _reset_params(at: datetime) -> dict[str, object]:
        return {"date": at.date().isoformat(), "month": at.month, "day": at.day, "zone": at.tzname()}

    async def _account(
        self, asker: Asker | None, meter: Meter, observe: UsageObserver | None, *, document: bool
    ) -> None:
        """File what the model did for an answer (nothing, if it did nothing) with the ledger,
        then tell the observers (the engine's, and `observe`, the answer's own)."""
        if not meter.used:
            return
        prompt, generated, reported = meter.tokens(self.budget.count, self.tokens.count)
        counted_by = "provider" if reported else "tokenizer" if self.tokens.exact else "estimate"
        usage = AnswerUsage(
            asker, self.model.name, prompt, generated, counted_by,
            answered=any(call.text for call in meter.calls), document=document,
        )  # fmt: skip
        await self.ledger.record(usage)
        for observer in [*self.usage_observers, *([observe] if observe else [])]:
            observer(usage)

    def _budget_with(self, pictures: Sequence[Picture]) -> Budget:
        """The budget with room kept in the context for `pictures`."""
        budget = self.budget
        return replace(budget, answer_tokens=budget.answer_tokens + PICTURE_TOKENS * len(pictures)) if pictures else budget

    def _system_for(
        self, documents: list[StoredDocument], question: str, channel: ChannelSettings = ChannelSettings()
    ) -> str:
        language = channel.language_or(self.language)
        system = system_prompt(language, self.settings.bot_system_prompt, channel.persona)
        if not documents:
            return system
        # Passages take at most half of what is left after the system prompt and the question,
        # leaving the rest to the conversation's history.
        spare = self.budget.prompt_tokens - self.budget.count([Turn("system", system), Turn("user", question)])
        passages = relevant_passages(documents, question, self.tokens, max(spare // 2, 0))
        return with_passages(system, language, passages)

    async def aclose(self) -> None:
        if self._extraction is not None:
            # Waits for the extraction processes to exit: in a thread, not on the loop.
            await asyncio.to_thread(self._extraction.close)
            self._extraction = None
        await self.memory.aclose()
        close = getattr(self.llm, "aclose", None)
        if close is not None:
            await close()


def well_formed(text: str) -> str:
    """`text` with each lone surrogate (half of an emoji's UTF-16 pair, which a JSON escape such
    as \\ud83d can carry) replaced by U+FFFD: as it is, it cannot be encoded for Redis, the
    tokenizer or the endpoint."""
    return _LONE_SURROGATE.sub("\ufffd", text)


def build_memory(settings: Settings) -> Memory:
    if not settings.redis_url:
        log.warning("REDIS_URL is not set: conversations are kept in this process only")
        return LocalMemory(
            settings.memory_window, settings.doc_max_stored_chars, max_wait=settings.turn_max_wait_seconds
        )
    return RedisMemory.connected(
        RedisTarget.from_settings(settings),
        # Every answer in flight may be touching Redis at the same moment.
        max_connections=max(100, settings.llm_max_concurrency),
        timeout_seconds=settings.redis_timeout_seconds,
        prefix=settings.redis_key_prefix,
        window=settings.memory_window,
        ttl_seconds=settings.memory_ttl_seconds,
        max_document_chars=settings.doc_max_stored_chars,
        # Longer than a takeover: a question taken over keeps its place in its conversation.
        lease_seconds=2 * settings.job_takeover_seconds,
        max_wait_seconds=settings.turn_max_wait_seconds,
    )
