"""The shared delivery (bot.frontend: markdown, splitting, streaming, progress) against an in-memory
surface."""

from __future__ import annotations

import asyncio
import math
import random
import re
import unicodedata
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.frontend.markdown import open_fence
from bot.frontend.progress import ProgressMessage
from bot.frontend.splitting import split_message, utf8_len
from bot.frontend.streaming import show_edited
from bot.frontend.surface import MessageStyle
from bot.frontend.texts import texts_for
from bot.core.errors import LLMBusy, LLMStreamCut

KOREAN = texts_for("ko")
CUT_KO = KOREAN("llm_stream_cut")


# ------------------------------------------------------------------ fakes and helpers


@dataclass
class Op:
    at: float
    op: str  # "post" | "edit"
    handle: int
    text: str


class FakeSurface:
    """Records every call with the loop's clock; `edit_delay` makes edits slow like a busy API."""

    def __init__(self, style: MessageStyle = MessageStyle(max_len=2000), edit_delay: float = 0.0) -> None:
        self.style = style
        self.ops: list[Op] = []
        self.texts: dict[int, str] = {}
        self.edit_delay = edit_delay
        self.edits_in_flight = 0
        self.max_edits_in_flight = 0
        self.room_for_messages = True  # False: the platform's edits are all spent
        self.asked_for_room = 0
        self.notes: list[str] = []  # what the asker alone was told
        self.note_delay = 0.0  # a note's call takes this long (a slow or rate-limited platform)
        self.note_error: Exception | None = None  # and then fails with this
        self._changed = asyncio.Event()

    async def post(self, text: str) -> int:
        handle = len(self.texts)
        self._record("post", handle, text)
        self.texts[handle] = text
        return handle

    async def edit(self, handle: object, text: str) -> None:
        assert isinstance(handle, int) and handle in self.texts
        self._record("edit", handle, text)
        self.edits_in_flight += 1
        self.max_edits_in_flight = max(self.max_edits_in_flight, self.edits_in_flight)
        try:
            await asyncio.sleep(self.edit_delay)
        finally:
            self.edits_in_flight -= 1
        self.texts[handle] = text
        self._changed.set()

    async def room_for_edit(self, *, first: bool = False) -> bool:
        return True

    async def room_for_message(self) -> bool:
        self.asked_for_room += 1
        self._changed.set()
        return self.room_for_messages

    async def tell_asker(self, text: str) -> None:
        await asyncio.sleep(self.note_delay)
        if self.note_error is not None:
            raise self.note_error
        self.notes.append(text)
        self._changed.set()

    def _record(self, op: str, handle: int, text: str) -> None:
        self.ops.append(Op(asyncio.get_running_loop().time(), op, handle, text))
        self._changed.set()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    def shows(self, handle: int, fragment: str) -> Callable[[], bool]:
        return lambda: fragment in self.texts.get(handle, "")

    def final_texts(self) -> list[str]:
        return [self.texts[h] for h in sorted(self.texts)]


def assert_throttled(surface: FakeSurface, interval: float, *, answer: bool = False) -> None:
    """No message is touched twice (post then edit, or edit then edit) within `interval`; for an
    `answer`, only the edits in between: its first text and its final text go out at once."""
    for handle in surface.texts:
        times = [op.at for op in surface.ops if op.handle == handle]
        gaps = [later - earlier for earlier, later in zip(times, times[1:])]
        paced = gaps[1:-1] if answer else gaps
        assert all(gap >= interval - 1e-9 for gap in paced), (handle, paced)


async def from_queue(queue: asyncio.Queue[str | BaseException | None]) -> AsyncIterator[str]:
    """Deltas the test hands out one by one: a str is yielded, an exception raised, None ends."""
    while (item := await queue.get()) is not None:
        if isinstance(item, BaseException):
            raise item
        yield item


async def trickle(text: str, seed: int = 0) -> AsyncIterator[str]:
    """`text` in 1-8 character deltas, with the loop's clock moving as a model's would."""
    rng = random.Random(seed)
    i = count = 0
    while i < len(text):
        step = rng.randint(1, 8)
        yield text[i : i + step]
        i, count = i + step, count + 1
        await asyncio.sleep(0.001 if count % 10 == 0 else 0)


