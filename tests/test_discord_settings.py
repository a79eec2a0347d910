"""Per-channel settings on Discord (`/봇설정`), through a real discord.py client, the fake Discord,
real Redis and the fake SageMaker endpoint."""

from __future__ import annotations

from typing import Any

from fakes.discord import DEFAULT_PERMISSIONS, EPHEMERAL, JSON, MANAGE_GUILD
from fakes.sagemaker import FakeSageMaker, Reply
from tests.discord_support import Harness, StartDiscordBot
from tests.support import KOREAN, prompts

SERVER_ADMIN = DEFAULT_PERMISSIONS | MANAGE_GUILD


async def _settings(harness: Harness, options: dict[str, Any] | None = None, **where: Any) -> str:
    """`/봇설정` with `options`; its reply, which only the one who asked sees."""
    interaction = await harness.command("봇설정", options, **where)
    reply = await harness.answered(interaction)
    assert harness.fake.original_response(interaction)["flags"] & EPHEMERAL
    return reply


def _labels(message: JSON | None) -> list[str]:
    return [button.get("label", "") for row in (message or {}).get("components", []) for button in row["components"]]


async def test_an_admin_sets_a_persona_and_language_the_next_answer_follows(
    harness: Harness, sagemaker: FakeSageMaker
) -> None:
    fake = harness.fake
    sagemaker.script(Reply("Ahoy, the capital be Seoul."))
    changed = await _settings(harness, {"페르소나": "해적처럼 말하기", "언어": "en"}, user_id=42, permissions=SERVER_ADMIN)
    assert "Answer language: en" in changed and "해적처럼 말하기" in changed

    asked = await harness.command("ask", {"질문": "수도가 어디야?"}, user_id=43)
    await harness.answered(asked, expect="Ahoy, the capital be Seoul.")  # after "Thinking…", in English
    (prompt,) = prompts(sagemaker)
    assert "In this channel, your role and tone: 해적처럼 말하기" in prompt
    # the buttons under the answer speak the channel's language
    await fake.wait_for(lambda: "Regenerate" in _labels(fake.original_response(asked)))

    help_ = await harness.command("help", user_id=43)
    callback = (await fake.wait_for(lambda: fake.interaction_responses(help_)))[0]
    content = callback.json["data"]["content"]
    assert content.startswith("**How to use me**") and "Persona: 해적처럼 말하기" in content


async def test_only_server_managers_and_listed_admins_change_settings(
    discord_bot: StartDiscordBot, sagemaker: FakeSageMaker
) -> None:
    async with discord_bot(discord_admin_users="43") as harness:
        refused = await _settings(harness, {"언어": "en"}, user_id=42)
        assert refused == KOREAN("settings_admins_only")
        shown = await _settings(harness, user_id=42)  # anyone may look
        assert KOREAN("settings_summary", persona=KOREAN("settings_default"), language=KOREAN("settings_default"),
                      mention=KOREAN("settings_default")) in shown  # fmt: skip
        listed = await _settings(harness, {"멘션": True}, user_id=43)  # no permission, but listed
        assert listed.startswith(KOREAN("settings_saved", summary="").strip()) and "멘션 필요: O" in listed
        reset = await _settings(harness, {"초기화": True}, user_id=44, permissions=SERVER_ADMIN)
        assert "멘션 필요: (기본값)" in reset
        in_dm = await harness.command("봇설정", {"언어": "en"}, user_id=42, channel_id=harness.fake.dm_channel(42))
        callback = (await harness.fake.wait_for(lambda: harness.fake.interaction_responses(in_dm)))[0]
        assert callback.json["data"]["content"] == KOREAN("settings_server_only")
        assert callback.json["data"]["flags"] == EPHEMERAL
    assert not sagemaker.requests


async def test_thread_follow_ups_need_a_mention_when_the_channel_says_so(
    harness: Harness, sagemaker: FakeSageMaker
) -> None:
    fake = harness.fake
    sagemaker.script(Reply("경복궁을 추천합니다."), Reply("창덕궁도 좋습니다."))
    question = await harness.message(f"<@{fake.bot_id}> 서울 관광지 추천해 줘", author_id=42)
    await harness.reply_to(question)
    thread = int(question["id"])  # opened on the question
    # set in the thread, for its channel
    await _settings(harness, {"멘션": True}, user_id=42, channel_id=thread, permissions=SERVER_ADMIN)

    await harness.message("멘션 없이 묻기", author_id=42, channel_id=thread)
    await harness.message(f"<@{fake.bot_id}> 다른 곳은?", author_id=42, channel_id=thread, mentions=[fake.bot_id])

    def answers() -> list[str]:  # the thread's public messages from the bot (not the settings' reply)
        return [m["content"] for m in fake.messages(thread) if m["author"]["id"] == str(fake.bot_id)
                and not m["flags"] & EPHEMERAL]  # fmt: skip

    await fake.wait_for(lambda: answers() == ["경복궁을 추천합니다.", "창덕궁도 좋습니다."], timeout=10)
    assert len(prompts(sagemaker)) == 2 and "멘션 없이 묻기" not in prompts(sagemaker)[1]
