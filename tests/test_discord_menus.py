"""The message menus (요약하기, 번역하기) and the user-installable app's command registration, through a
real discord.py client, the fake Discord, real Redis and the fake SageMaker endpoint."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from fakes.discord import EPHEMERAL
from fakes.sagemaker import FakeSageMaker, Reply
from tests.discord_support import Harness, StartDiscordBot
from tests.support import KOREAN, prompts

SCHEMA = Path(__file__).parent / "schemas" / "discord_application_commands.json"
MESSAGE_COMMAND = 3


def bulk_overwrite_schema() -> dict:
    """The request body of Discord's bulk overwrite of application commands, from its published
    OpenAPI description (vendored, see the file's $comment), with its components resolvable."""
    spec = json.loads(SCHEMA.read_text())
    return {**spec["bulk_overwrite_request"], "components": spec["components"]}


async def test_every_command_is_registered_for_guild_and_user_installs_in_every_context(harness: Harness) -> None:
    fake = harness.fake
    sent = fake.requests_to("PUT /applications/*/guilds/*/commands")[-1].json
    jsonschema.validate(sent, bulk_overwrite_schema(), cls=jsonschema.Draft202012Validator)
    assert {c["name"]: c.get("type", 1) for c in sent} == {
        "ask": 1, "summarize": 1, "reset": 1, "usage": 1, "help": 1, "봇설정": 1, "요약하기": MESSAGE_COMMAND, "번역하기": MESSAGE_COMMAND}
    assert all(c["integration_types"] == [0, 1] and c["contexts"] == [0, 1, 2] for c in sent)


def test_the_vendored_schema_refuses_what_discord_refuses() -> None:
    validator = jsonschema.Draft202012Validator(bulk_overwrite_schema())
    good = {"name": "요약하기", "type": 3, "integration_types": [0, 1], "contexts": [0, 1, 2]}
    assert validator.is_valid([good])
    assert not validator.is_valid([good | {"integration_types": [2]}])  # no such install type
    assert not validator.is_valid([good | {"contexts": []}])
    assert not validator.is_valid([good | {"name": "가" * 33}])


async def test_summarize_menu_summarizes_the_message_text_for_the_user_only(
    harness: Harness, sagemaker: FakeSageMaker
) -> None:
    fake = harness.fake
    text = "다음 주 월요일 회의는 10시에서 14시로 옮겨졌고, 장소는 3층 대회의실입니다. 자료는 금요일까지 올려 주세요."
    message = fake.message_create(text, author_id=7)
    sagemaker.script(Reply("한 줄 요약: 회의가 월요일 14시 3층으로 바뀜."))

    menu = fake.message_command("요약하기", message, user_id=42)
    await fake.dispatch("INTERACTION_CREATE", menu)
    assert await harness.answered(menu) == "한 줄 요약: 회의가 월요일 14시 3층으로 바뀜."
    assert text in prompts(sagemaker)[0]
    callback = fake.interaction_responses(menu)[0]
    assert callback.json == {"type": 5, "data": {"flags": EPHEMERAL}}
    assert fake.original_response(menu)["flags"] & EPHEMERAL


async def test_summarize_menu_reads_every_attachment_of_the_message(harness: Harness, sagemaker: FakeSageMaker) -> None:
    fake = harness.fake
    files = [
        fake.add_attachment("1분기 매출은 30억 원이다.".encode(), "1분기.txt"),
        fake.add_attachment("2분기 매출은 45억 원이다.".encode(), "2분기.txt"),
    ]
    message = fake.message_create("보고서 두 개 올립니다", author_id=7, attachments=files)
    sagemaker.script(Reply("1분기 요약: 30억 원."), Reply("2분기 요약: 45억 원."))

    menu = fake.message_command("요약하기", message, user_id=42)
    await fake.dispatch("INTERACTION_CREATE", menu)

    def both() -> list[str] | None:
        shown = [m["content"] for m in fake.interaction_messages(menu)]
        return shown if shown == ["1분기 요약: 30억 원.", "2분기 요약: 45억 원."] else None

    await fake.wait_for(both, 10)
    assert [d.filename for d in fake.downloads] == ["1분기.txt", "2분기.txt"]
    assert "30억 원" in prompts(sagemaker)[0] and "45억 원" in prompts(sagemaker)[1]
    assert all(m["flags"] & EPHEMERAL for m in fake.interaction_messages(menu))


async def test_translate_menu_turns_korean_into_english_in_public_when_configured(
    discord_bot: StartDiscordBot, sagemaker: FakeSageMaker
) -> None:
    async with discord_bot(discord_menu_ephemeral=False) as h:
        message = h.fake.message_create("내일 오후 세 시에 만나요.", author_id=7)
        sagemaker.script(Reply("Let's meet at 3 p.m. tomorrow."), Reply("네, 기억나지 않아요."))
        menu = h.fake.message_command("번역하기", message, user_id=42)
        await h.fake.dispatch("INTERACTION_CREATE", menu)
        assert await h.answered(menu) == "Let's meet at 3 p.m. tomorrow."
        assert not h.fake.original_response(menu)["flags"] & EPHEMERAL
        assert "Translate the user's message into natural English" in prompts(sagemaker)[0]
        assert "내일 오후 세 시에 만나요." in prompts(sagemaker)[0]

        # a translation is no turn of the user's conversation
        await h.answered(await h.command("ask", {"질문": "방금 뭐라고 했지?"}, user_id=42))
        assert "Let's meet" not in prompts(sagemaker)[1]


async def test_translate_menu_turns_english_into_korean(harness: Harness, sagemaker: FakeSageMaker) -> None:
    message = harness.fake.message_create("The deploy is postponed until Friday.", author_id=7)
    sagemaker.script(Reply("배포는 금요일로 미뤄졌습니다."))
    menu = harness.fake.message_command("번역하기", message, user_id=42)
    await harness.fake.dispatch("INTERACTION_CREATE", menu)
    assert await harness.answered(menu) == "배포는 금요일로 미뤄졌습니다."
    assert "자연스러운 한국어로 번역하세요" in prompts(sagemaker)[0]


async def test_menus_on_a_message_without_text_say_so(harness: Harness, sagemaker: FakeSageMaker) -> None:
    message = harness.fake.message_create("", author_id=7)
    translate = harness.fake.message_command("번역하기", message, user_id=42)
    await harness.fake.dispatch("INTERACTION_CREATE", translate)
    assert await harness.answered(translate) == KOREAN("nothing_to_translate")
    summarize = harness.fake.message_command("요약하기", message, user_id=42)
    await harness.fake.dispatch("INTERACTION_CREATE", summarize)
    assert await harness.answered(summarize) == KOREAN("message_nothing_to_summarize")
    assert sagemaker.requests == []


async def test_a_users_own_install_answers_in_a_server_the_bot_is_not_in(
    harness: Harness, sagemaker: FakeSageMaker
) -> None:
    fake = harness.fake
    fake.add_guild(300, "다른 서버", channels={301: "잡담"})
    fake.guilds[300]["members"].discard(fake.bot_id)  # the app reaches it only through user 42's install
    sagemaker.script(Reply("네, 여기서도 답합니다."), Reply("Yes, here too."))

    asked = await harness.command("ask", {"질문": "여기서도 돼?"}, channel_id=301, user_id=42)
    assert asked["authorizing_integration_owners"] == {"1": "42"}
    assert await harness.answered(asked) == "네, 여기서도 답합니다."

    message = fake.message_create("여기서도 돼요.", author_id=7, channel_id=301)
    menu = fake.message_command("번역하기", message, user_id=42)
    await fake.dispatch("INTERACTION_CREATE", menu)
    assert await harness.answered(menu) == "Yes, here too."
    refused = [r for r in fake.requests if r.status == 403]
    assert not refused  # everything went through the interaction endpoints, which need no membership