_FENCE_MARK = re.compile(r"```[^\s`]*")


def content(text: str) -> str:
    """Text with fence markers and whitespace removed: what splitting must preserve."""
    return re.sub(r"\s+", "", _FENCE_MARK.sub("", text))


def fences_balanced(part: str) -> bool:
    return sum(line.strip().startswith("```") for line in part.split("\n")) % 2 == 0


def slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def korean_answer(size: int = 12_000) -> str:
    sentences = [
        "대한민국의 수도는 서울입니다.",
        "오늘 회의는 오후 세 시에 시작해요.",
        "이 문서는 세 부분으로 나뉩니다!",
        "정말 그럴까요?",
        "R&D 예산은 <비공개>로 처리됩니다.",
        "Llama 3 모델은 8,192 토큰의 문맥을 지원합니다.",
    ]
    code_lines = [f"    결과_{i} = 계산(값_{i}, 계수={i})  # 단계 {i}" for i in range(80)]
    big_code = "```python\ndef 처리():\n" + "\n".join(code_lines) + "\n```"
    blocks = []
    for i in range(1000):
        if sum(len(b) + 2 for b in blocks) >= size:
            break
        if i == 3:
            blocks.append(big_code)  # longer than a Discord message: a cut must land inside it
        else:
            blocks.append(" ".join(sentences[(i + k) % len(sentences)] for k in range(i % 6 + 2)))
    return "\n\n".join(blocks)[:size]


# ------------------------------------------------------------------ split_message

_hangul = st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3)
_word = st.text(st.one_of(_hangul, st.sampled_from("abcXYZ019,:;()&<>'\"")), min_size=1, max_size=10)
_sentence = st.builds(
    lambda words, end: " ".join(words) + end,
    st.lists(_word, min_size=1, max_size=12),
    st.sampled_from(["다.", "요.", "?", "!", ".", ""]),
)
_paragraph = st.lists(_sentence, min_size=1, max_size=6).map(" ".join)
_code_line = st.builds(lambda indent, words: " " * indent + " ".join(words),
                       st.integers(0, 8), st.lists(_word, max_size=6))
_lang = st.sampled_from(["", "python", "js", "한국어"])


def _code_block(closed: bool) -> st.SearchStrategy[str]:
    return st.builds(
        lambda lang, lines: f"```{lang}\n" + "\n".join(lines) + ("\n```" if closed else ""),
        _lang, st.lists(_code_line, min_size=1, max_size=20),
    )


@st.composite
def markdown(draw: st.DrawFn) -> str:
    blocks = draw(st.lists(st.one_of(_paragraph, _code_block(closed=True)), min_size=1, max_size=8))
    if draw(st.booleans()):
        blocks.append(draw(_code_block(closed=False)))  # a model cut off mid-code by max tokens
    return draw(st.sampled_from(["\n\n", "\n", "\n\n\n"])).join(blocks)


@settings(max_examples=200, deadline=None)
@given(text=markdown(), limit=st.integers(64, 600), measure=st.sampled_from([len, utf8_len]))
def test_split_parts_fit_keep_content_and_balance_fences(
    text: str, limit: int, measure: Callable[[str], int]
) -> None:
    parts = split_message(text, limit, measure)
    assert all(measure(part) <= limit for part in parts)
    assert all(part and part == part.strip() for part in parts)
    assert all(fences_balanced(part) for part in parts)
    assert content("\n".join(parts)) == content(text)


@settings(max_examples=200, deadline=None)
@given(paragraphs=st.lists(_paragraph, min_size=1, max_size=10), limit=st.integers(64, 400),
       measure=st.sampled_from([len, utf8_len]))
def test_split_never_breaks_a_word(
    paragraphs: list[str], limit: int, measure: Callable[[str], int]
) -> None:
    text = "\n\n".join(paragraphs)
    parts = split_message(text, limit, measure)
    assert " ".join(parts).split() == text.split()


