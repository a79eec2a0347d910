"""Slash commands, through a real discord.py client, the fake Discord, real Redis and the fake
SageMaker endpoint."""

from __future__ import annotations

import re

import redis.asyncio as aioredis

from bot.adapters.discord.surface import TOKEN_SECONDS
from bot.core.conversation import ConversationKey
from bot.frontend.progress import NOTE_AHEAD
from fakes.discord import DIRECT_MESSAGES, EPHEMERAL, GUILD_MESSAGES, MESSAGE_CONTENT
from fakes.sagemaker import FakeSageMaker, Reply
from tests.discord_support import Harness, StartDiscordBot
from tests.support import KOREAN, prompts

GUILDS = 1 << 0
HANGUL = re.compile(r"[가-힣]")


async def test_identify_intents_and_korean_commands_synced_to_the_guild(harness: Harness) -> None:
    fake = harness.fake
    assert fake.intents == GUILDS | GUILD_MESSAGES | DIRECT_MESSAGES | MESSAGE_CONTENT
    commands = {c["name"]: c for c in fake.commands[fake.guild_id]}
    assert set(commands) == {"ask", "summarize", "reset", "usage", "help", "봇설정", "요약하기", "번역하기"}
    assert None not in fake.commands  # nothing global: guild commands appear at once
    assert all(HANGUL.search(c["description"] or c["name"]) for c in commands.values())
    assert [(o["name"], o["type"], o["required"]) for o in commands["summarize"]["options"]] == [
        ("파일", 11, False), ("질문", 3, False), ("시간", 4, False)]  # no file: the thread or channel
    assert [o["name"] for o in commands["ask"]["options"]] == ["질문"]


async def test_without_message_listening_only_the_guilds_intent_and_global_commands(
    discord_bot: StartDiscordBot
) -> None:
    async with discord_bot(discord_listen_messages=False, discord_guild_id=None) as h:
        assert h.fake.intents == GUILDS
        assert {c["name"] for c in h.fake.commands[None]} == {"ask", "summarize", "reset", "usage", "help", "봇설정", "요약하기", "번역하기"}
        assert h.fake.guild_id not in h.fake.commands
        await h.answered(await h.command("ask", {"질문": "안녕?"}))  # global commands work too


async def test_ask_is_deferred_then_answered_and_remembered_per_user_per_channel(
    harness: Harness, sagemaker: FakeSageMaker
) -> None:
    fake = harness.fake
    sagemaker.script(Reply("서울은 대한민국의 수도입니다."), Reply("약 950만 명입니다."), Reply("무엇이든 물어보세요."))

    first = await harness.command("ask", {"질문": "한국의 수도는 어디야?"}, user_id=42)
    assert await harness.answered(first) == "서울은 대한민국의 수도입니다."
    responses = fake.interaction_responses(first)
    assert responses[0].kind == "callback" and responses[0].json == {"type": 5}
    assert {r.kind for r in responses[1:]} <= {"followup", "edit"} and len(responses) >= 2

    second = await harness.command("ask", {"질문": "인구는?"}, user_id=42)
    assert await harness.answered(second) == "약 950만 명입니다."
    other = await harness.command("ask", {"질문": "안녕?"}, user_id=43)
    assert await harness.answered(other) == "무엇이든 물어보세요."

    sent = prompts(sagemaker)
    assert "한국의 수도는 어디야?" in sent[1] and "서울은 대한민국의 수도입니다." in sent[1]
    assert "한국의 수도는 어디야?" not in sent[2] and "서울은" not in sent[2]


async def test_endpoint_failure_ends_in_a_korean_message(harness: Harness, sagemaker: FakeSageMaker) -> None:
    sagemaker.script(Reply(fault="model_error"))
    interaction = await harness.command("ask", {"질문": "오류를 내 봐"})
    assert await harness.answered(interaction) == KOREAN("llm_model_error")


async def test_summarize_reads_the_attachment_and_answers_with_its_summary(
    harness: Harness, sagemaker: FakeSageMaker
) -> None:
    fake = harness.fake
    document = "2024년 사업 계획서\n\n매출 목표는 120억 원이며, 신규 채용은 15명이다.\n".encode()
    sagemaker.script(Reply("한 줄 요약: 매출 120억 원과 15명 채용 계획."), Reply("15명입니다."))

    summary = await harness.command("summarize", attachment=fake.add_attachment(document, "계획.txt"))
    assert await harness.answered(summary) == "한 줄 요약: 매출 120억 원과 15명 채용 계획."
    assert [d.filename for d in fake.downloads] == ["계획.txt"]
    assert "매출 목표는 120억 원" in prompts(sagemaker)[0]

    asked = await harness.command(
        "summarize", {"질문": "몇 명을 채용해?"}, attachment=fake.add_attachment(document, "계획.txt"))
    assert await harness.answered(asked) == "15명입니다."
    assert "몇 명을 채용해?" in prompts(sagemaker)[1] and "신규 채용은 15명" in prompts(sagemaker)[1]


