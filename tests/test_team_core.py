"""What both front ends share for team use, through the engine and flows against the fake
endpoint and a real Redis: regenerate, stop, conversation summaries, feedback, channel settings."""

from __future__ import annotations

import asyncio
import json
import re
import time

from bot.core.chat_summary import ChatLine
from bot.core.conversation import ConversationKey
from bot.core.memory.channels import ChannelSettings
from bot.core.memory.feedback import AnswerRecord, Judgement, hashed_user
from bot.frontend import flows
from bot.frontend.stopping import Stops
from bot.frontend.surface import GrowingMessage
from fakes.sagemaker import Reply
from tests.support import KOREAN, cli_env, make_engine, prompts, run_bot, wait_until

KEY = ConversationKey("slack", ("T1", "C1", "1700000000.000100"))


class Screen(GrowingMessage):
    """The far end of a growing message: what a user would read."""

    max_chars = None
    interval = 0.0

    def __init__(self) -> None:
        self.text = ""

    async def start(self, markdown: str) -> None:
        self.text += markdown

    async def room_for_append(self) -> bool:
        return True

    async def append(self, markdown: str) -> None:
        self.text += markdown

    async def stop(self, markdown: str, *, failed: bool) -> None:
        self.text += markdown


async def test_regenerate_replaces_the_remembered_answer(sagemaker, redis_url, redis_prefix):
    engine = make_engine(sagemaker, redis_url, redis_prefix)
    try:
        sagemaker.script("첫 답변입니다", "다시 만든 답변입니다", "세 번째 답")
        await engine.reply(KEY, "수도가 어디야?")
        regenerated = "".join([d async for d in engine.regenerate(KEY)])
        history = (await engine.memory.context(KEY)).history
        await engine.reply(KEY, "고마워")
    finally:
        await engine.aclose()
    assert regenerated == "다시 만든 답변입니다"
    assert [(e.user, e.assistant) for e in history] == [("수도가 어디야?", "다시 만든 답변입니다")]
    regenerate_prompt, next_prompt = prompts(sagemaker)[1:]
    assert "수도가 어디야?" in regenerate_prompt and "첫 답변입니다" not in regenerate_prompt
    assert "다시 만든 답변입니다" in next_prompt and "첫 답변입니다" not in next_prompt


async def test_regenerate_without_an_answer_says_so(sagemaker, redis_url, redis_prefix):
    engine = make_engine(sagemaker, redis_url, redis_prefix)
    screen = Screen()
    try:
        assert not await flows.regenerate(engine, KOREAN, flows.Question(KEY, ""), screen)
    finally:
        await engine.aclose()
    assert screen.text == KOREAN("nothing_to_regenerate") and not sagemaker.requests


async def test_stop_closes_the_model_stream_and_keeps_the_partial_text(sagemaker, redis_url, redis_prefix):
    engine = make_engine(sagemaker, redis_url, redis_prefix)
    stops = Stops(engine.memory)
    other_replica = Stops(engine.memory)
    sagemaker.script(Reply("가나다라마바사아자차카타파하" * 20, token_delay=0.05))
    screen = Screen()
    question = flows.Question(KEY, "긴 답을 써 줘", answer_id="a1")
    try:
        answering = asyncio.create_task(flows.answer(engine, KOREAN, question, screen, stops))
        await wait_until(lambda: len(screen.text) >= 6)
        await other_replica.request("a1")  # the stop may come through any replica
        assert not await answering
        remembered = (await engine.memory.context(KEY)).history
        await wait_until(lambda: sagemaker.closed_by_client == 1)
    finally:
        await engine.aclose()
    shown, _, note = screen.text.rpartition("\n\n")
    assert note == KOREAN("answer_stopped") and shown.startswith("가나다")
    assert len(shown) < 100 and remembered == []
    assert await stops.is_stopped("a1")


def chat(count: int) -> list[ChatLine]:
    return [
        ChatLine(f"사람{i % 7}", f"메시지 표지-{i:04d}: 배포 일정과 예산 {i}만 원을 다시 확인해 주세요. " * 2,
                 f"https://example.slack.com/archives/C1/p17000000{i:05d}")
        for i in range(count)
    ]  # fmt: skip