def test_split_prefers_paragraphs_then_lines_then_sentences() -> None:
    first, second = "가" * 60 + " 끝.", "나" * 30
    assert split_message(f"{first}\n\n{second}", 80) == [first, second]
    assert split_message(f"{first}\n{second}", 80) == [first, second]
    sentences = "하늘이 아주 맑고 푸르게 빛납니다. 바람이 " + "다" * 40
    assert split_message(sentences, 30)[0] == "하늘이 아주 맑고 푸르게 빛납니다."
    # a strong break early in the window loses to a weaker one late in it: parts stay full
    assert split_message("짧다.\n\n" + "말 " * 20, 30)[0] == "짧다.\n\n" + " ".join(["말"] * 13)


def test_split_fills_messages_and_never_ends_in_a_stray_few_characters() -> None:
    words = " ".join(["가나다라"] * 2410)  # 12,049 characters: six full messages and 49 left
    parts = split_message(words, 2000)
    assert len(parts) == 7 and " ".join(parts) == words
    assert all(len(part) == 1999 for part in parts[:-2])
    assert [len(part) for part in parts[-2:]] == [1024, 1024]  # the last two evened out
    assert [len(part) for part in split_message(words[:3000], 2000)] == [1999, 999]  # no stub: left


def test_split_reopens_a_cut_code_block_with_its_language() -> None:
    code = "\n".join(f"print({i})" for i in range(40))
    parts = split_message(f"예시입니다.\n\n```python\n{code}\n```\n\n끝.", 100)
    assert len(parts) > 3
    for before, after in zip(parts, parts[1:]):
        if before.endswith("\n```") and "print" in after:
            assert after.startswith("```python\n")
    assert all(fences_balanced(part) for part in parts)
    assert parts[-1].endswith("끝.")


def test_split_counts_hangul_bytes_and_never_splits_a_character() -> None:
    text = "한글" * 500  # no space anywhere: hard cuts, each on a character boundary
    parts = split_message(text, 100, utf8_len)
    assert all(utf8_len(part) <= 100 for part in parts)
    assert "".join(parts) == text
    decomposed = unicodedata.normalize("NFD", "한글" * 100)  # jamo that render as one syllable
    parts = split_message(decomposed, 50)
    assert all(not "\u1160" <= part[0] <= "\u11ff" for part in parts)
    assert "".join(parts) == decomposed


def test_split_empty_and_impossible() -> None:
    assert split_message(" \n\n ", 100) == []
    with pytest.raises(ValueError):
        split_message("```python\n" + "x" * 50, 12)


def test_one_line_code_span_is_no_fence() -> None:
    """```x = 1``` on a line of its own is inline code: a split adds no closing fence after it."""
    text = "```x = 1```\nafter"
    assert split_message(text, 100) == [text]
    parts = split_message("intro\n\n```x = 1```\n" + "가나다 " * 30, 60)
    assert len(parts) > 1 and "".join(parts).count("```") == 2  # nothing closed, nothing reopened


@settings(max_examples=200, deadline=None)
@given(text=markdown(), limit=st.integers(64, 600))
def test_split_agrees_with_the_fence_rule_everywhere(text: str, limit: int) -> None:
    """Every part is closed as the one fence rule reads it, whatever one-line spans it holds."""
    text = text.replace("```python\n", "```python\n```x```\n", 1)
    assert all(open_fence(part) is None for part in split_message(text, limit))


# ------------------------------------------------------------------ show_edited

DISCORD = MessageStyle(max_len=2000, edit_interval=0.02)
SLACK = MessageStyle(max_len=4000, measure=utf8_len, edit_interval=0.02, format=slack_escape)


@pytest.mark.parametrize("style, unformat", [(DISCORD, lambda s: s), (SLACK, slack_unescape)], ids=["discord", "slack"])
async def test_long_korean_answer_arrives_whole_across_messages(
    style: MessageStyle, unformat: Callable[[str], str]
) -> None:
    surface = FakeSurface(style)
    answer = korean_answer(12_000)
    handles = await show_edited(trickle(answer), surface, KOREAN)

    finals = surface.final_texts()
    assert handles == list(range(len(finals)))
    assert len(handles) >= math.ceil(style.formatted_len(answer) / style.max_len)
    assert all(style.measure(op.text) <= style.max_len for op in surface.ops)
    assert not any(text.endswith(style.cursor) for text in finals)
    assert all(fences_balanced(text) for text in finals)
    assert any(text.startswith("```python\n결과") or text.startswith("```python\n    결과")
               for text in finals)  # the long code block was reopened
    assert content(unformat("".join(finals))) == content(answer)
    assert any(style.cursor in op.text for op in surface.ops)  # it was shown while growing
    assert_throttled(surface, style.edit_interval, answer=True)


