"""Streamed answers on Discord: growing by edits within the rate limit, split under 2,000
characters, never left at "thinking…"."""

from __future__ import annotations

import re

from fakes.discord import MESSAGE_LIMIT
from fakes.sagemaker import FakeSageMaker, Reply
from tests.discord_support import StartDiscordBot
from tests.support import KOREAN, prompts

SENTENCES = [
    "한국어 처리는 띄어쓰기와 조사 때문에 영어와 다른 방법이 필요합니다.",
    "형태소 분석기는 문장을 의미 있는 단위로 나눕니다.",
    "대규모 언어 모델은 많은 문서를 읽고 다음 단어를 예측하도록 학습됩니다.",
    "답변이 길어지면 여러 메시지에 나누어 보내야 합니다.",
]


def long_korean_answer(chars: int) -> str:
    paragraphs, i = [], 0
    while sum(len(p) for p in paragraphs) < chars:
        paragraphs.append(" ".join(f"{i + n}. {SENTENCES[(i + n) % len(SENTENCES)]}" for n in range(5)))
        i += 5
    return "\n\n".join(paragraphs)[:chars].rsplit(" ", 1)[0]


async def test_long_answer_streams_within_the_edit_rate_and_arrives_whole(
    discord_bot: StartDiscordBot, sagemaker: FakeSageMaker
) -> None:
    answer = long_korean_answer(6000)
    # about 4 s of streaming: the answer grows through several edits, then spills over
    tokens = [answer[i : i + 20] for i in range(0, len(answer), 20)]
    sagemaker.script(Reply(answer, tokens=tokens, token_delay=4 / len(tokens)))
    async with discord_bot() as h:
        fake = h.fake
        fake.enforce_edit_rate(limit=5, per=5.0)
        interaction = await h.command("ask", {"질문": "한국어 자연어 처리에 대해 길게 설명해 줘"})
        await h.answered(interaction, timeout=20)
        parts = await fake.wait_for(lambda: (m := fake.channel_messages(fake.channel_id))[-1].endswith(
            answer[-10:]) and m, timeout=20)

    assert len(parts) >= 3 and all(len(p) <= MESSAGE_LIMIT for p in parts)
    assert " ".join(parts).split() == answer.split()  # whole, in order, no word cut in two
    assert len(fake.edits) >= 4
    fake.assert_edit_rate(limit=5, per=5.0)
    assert all(r.status != 429 for r in fake.requests)


async def test_model_busy_replaces_thinking_with_a_korean_message(
    discord_bot: StartDiscordBot, sagemaker: FakeSageMaker
) -> None:
    sagemaker.script(*[Reply(fault="throttle")] * 4)
    async with discord_bot() as h:
        question = await h.message(f"<@{h.fake.bot_id}> 바쁘니?", author_id=42)
        answer = (await h.reply_to(question))["content"]
        assert answer == KOREAN("llm_busy") and not re.search(r"Traceback|Error", answer)


async def test_a_12000_character_answer_fills_its_messages_and_ends_in_no_stray_few_characters(
    discord_bot: StartDiscordBot, sagemaker: FakeSageMaker
) -> None:
    answer = long_korean_answer(12_000)  # filled greedily: six full messages and 123 characters
    tokens = [answer[i : i + 40] for i in range(0, len(answer), 40)]
    sagemaker.script(Reply(answer, tokens=tokens, token_delay=2 / len(tokens)))
    async with discord_bot() as h:
        question = await h.message(f"<@{h.fake.bot_id}> 길게 설명해 줘", author_id=42)
        await h.reply_to(question, timeout=30)
        thread = int(question["id"])  # a mention is answered in the thread opened on it
        parts = await h.fake.wait_for(lambda: (m := h.fake.channel_messages(thread)) and " ".join(
            m).split() == answer.split() and m, timeout=30)  # whole, in order, no word cut in two

    assert len(parts) == 7 and all(len(p) <= MESSAGE_LIMIT for p in parts)
    assert all(len(p) > MESSAGE_LIMIT * 0.9 for p in parts[:-2])  # full messages
    assert all(len(p) > MESSAGE_LIMIT * 0.4 for p in parts[-2:])  # the end evened out, no stub