async def test_a_300_message_thread_summary_reads_every_message_across_chunks(sagemaker, redis_url, redis_prefix):
    sagemaker.default = Reply("요약: [#1] 사람0이 배포를 제안했고 [#300]에서 확정했습니다.")
    engine = make_engine(sagemaker, redis_url, redis_prefix, llm_context_tokens=2048, llm_max_new_tokens=512)
    lines = chat(300)
    try:
        summary = await engine.summarize_conversation(KEY, lines, "스레드", asked="이 스레드 요약해줘")
        history = (await engine.memory.context(KEY)).history
    finally:
        await engine.aclose()
    map_prompts = [p for p in prompts(sagemaker) if "번째 부분입니다" in p]
    assert len(map_prompts) > 3
    seen = [tag for p in map_prompts for tag in re.findall(r"\[#(\d+)\] 사람\d: 메시지 표지-(\d{4})", p)]
    assert sorted({int(n) for n, _ in seen}) == list(range(1, 301))
    assert all(int(n) == int(tag) + 1 for n, tag in seen)  # who said it and its number stay together
    assert f"[#1]({lines[0].link})" in summary and f"[#300]({lines[299].link})" in summary
    assert history[-1].user == "이 스레드 요약해줘" and history[-1].assistant == summary


async def test_channel_persona_and_language_reach_the_prompt(sagemaker, redis_url, redis_prefix):
    engine = make_engine(sagemaker, redis_url, redis_prefix)
    try:
        await engine.channel_settings.change("slack:T1:C1", {"persona": " 해적처럼 말하기 "})
        await engine.channel_settings.change("slack:T1:C1", {"language": "en"})
        channel = await engine.channel_settings.get("slack:T1:C1")
        async for _ in engine.stream_reply(KEY, "안녕", channel=channel):
            pass
    finally:
        await engine.aclose()
    assert channel == ChannelSettings("해적처럼 말하기", "en", None)
    assert "해적처럼 말하기" in prompts(sagemaker)[0] and "In this channel" in prompts(sagemaker)[0]


async def test_a_persona_changed_on_one_replica_is_used_at_once_by_another(sagemaker, redis_url, redis_prefix):
    one, other = (make_engine(sagemaker, redis_url, redis_prefix) for _ in range(2))
    channel = "slack:T1:C1"
    try:
        assert await one.channel_settings.get(channel) == ChannelSettings()  # read, and kept
        await wait_until(lambda: one.memory.signals("channel-settings").subscribed)
        await other.channel_settings.change(channel, {"persona": "해적처럼 말하기"})
        # Well within the 5 s after which a replica reads again whatever it heard or not.
        async with asyncio.timeout(2):
            while (await one.channel_settings.get(channel)).persona != "해적처럼 말하기":
                await asyncio.sleep(0.01)
    finally:
        await one.aclose()
        await other.aclose()


async def test_questions_in_a_channel_do_not_read_its_settings_from_redis_each_time(
    sagemaker, redis_url, redis_prefix
):
    engine = make_engine(sagemaker, redis_url, redis_prefix)

    async def reads() -> int:
        return int((await engine.memory.client.info("commandstats")).get("cmdstat_hgetall", {}).get("calls", 0))

    try:
        await engine.channel_settings.get("slack:T1:C1")  # from now on, changes are listened for
        await wait_until(lambda: engine.memory.signals("channel-settings").subscribed)
        before = await reads()  # (subscribing, the replica forgot what it read: it may read once)
        for _ in range(10):
            await engine.channel_settings.get("slack:T1:C1")
        assert await reads() - before <= 1
    finally:
        await engine.aclose()


async def test_feedback_export_pairs_verdicts_with_answers_and_hashes_users(
    sagemaker, redis_url, redis_prefix, redis_client, tmp_path
):
    engine = make_engine(sagemaker, redis_url, redis_prefix)
    try:
        await engine.feedback.remember_answer(AnswerRecord("a1", "질문", "답변", time.time()))
        await engine.feedback.judge(Judgement("a1", "slack:T1:U1", "down", time.time()))
        assert await engine.feedback.add_note("a1", "slack:T1:U1", "틀린 날짜")
        assert not await engine.feedback.add_note("a1", "slack:T1:U2", "판정 없이 쓴 메모")
    finally:
        await engine.aclose()
    out = tmp_path / "feedback.jsonl"
    env = cli_env(sagemaker, REDIS_URL=redis_url, REDIS_KEY_PREFIX=redis_prefix.rstrip(":"))
    done = await asyncio.to_thread(run_bot, "feedback", "export", "--out", str(out), env=env)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [{k: r[k] for k in ("question", "answer", "verdict", "note")} for r in rows] == [
        {"question": "질문", "answer": "답변", "verdict": "down", "note": "틀린 날짜"}
    ]
    salt = await redis_client.get(f"{redis_prefix.rstrip(':')}:feedback:salt")
    assert rows[0]["user"] == hashed_user("slack:T1:U1", salt.decode()) != hashed_user("slack:T1:U1")
    assert "U1" not in out.read_text()