async def test_placeholder_is_posted_before_the_first_delta() -> None:
    surface = FakeSurface(DISCORD)
    queue: asyncio.Queue[str | BaseException | None] = asyncio.Queue()
    task = asyncio.create_task(show_edited(from_queue(queue), surface, KOREAN))
    await surface.wait_until(lambda: bool(surface.ops))
    assert surface.ops[0].op == "post" and surface.ops[0].text == KOREAN("thinking")
    for item in ("안녕하세요. ", "무엇을 도와드릴까요?", None):
        queue.put_nowait(item)
    assert await task == [0]
    assert surface.texts[0] == "안녕하세요. 무엇을 도와드릴까요?"
    assert_throttled(surface, DISCORD.edit_interval, answer=True)


async def test_slow_edits_never_pile_up() -> None:
    surface = FakeSurface(MessageStyle(max_len=2000, edit_interval=0.005), edit_delay=0.03)
    answer = korean_answer(1_500)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await show_edited(trickle(answer), surface, KOREAN)
    elapsed = loop.time() - started
    assert surface.max_edits_in_flight == 1
    edits = sum(op.op == "edit" for op in surface.ops)
    assert edits <= elapsed / surface.edit_delay + 1  # one after another, none queued
    assert content(surface.texts[0]) == content(answer)


@pytest.mark.parametrize("lang", ["ko", "en"])
async def test_error_before_any_text_replaces_placeholder(lang: str) -> None:
    surface = FakeSurface(DISCORD)
    queue: asyncio.Queue[str | BaseException | None] = asyncio.Queue()
    queue.put_nowait("  ")
    queue.put_nowait(LLMBusy("429 after retries"))
    with pytest.raises(LLMBusy):
        await show_edited(from_queue(queue), surface, texts_for(lang))
    assert surface.final_texts() == [texts_for(lang).for_error(LLMBusy())]
    assert "429" not in surface.texts[0]
    assert_throttled(surface, DISCORD.edit_interval, answer=True)


async def test_unexpected_error_before_text_shows_generic_message() -> None:
    surface = FakeSurface(DISCORD)
    queue: asyncio.Queue[str | BaseException | None] = asyncio.Queue()
    queue.put_nowait(RuntimeError("secret internal detail"))
    with pytest.raises(RuntimeError):
        await show_edited(from_queue(queue), surface, KOREAN)
    assert surface.final_texts() == [KOREAN("internal")]


async def test_error_after_text_keeps_it_and_marks_cut() -> None:
    surface = FakeSurface(DISCORD)
    queue: asyncio.Queue[str | BaseException | None] = asyncio.Queue()
    task = asyncio.create_task(show_edited(from_queue(queue), surface, KOREAN))
    queue.put_nowait("첫 번째 문단입니다.\n\n```python\nprint(1)")
    await surface.wait_until(surface.shows(0, "print(1)"))
    queue.put_nowait(LLMStreamCut("ModelStreamError"))
    with pytest.raises(LLMStreamCut):
        await task
    assert surface.texts[0] == f"첫 번째 문단입니다.\n\n```python\nprint(1)\n```\n\n{CUT_KO}"
    assert_throttled(surface, DISCORD.edit_interval, answer=True)


async def test_cancellation_marks_the_answer_cut_and_closes_the_stream() -> None:
    surface = FakeSurface(DISCORD)
    queue: asyncio.Queue[str | BaseException | None] = asyncio.Queue()
    closed = asyncio.Event()

    async def deltas() -> AsyncIterator[str]:
        try:
            async for delta in from_queue(queue):
                yield delta
        finally:
            closed.set()

    task = asyncio.create_task(show_edited(deltas(), surface, KOREAN))
    queue.put_nowait("지금 답변을 쓰는 ")
    await surface.wait_until(surface.shows(0, "지금 답변을"))
    queue.put_nowait("중입니다")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert surface.texts[0] == f"지금 답변을 쓰는 중입니다\n\n{CUT_KO}"
    assert closed.is_set()
    assert_throttled(surface, DISCORD.edit_interval, answer=True)


