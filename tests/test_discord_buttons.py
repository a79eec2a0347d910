"""The buttons under Discord answers (중지, 다시 생성, 👍, 👎), through a real discord.py client, the fake
Discord, real Redis and the fake SageMaker endpoint."""

from __future__ import annotations

from typing import Any

from bot.core.conversation import ConversationKey
from fakes.discord import EPHEMERAL, JSON
from fakes.sagemaker import FakeSageMaker, Reply
from tests.discord_support import CURSOR, THINKING, Harness, buttons
from tests.support import KOREAN, prompts


async def press(harness: Harness, message: JSON, label: str, user_id: int = 42) -> JSON:
    interaction = harness.fake.component_interaction(message, buttons(message)[label], user_id=user_id)
    await harness.fake.dispatch("INTERACTION_CREATE", interaction)
    return interaction


async def callback(harness: Harness, interaction: JSON) -> Any:
    """The interaction's callback body, without what discord.py always adds to a message."""
    body = (await harness.fake.wait_for(lambda: harness.fake.interaction_responses(interaction)))[0].json
    if "data" in body:
        body["data"] = {k: v for k, v in body["data"].items() if k not in ("tts", "allowed_mentions")}
    return body


async def test_an_answer_is_written_with_a_stop_button_and_ends_with_regenerate_and_feedback(
    harness: Harness, sagemaker: FakeSageMaker
) -> None:
    fake = harness.fake
    sagemaker.script(Reply("서울입니다.", first_token_delay=0.5))
    asked = await harness.command("ask", {"질문": "수도는?"}, user_id=42)
    writing = await fake.wait_for(lambda: buttons(fake.original_response(asked)))
    assert list(writing) == [KOREAN("stop_button")]
    assert await harness.answered(asked) == "서울입니다."
    done = await fake.wait_for(lambda: len(buttons(fake.original_response(asked))) == 3 and fake.original_response(asked))
    assert list(buttons(done)) == [KOREAN("regenerate_button"), "👍", "👎"]
    assert all(len(custom_id) <= 100 for custom_id in buttons(done).values())


async def test_stop_closes_the_model_stream_and_keeps_what_was_written(
    harness: Harness, sagemaker: FakeSageMaker
) -> None:
    fake = harness.fake
    sagemaker.script(Reply("가나다라마바사아자차카타파하" * 40, token_delay=0.05))
    asked = await harness.command("ask", {"질문": "길게 말해 줘"}, user_id=42)

    def writing() -> JSON | None:
        message = fake.original_response(asked)
        shown = message and message["content"] not in ("", THINKING) and CURSOR in message["content"]
        return message if shown and buttons(message) else None

    stop = await press(harness, await fake.wait_for(writing, 10), KOREAN("stop_button"))
    assert await callback(harness, stop) == {"type": 6}
    final = await harness.answered(asked)
    kept, note = final.split("\n\n")
    assert kept and ("가나다라마바사아자차카타파하" * 40).startswith(kept) and len(kept) < 560  # what was written stays
    assert note == KOREAN("answer_stopped")
    await fake.wait_for(lambda: sagemaker.closed_by_client == 1)
    await fake.wait_for(lambda: buttons(fake.original_response(asked)) == {})  # nothing to press any more


async def test_only_the_asker_may_stop_an_answer(harness: Harness, sagemaker: FakeSageMaker) -> None:
    fake = harness.fake
    sagemaker.script(Reply("천천히 답합니다.", first_token_delay=1.0))
    asked = await harness.command("ask", {"질문": "천천히"}, user_id=42)
    message = await fake.wait_for(lambda: buttons(fake.original_response(asked)) and fake.original_response(asked))
    stranger = await press(harness, message, KOREAN("stop_button"), user_id=43)
    assert await callback(harness, stranger) == {
        "type": 4, "data": {"content": KOREAN("answer_not_yours"), "flags": EPHEMERAL}}
    assert await harness.answered(asked) == "천천히 답합니다."
    assert sagemaker.closed_by_client == 0