async def test_long_document_shows_progress_before_the_summary(
    discord_bot: StartDiscordBot, sagemaker: FakeSageMaker
) -> None:
    sentence = "이 보고서는 지역별 매출과 인력 운영 현황을 자세히 설명한다. "
    async with discord_bot(llm_context_tokens=2048, llm_max_new_tokens=512) as h:
        def progress_shown() -> bool:  # a fast model may finish before any progress edit is due
            return any(isinstance(r.json, dict) and "(0/" in str(r.json.get("content"))
                       for r in h.fake.requests)
        sagemaker.default = Reply("요약입니다.", until=progress_shown)
        file = h.fake.add_attachment((sentence * 150).encode(), "보고서.txt")
        interaction = await h.command("summarize", attachment=file)
        await h.answered(interaction, "요약입니다.")
    steps = len(sagemaker.requests)
    assert steps > 2
    shown = [r.json["content"] for r in h.fake.interaction_responses(interaction)[1:]]
    assert shown[:2] == [KOREAN("doc_reading"), KOREAN("doc_progress", done=0, total=steps)]
    assert shown[-1] == "요약입니다."


async def test_oversized_attachment_gets_the_size_message_without_download(
    discord_bot: StartDiscordBot, sagemaker: FakeSageMaker
) -> None:
    async with discord_bot(doc_max_bytes=1024) as h:
        file = h.fake.add_attachment("가".encode() * 1000, "큰파일.txt")
        interaction = await h.command("summarize", attachment=file)
        assert await h.answered(interaction) == KOREAN.for_error(h.engine.limits.too_large())
        assert h.fake.downloads == [] and sagemaker.requests == []


async def test_reset_clears_the_conversation(
    harness: Harness, redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    fake = harness.fake
    key = ConversationKey("discord", (str(fake.guild_id), str(fake.channel_id), "42"))
    history = f"{redis_prefix}{{{key.id}}}:history"
    await harness.answered(await harness.command("ask", {"질문": "기억해 줘"}, user_id=42))
    assert await redis_client.exists(history)

    reset = await harness.command("reset", user_id=42)
    assert await harness.answered(reset) == KOREAN("reset_done")
    assert fake.original_response(reset)["flags"] & EPHEMERAL
    assert not await redis_client.exists(history)


async def test_help_explains_the_commands_in_korean(harness: Harness) -> None:
    interaction = await harness.command("help")
    callback = (await harness.fake.wait_for(lambda: harness.fake.interaction_responses(interaction)))[0]
    assert callback.json["type"] == 4 and callback.json["data"]["flags"] == EPHEMERAL
    content = callback.json["data"]["content"]
    assert all(f"/{name}" in content for name in ("ask", "summarize", "reset", "usage", "help"))
    assert content.startswith(KOREAN("discord_help")) and "멘션" in content


async def test_a_result_later_than_the_interaction_token_arrives_in_the_channel_mentioning_the_user(
    discord_bot: StartDiscordBot, sagemaker: FakeSageMaker
) -> None:
    sagemaker.script(Reply("늦었지만 답입니다.", first_token_delay=1.5))
    async with discord_bot() as h:
        h.fake.interaction_token_lifetime = 1.0  # Discord's 15 minutes, shortened
        await h.command("ask", {"질문": "천천히 답해 줘"}, user_id=42)
        late = await h.fake.wait_for(
            lambda: [m for m in h.fake.channel_messages(h.fake.channel_id) if m == "<@42> 늦었지만 답입니다."], 15
        )
    assert late == ["<@42> 늦었지만 답입니다."]
    assert [m for m in h.fake.channel_messages(h.fake.channel_id) if m.startswith("<@42>")] == late  # one message
    assert any(r.status == 401 for r in h.fake.requests_to("/webhooks/*"))  # the token was refused, as it is


async def test_a_summary_still_running_near_the_tokens_end_says_a_later_result_comes_as_a_new_message(
    discord_bot: StartDiscordBot, sagemaker: FakeSageMaker
) -> None:
    note = KOREAN("result_comes_anew")
    shown: list[str] = []
    sagemaker.script(Reply("요약입니다.", until=lambda: any(note in text for text in shown)))
    async with discord_bot() as h:
        file = h.fake.add_attachment("짧은 문서입니다. ".encode() * 20, "문서.txt")
        # Discord made it a little less than 14 minutes ago: the note is due 3 seconds from now
        interaction = await h.command("summarize", attachment=file, made_ago=TOKEN_SECONDS - NOTE_AHEAD - 3.0)

        def progress() -> list[str]:
            shown[:] = [r.json["content"] for r in h.fake.interaction_responses(interaction)[1:] if r.ok]
            return shown

        await h.fake.wait_for(lambda: any(note in text for text in progress()), timeout=10)
        assert await h.answered(interaction, timeout=10) == "요약입니다."
    assert shown[0] == KOREAN("doc_reading")  # no note while there was time
    assert f"{KOREAN('doc_reading')}\n{note}" in shown