async def test_empty_answer_replaces_placeholder_with_a_note() -> None:
    surface = FakeSurface(MessageStyle(max_len=2000, edit_interval=0.01))
    queue: asyncio.Queue[str | BaseException | None] = asyncio.Queue()
    for item in ("", " \n", None):
        queue.put_nowait(item)
    assert await show_edited(from_queue(queue), surface, KOREAN) == [0]
    assert "빈 답변" in surface.texts[0]


async def test_first_text_replaces_the_placeholder_at_once_and_the_final_text_needs_no_wait() -> None:
    style = MessageStyle(max_len=2000, edit_interval=0.5)
    surface = FakeSurface(style)
    queue: asyncio.Queue[str | BaseException | None] = asyncio.Queue()
    task = asyncio.create_task(show_edited(from_queue(queue), surface, KOREAN))
    await surface.wait_until(lambda: bool(surface.ops))
    queue.put_nowait("첫 토큰")
    await surface.wait_until(surface.shows(0, "첫 토큰"))
    queue.put_nowait(" 둘째 토큰")
    queue.put_nowait(None)
    await task
    posted, first, *_, final = surface.ops
    assert first.at - posted.at < style.edit_interval / 2  # not held back by the edit interval
    assert final.text == "첫 토큰 둘째 토큰" and final.at - first.at < style.edit_interval / 2


async def test_with_the_edits_all_spent_an_answer_is_posted_whole_and_never_edited() -> None:
    surface = FakeSurface(DISCORD)
    surface.room_for_messages = False
    answer = korean_answer(3_000)
    handles = await show_edited(trickle(answer), surface, KOREAN)
    assert [op.op for op in surface.ops] == ["post"] * len(handles)  # no placeholder, no edit
    assert len(handles) == math.ceil(len(answer) / DISCORD.max_len)
    assert content("".join(surface.final_texts())) == content(answer)


async def test_an_answer_posted_whole_tells_its_asker_so_at_once_and_only_once() -> None:
    surface = FakeSurface(DISCORD)
    surface.room_for_messages = False
    queue: asyncio.Queue[str | BaseException | None] = asyncio.Queue()
    task = asyncio.create_task(show_edited(from_queue(queue), surface, KOREAN))
    await surface.wait_until(lambda: bool(surface.notes))  # before the model wrote a word
    queue.put_nowait("첫 문장입니다. ")
    await surface.wait_until(lambda: surface.asked_for_room >= 2)  # no room, asked again
    queue.put_nowait(None)
    await task
    assert surface.notes == [KOREAN("answer_comes_whole")]
    assert [op.op for op in surface.ops] == ["post"]


async def test_an_answer_shown_growing_tells_its_asker_nothing_aside() -> None:
    surface = FakeSurface(DISCORD)
    await show_edited(trickle("첫 문장입니다. 둘째 문장입니다."), surface, texts_for("en"))
    assert surface.ops[0].text == texts_for("en")("thinking") and surface.notes == []


@pytest.mark.parametrize("delay, error", [(3600.0, None), (0.0, ConnectionResetError("reset by peer"))])
async def test_a_note_that_hangs_or_fails_never_holds_up_nor_fails_the_answer(
    delay: float, error: Exception | None
) -> None:
    surface = FakeSurface(DISCORD)
    surface.room_for_messages, surface.note_delay, surface.note_error = False, delay, error
    async with asyncio.timeout(5):
        await show_edited(trickle("첫 문장입니다. 둘째 문장입니다."), surface, KOREAN)
    assert surface.final_texts() == ["첫 문장입니다. 둘째 문장입니다."] and surface.notes == []