async def test_regenerate_replaces_the_remembered_answer_with_a_new_one(
    harness: Harness, sagemaker: FakeSageMaker
) -> None:
    fake = harness.fake
    sagemaker.script(Reply("첫 번째 답입니다."), Reply("두 번째 답입니다."))
    asked = await harness.command("ask", {"질문": "아무 말이나 해 줘"}, user_id=42)
    await harness.answered(asked)
    first = await fake.wait_for(lambda: len(buttons(fake.original_response(asked))) == 3 and fake.original_response(asked))

    again = await press(harness, first, KOREAN("regenerate_button"))
    assert await callback(harness, again) == {"type": 7, "data": {"components": []}}
    new = await fake.wait_for(lambda: [m for m in fake.interaction_messages(again)[1:]
                                       if m["content"] == "두 번째 답입니다." and len(buttons(m)) == 3], 10)
    assert list(buttons(new[0])) == [KOREAN("regenerate_button"), "👍", "👎"]
    assert buttons(fake.message(first["id"])) == {}
    assert "아무 말이나 해 줘" in prompts(sagemaker)[1] and "첫 번째 답입니다." not in prompts(sagemaker)[1]

    key = ConversationKey("discord", (str(fake.guild_id), str(fake.channel_id), "42"))
    history = (await harness.engine.memory.context(key)).history
    assert [(e.user, e.assistant) for e in history] == [("아무 말이나 해 줘", "두 번째 답입니다.")]


async def test_a_thumbs_down_with_its_note_is_stored(harness: Harness, sagemaker: FakeSageMaker) -> None:
    fake = harness.fake
    sagemaker.script(Reply("부산이 수도입니다."))
    asked = await harness.command("ask", {"질문": "한국의 수도는?"}, user_id=42)
    await harness.answered(asked)
    message = await fake.wait_for(lambda: len(buttons(fake.original_response(asked))) == 3 and fake.original_response(asked))
    answer_id = buttons(message)["👎"].split(":")[2]

    down = await press(harness, message, "👎", user_id=43)
    modal = await callback(harness, down)
    assert modal["type"] == 9 and modal["data"]["title"] == KOREAN("feedback_note_title")
    sent = fake.modal_submit(modal["data"]["custom_id"], {"note": "수도는 서울입니다."}, user_id=43)
    await fake.dispatch("INTERACTION_CREATE", sent)
    assert await callback(harness, sent) == {"type": 4, "data": {"content": KOREAN("feedback_thanks"), "flags": EPHEMERAL}}

    judged = await harness.engine.feedback.judgement(answer_id, "discord:43")
    assert judged is not None and (judged.verdict, judged.note) == ("down", "수도는 서울입니다.")
    stored = [(j.verdict, a.question, a.answer) async for j, a in harness.engine.feedback.everything() if a]
    assert stored == [("down", "한국의 수도는?", "부산이 수도입니다.")]


async def test_a_thumbs_up_is_stored_and_thanked(harness: Harness, sagemaker: FakeSageMaker) -> None:
    fake = harness.fake
    asked = await harness.command("ask", {"질문": "안녕?"}, user_id=42)
    await harness.answered(asked)
    message = await fake.wait_for(lambda: len(buttons(fake.original_response(asked))) == 3 and fake.original_response(asked))
    up = await press(harness, message, "👍", user_id=42)
    assert await callback(harness, up) == {"type": 4, "data": {"content": KOREAN("feedback_thanks"), "flags": EPHEMERAL}}
    judged = await harness.engine.feedback.judgement(buttons(message)["👍"].split(":")[2], "discord:42")
    assert judged is not None and judged.verdict == "up"


async def test_regenerate_under_an_older_answer_replaces_nothing(harness: Harness, sagemaker: FakeSageMaker) -> None:
    fake = harness.fake
    sagemaker.script(Reply("첫 답"), Reply("둘째 답"))
    older = await harness.command("ask", {"질문": "첫 질문"}, user_id=42)
    await harness.answered(older)
    await harness.answered(await harness.command("ask", {"질문": "둘째 질문"}, user_id=42))
    message = await fake.wait_for(lambda: len(buttons(fake.original_response(older))) == 3 and fake.original_response(older))

    again = await press(harness, message, KOREAN("regenerate_button"))
    said = KOREAN("not_the_last_answer")
    await fake.wait_for(lambda: [m for m in fake.interaction_messages(again)[1:] if m["content"] == said], 10)
    assert len(sagemaker.requests) == 2
    key = ConversationKey("discord", (str(fake.guild_id), str(fake.channel_id), "42"))
    history = (await harness.engine.memory.context(key)).history
    assert [(e.user, e.assistant) for e in history] == [("첫 질문", "첫 답"), ("둘째 질문", "둘째 답")]