async def test_answers_at_once_keep_to_the_bots_global_limit_and_all_arrive_whole(
    discord_bot: StartDiscordBot, sagemaker: FakeSageMaker
) -> None:
    users = range(50, 66)  # 16 people at once, each in a DM: no channel's own limits in the way
    answer = "천천히 자라는 답변입니다. " * 8  # about 2.4 s of streaming
    sagemaker.default = Reply(answer, tokens=[f"{word} " for word in answer.split()], token_delay=0.1)
    async with discord_bot(discord_requests_per_second=6) as h:
        h.fake.global_limit = 12  # Discord's 50 a second, scaled down with the bot's setting
        questions = [
            await h.message(f"질문 {user}", author_id=user, channel_id=h.fake.dm_channel(user)) for user in users
        ]
        replies = [await h.reply_to(question, timeout=30) for question in questions]

    assert [reply["content"] for reply in replies] == [answer.strip()] * len(users)
    counted = [r for r in h.fake.requests if not r.path.startswith(("/webhooks/", "/interactions/"))]
    refused = [(r.method, r.path, r.response) for r in counted if r.status == 429]
    assert not refused  # not one global 429: the bot kept under it


async def test_past_the_models_concurrency_questions_wait_in_order_and_say_so(
    discord_bot: StartDiscordBot, sagemaker: FakeSageMaker
) -> None:
    async with discord_bot(llm_max_concurrency=1) as h:
        fake = h.fake

        def posted() -> list[str]:
            return [r.json["content"] for r in fake.requests_to("POST /channels/*/messages") if r.ok]

        sagemaker.script(
            Reply("첫째 답입니다.", until=lambda: KOREAN("waiting", position=2) in posted()),
            Reply("둘째 답입니다."), Reply("셋째 답입니다."),
        )  # fmt: skip
        first = await h.message(f"<@{fake.bot_id}> 첫째 질문", author_id=41)
        await fake.wait_for(lambda: len(sagemaker.requests) == 1)  # the model's one slot is taken
        second = await h.message(f"<@{fake.bot_id}> 둘째 질문", author_id=42)
        await fake.wait_for(lambda: h.engine.model_queue == 1)  # it waits for the slot
        third = await h.message(f"<@{fake.bot_id}> 셋째 질문", author_id=43)
        replies = [(await h.reply_to(question, timeout=20))["content"] for question in (first, second, third)]

    assert replies == ["첫째 답입니다.", "둘째 답입니다.", "셋째 답입니다."]  # nobody was turned away
    assert posted() == [KOREAN("thinking"), KOREAN("waiting", position=1), KOREAN("waiting", position=2)]
    asked = [next(q for q in ("첫째", "둘째", "셋째") if f"{q} 질문" in p) for p in prompts(sagemaker)]
    assert asked == ["첫째", "둘째", "셋째"]  # in the order they came


async def test_a_waiting_answer_says_its_place_again_as_people_ahead_are_served(
    discord_bot: StartDiscordBot, sagemaker: FakeSageMaker
) -> None:
    second_place, first_place = KOREAN("waiting", position=2), KOREAN("waiting", position=1)
    async with discord_bot(llm_max_concurrency=1) as h:
        fake = h.fake

        def said(channel: int | None = None) -> list[str]:
            """The texts the bot posted or edited in (a message of) `channel`, any when None."""
            where = "/channels/" if channel is None else f"/channels/{channel}/messages"
            return [r.json["content"] for r in fake.requests if r.ok and r.method in ("POST", "PATCH")
                    and r.path.startswith(where) and isinstance(r.json, dict) and "content" in r.json]

        sagemaker.script(
            Reply("첫째 답입니다.", until=lambda: second_place in said()),
            Reply("둘째 답입니다.", until=lambda: said().count(first_place) >= 2),  # posted, then edited to
            Reply("셋째 답입니다."),
        )  # fmt: skip
        first = await h.message(f"<@{fake.bot_id}> 첫째 질문", author_id=41)
        await fake.wait_for(lambda: len(sagemaker.requests) == 1)  # the model's one slot is taken
        second = await h.message(f"<@{fake.bot_id}> 둘째 질문", author_id=42)
        await fake.wait_for(lambda: h.engine.model_queue == 1)
        third = await h.message(f"<@{fake.bot_id}> 셋째 질문", author_id=43)
        replies = [(await h.reply_to(question, timeout=20))["content"] for question in (first, second, third)]

    assert replies == ["첫째 답입니다.", "둘째 답입니다.", "셋째 답입니다."]
    shown = said(int(third["id"]))  # a mention is answered in the thread opened on it
    assert shown[:2] == [second_place, first_place] and shown[-1] == "셋째 답입니다."
    assert first_place not in shown[2:]  # never back to waiting once the answer came
    assert said(int(second["id"]))[0] == first_place