async def test_room_that_frees_up_mid_answer_shows_the_rest_growing() -> None:
    surface = FakeSurface(DISCORD)
    surface.room_for_messages = False
    queue: asyncio.Queue[str | BaseException | None] = asyncio.Queue()
    task = asyncio.create_task(show_edited(from_queue(queue), surface, KOREAN))
    queue.put_nowait("첫 문장입니다. ")
    await surface.wait_until(lambda: surface.asked_for_room >= 2)  # with its first text, and again later
    assert surface.ops == []
    surface.room_for_messages = True
    queue.put_nowait("둘째 문장입니다.")
    await surface.wait_until(surface.shows(0, "둘째 문장"))
    queue.put_nowait(None)
    await task
    assert surface.ops[0].op == "post" and surface.ops[0].text.endswith(DISCORD.cursor)  # shown growing
    assert surface.final_texts() == ["첫 문장입니다. 둘째 문장입니다."]


async def test_the_final_text_goes_out_when_the_model_ends_not_at_the_next_edit_time() -> None:
    style = MessageStyle(max_len=2000, edit_interval=0.5)
    surface = FakeSurface(style)
    queue: asyncio.Queue[str | BaseException | None] = asyncio.Queue()
    task = asyncio.create_task(show_edited(from_queue(queue), surface, KOREAN))
    queue.put_nowait("첫 토큰")
    await surface.wait_until(surface.shows(0, "첫 토큰"))
    queue.put_nowait(" 둘째 토큰")  # shown at the next edit time, half a second after the first
    await asyncio.sleep(0)
    ended = asyncio.get_running_loop().time()
    queue.put_nowait(None)  # the model ends while that edit waits
    await task
    final = surface.ops[-1]
    assert final.text == "첫 토큰 둘째 토큰" and final.at - ended < style.edit_interval / 2


# ------------------------------------------------------------------ ProgressMessage


async def test_progress_is_throttled_and_ends_on_the_latest_numbers() -> None:
    surface = FakeSurface(MessageStyle(max_len=2000, edit_interval=0.02))
    progress = ProgressMessage(surface)
    for page in range(1, 41):
        await progress.update(f"{page}/40쪽 읽는 중")
        await asyncio.sleep(0.002)  # the job's own work between pages
    await surface.wait_until(lambda: surface.texts[0] == "40/40쪽 읽는 중")
    assert len(surface.texts) == 1
    assert surface.ops[0] == Op(surface.ops[0].at, "post", 0, "1/40쪽 읽는 중")
    assert 2 <= len(surface.ops) < 40
    assert_throttled(surface, 0.02)


async def test_progress_finish_is_never_lost_to_throttling() -> None:
    surface = FakeSurface(MessageStyle(max_len=2000, edit_interval=0.05))
    progress = ProgressMessage(surface)
    for page in range(1, 11):
        await progress.update(f"{page}/10")  # all within one interval: only the last may be shown
    await progress.finish("요약을 마쳤습니다.")
    assert surface.texts[0] == "요약을 마쳤습니다."
    assert [op.text for op in surface.ops] == ["1/10", "요약을 마쳤습니다."]
    assert_throttled(surface, 0.05)


async def test_progress_finish_without_updates_posts() -> None:
    surface = FakeSurface()
    await ProgressMessage(surface).finish("완료")
    assert surface.final_texts() == ["완료"]


async def test_a_long_result_replaces_the_progress_then_follows_in_order() -> None:
    surface = FakeSurface(MessageStyle(max_len=1000, measure=utf8_len, edit_interval=0.01))
    progress = ProgressMessage(surface)
    await progress.update("읽는 중")
    text = korean_answer(5_000)
    await progress.finish(text)
    assert len(surface.texts) >= math.ceil(utf8_len(text) / 1000)
    assert all(utf8_len(op.text) <= 1000 for op in surface.ops)
    assert content("".join(surface.final_texts())) == content(text)


async def test_progress_elsewhere_leaves_the_result_to_its_own_surface() -> None:
    status, result = FakeSurface(MessageStyle(max_len=2000, edit_interval=0)), FakeSurface()
    progress = ProgressMessage(status, result=result)
    await progress.update("1/2")
    await progress.finish("요약")
    assert status.final_texts() == ["1/2"] and result.final_texts() == ["요약"]
