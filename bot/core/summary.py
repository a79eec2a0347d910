"""Summaries of whole documents, however long.

A document that fits the context with the instructions and the answer is summarized in one call.
A longer one is cut into chunks sized by Llama 3 tokens; every chunk is summarized (concurrently,
bounded by the LLM's own concurrency limit), then the partial summaries are combined group by
group, level after level, until one remains; the last call writes the final, fixed shape. The whole
plan is known before the first call, so progress is reported as done/total steps from the start."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Awaitable, Callable, Literal, Sequence

from bot.core.budget import Budget
from bot.core.chunking import chunk_text
from bot.core.errors import LLMError
from bot.core.llm import ChatLLM
from bot.core.places import carry_places
from bot.core.prompt import Turn
from bot.core.usage import Meter

Progress = Callable[[int, int], Awaitable[None]]

_INSTRUCTIONS = {
    "ko": {
        "system": "당신은 문서를 정확하게 요약하는 비서입니다. 문서에 없는 내용은 지어내지 마세요.",
        "final": (
            "문서 '{name}'의 내용을 아래 형식 그대로 한국어로 요약하세요.\n\n"
            "한 줄 요약: (문서 전체를 한 문장으로)\n\n"
            "주요 내용:\n- (핵심 내용 3~7개, 나온 쪽·슬라이드·시트 표시가 있으면 괄호로)\n\n"
            "주요 숫자·날짜·이름:\n- (금액, 수치, 날짜, 기관, 사람 이름)\n\n{label}\n{body}"
        ),
        "map": (
            "다음은 문서 '{name}'의 {index}/{total}번째 부분입니다. 이 부분의 핵심 내용과 중요한 "
            "숫자·날짜·이름을 빠짐없이 한국어로 간결하게 정리하세요. [p. 3], [슬라이드 2], [시트: 이름] 같은 "
            "표시가 있으면 각 내용이 나온 쪽·슬라이드·시트를 괄호로 함께 적으세요.\n\n{body}"
        ),
        "combine": (
            "다음은 문서 '{name}'의 여러 부분을 각각 요약한 것입니다. 하나의 요약으로 합치되 "
            "중요한 숫자·날짜·이름은 그대로 유지하세요.\n\n{body}"
        ),
        "document": "문서 내용:",
        "partials": "부분 요약:",
        "unread_part": "(이 부분은 읽지 못했습니다.)",
        "unread_note": "\n\n(참고: 문서의 {parts}번째 부분은 모델 오류로 읽지 못해 요약에 빠져 있습니다.)",
    },
    "en": {
        "system": "You summarize documents accurately. Never add anything the document does not say.",
        "final": (
            "Summarize the document '{name}' in English, in exactly this shape.\n\n"
            "Gist: (the whole document in one sentence)\n\n"
            "Key points:\n- (3 to 7 points, with their page, slide or sheet in brackets where marked)\n\n"
            "Numbers, dates and names:\n- (amounts, figures, dates, organisations, people)\n\n{label}\n{body}"
        ),
        "map": (
            "This is part {index} of {total} of the document '{name}'. Note its key points and every "
            "important number, date and name, concisely, in English. Where markers such as [p. 3], "
            "[슬라이드 2] (slide) or [시트: name] (sheet) appear, give in brackets the page, slide or "
            "sheet each point comes from.\n\n{body}"
        ),
        "combine": (
            "These are summaries of consecutive parts of the document '{name}'. Merge them into one "
            "summary, keeping the important numbers, dates and names.\n\n{body}"
        ),
        "document": "Document:",
        "partials": "Partial summaries:",
        "unread_part": "(This part could not be read.)",
        "unread_note": "\n\n(Note: part {parts} of the document could not be read because of a model error and is "
        "missing from this summary.)",
    },
}


# A conversation (a thread, a channel's messages) is summarized the same way; its lines read
# "[#12] 이름: 내용", and the model cites the numbers of the key messages (turned into links).
_CONVERSATION = {
    "ko": {
        "system": "당신은 대화를 정확하게 요약하는 비서입니다. 대화에 없는 내용은 지어내지 마세요.",
        "final": (
            "대화 '{name}'을(를) 아래 형식 그대로 한국어로 요약하세요. 각 줄 앞의 [#번호]는 메시지 번호입니다.\n\n"
            "한 줄 요약: (대화 전체를 한 문장으로)\n\n"
            "주요 내용:\n- (누가 무엇을 말했는지, 근거 메시지 번호를 [#번호]로)\n\n"
            "결정·할 일:\n- (정해진 것, 누가 무엇을 하기로 했는지, [#번호]로; 없으면 '없음')\n\n{label}\n{body}"
        ),
        "map": (
            "다음은 대화 '{name}'의 {index}/{total}번째 부분입니다. 각 줄 앞의 [#번호]는 메시지 번호입니다. "
            "누가 무엇을 말했는지, 결정과 할 일을 빠짐없이 한국어로 간결하게 정리하고, 각 내용의 메시지 번호를 "
            "[#번호]로 함께 적으세요.\n\n{body}"
        ),
        "combine": (
            "다음은 대화 '{name}'의 여러 부분을 각각 요약한 것입니다. 하나의 요약으로 합치되 "
            "누가 말했는지와 [#번호] 표시는 그대로 유지하세요.\n\n{body}"
        ),
        "document": "대화 내용:",
        "partials": "부분 요약:",
        "unread_part": "(이 부분은 읽지 못했습니다.)",
        "unread_note": "\n\n(참고: 대화의 {parts}번째 부분은 모델 오류로 읽지 못해 요약에 빠져 있습니다.)",
    },
    "en": {
        "system": "You summarize conversations accurately. Never add anything the conversation does not say.",
        "final": (
            "Summarize the conversation '{name}' in English, in exactly this shape. The [#number] before each "
            "line is the message's number.\n\n"
            "Gist: (the whole conversation in one sentence)\n\n"
            "Key points:\n- (who said what, citing the messages as [#number])\n\n"
            "Decisions and to-dos:\n- (what was decided, who will do what, as [#number]; 'none' if none)\n\n"
            "{label}\n{body}"
        ),
        "map": (
            "This is part {index} of {total} of the conversation '{name}'. The [#number] before each line is "
            "the message's number. Note who said what, and every decision and to-do, concisely, in English, "
            "citing the messages as [#number].\n\n{body}"
        ),
        "combine": (
            "These are summaries of consecutive parts of the conversation '{name}'. Merge them into one "
            "summary, keeping who said what and the [#number] citations.\n\n{body}"
        ),
        "document": "Conversation:",
        "partials": "Partial summaries:",
        "unread_part": "(This part could not be read.)",
        "unread_note": "\n\n(Note: part {parts} of the conversation could not be read because of a model error "
        "and is missing from this summary.)",
    },
}
_KINDS = {"document": _INSTRUCTIONS, "conversation": _CONVERSATION}
SummaryKind = Literal["document", "conversation"]


@dataclass(frozen=True)
class SummaryPlan:
    chunks: list[str]
    group_size: int

    @property
    def levels(self) -> list[int]:
        """Calls per level: the map level, then each combining level, down to the final call."""
        counts = [len(self.chunks)]
        while counts[-1] > 1:
            counts.append(-(-counts[-1] // self.group_size))
        return counts

    @property
    def total_calls(self) -> int:
        return sum(self.levels) if len(self.chunks) > 1 else 1


@dataclass
class Summarizer:
    llm: ChatLLM
    budget: Budget
    language: str = "ko"
    partial_tokens: int = 512
    meter: Meter | None = None  # counts the tokens of every call
    kind: SummaryKind = "document"

    def _text(self, name: str) -> str:
        instructions = _KINDS[self.kind]
        return instructions.get(self.language, instructions["ko"])[name]

    def _overhead(self) -> int:
        """Tokens of the longest instruction wrapper, with room for a file name."""
        wrapper = self._text("final").format(name="x" * 80, label=self._text("document"), body="")
        return self.budget.count([Turn("system", self._text("system")), Turn("user", wrapper)]) + 32

    def plan(self, text: str) -> SummaryPlan:
        whole = self.budget.prompt_tokens - self._overhead()
        if self.budget.counter.count(text) <= whole:
            return SummaryPlan([text], group_size=1)
        chunk_tokens = self.budget.context_tokens - self.partial_tokens - self._overhead()
        # Every chunk keeps the page, slide or sheet it continues, for the model to cite.
        chunks = carry_places(chunk_text(text, self.budget.counter, chunk_tokens))
        # Each partial summary is at most `partial_tokens` long; a group must fit one prompt.
        group = max(2, (self.budget.prompt_tokens - self._overhead()) // (self.partial_tokens + 8))
        return SummaryPlan(chunks, group_size=group)

    async def summarize(self, text: str, filename: str, progress: Progress | None = None) -> str:
        plan = self.plan(text)
        steps = _Steps(plan.total_calls, progress)
        await steps.report()
        if len(plan.chunks) == 1:
            return await steps.run(self._final(filename, self._text("document"), plan.chunks[0]))
        total = len(plan.chunks)
        mapped = await asyncio.gather(
            *(steps.run_twice(lambda i=i, chunk=chunk: self._map(filename, i + 1, total, chunk))  # type: ignore[misc]
              for i, chunk in enumerate(plan.chunks))
        )  # fmt: skip
        unread = [i + 1 for i, part in enumerate(mapped) if isinstance(part, LLMError)]
        if len(unread) == total:
            raise next(part for part in mapped if isinstance(part, LLMError))
        partials = [self._text("unread_part") if isinstance(part, LLMError) else part for part in mapped]
        while len(partials) > plan.group_size:
            groups = [partials[i : i + plan.group_size] for i in range(0, len(partials), plan.group_size)]
            partials = await asyncio.gather(*(steps.run(self._combine(filename, g)) for g in groups))
        summary = await steps.run(self._final(filename, self._text("partials"), _join(partials)))
        if unread:
            summary += self._text("unread_note").format(parts=", ".join(map(str, unread)))
        return summary

    def _ask(self, user: str, tokens: int | None = None) -> Awaitable[str]:
        turns = [Turn("system", self._text("system")), Turn("user", user)]
        return self.llm.complete(turns, max_new_tokens=tokens, meter=self.meter)

    def _map(self, name: str, index: int, total: int, chunk: str) -> Awaitable[str]:
        prompt = self._text("map").format(name=name, index=index, total=total, body=chunk)
        return self._ask(prompt, self.partial_tokens)

    def _combine(self, name: str, parts: Sequence[str]) -> Awaitable[str]:
        return self._ask(self._text("combine").format(name=name, body=_join(parts)), self.partial_tokens)

    def _final(self, name: str, label: str, body: str) -> Awaitable[str]:
        return self._ask(self._text("final").format(name=name, label=label, body=body))


def _join(parts: Sequence[str]) -> str:
    return "\n\n".join(f"[{i + 1}]\n{part.strip()}" for i, part in enumerate(parts))


class _Steps:
    def __init__(self, total: int, progress: Progress | None) -> None:
        self.total, self.done, self.progress = total, 0, progress

    async def report(self) -> None:
        if self.progress is not None:
            await self.progress(self.done, self.total)

    async def run(self, call: Awaitable[str]) -> str:
        result = await call
        self.done += 1
        await self.report()
        return result

    async def run_twice(self, call: Callable[[], Awaitable[str]]) -> str | LLMError:
        """One part of a long document: tried again once if the model fails on it, and then
        given up (counted as done) rather than sinking the whole summary."""
        result: str | LLMError
        try:
            result = await call()
        except LLMError:
            try:
                result = await call()
            except LLMError as error:
                result = error
        self.done += 1
        await self.report()
        return result
