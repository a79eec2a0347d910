"""Mentions, DMs, replies and threads, through a real discord.py client and the fake Discord."""

from __future__ import annotations

from fakes.discord import SUPPRESS_EMBEDS, running_fake_discord
from fakes.sagemaker import FakeSageMaker, Reply
from tests.discord_support import Harness, StartDiscordBot, open_thread
from tests.support import prompts


async def test_mention_opens_a_thread_where_the_conversation_goes_on_without_mentions(
    harness: Harness, sagemaker: FakeSageMaker
) -> None:
    fake = harness.fake
    sagemaker.script(Reply("경복궁을 추천합니다."), Reply("창덕궁도 좋습니다."))
    question = await harness.message(f"<@{fake.bot_id}> 서울 관광지 추천해 줘\n가족 여행이에요", author_id=42)
    answer = await harness.reply_to(question)
    assert answer["content"] == "경복궁을 추천합니다."
    opened = fake.requests_to("POST /channels/*/messages/*/threads")
    assert [(r.path, r.json["name"], r.status) for r in opened] == [
        (f"/channels/{fake.channel_id}/messages/{question['id']}/threads", "서울 관광지 추천해 줘", 201)]
    thread = int(question["id"])  # a thread opened on a message has the message's id
    assert answer["channel_id"] == str(thread) and "message_reference" not in answer

    await harness.message("다른 곳은?", author_id=42, channel_id=thread)  # no mention needed there
    assert (await harness.replies(thread, count=2))[1]["content"] == "창덕궁도 좋습니다."
    assert "서울 관광지 추천해 줘" in prompts(sagemaker)[1] and "경복궁" in prompts(sagemaker)[1]


async def test_a_mention_is_answered_in_the_channel_when_the_thread_cannot_be_opened(
    harness: Harness, sagemaker: FakeSageMaker
) -> None:
    fake = harness.fake
    fake.fail_next("POST /channels/*/messages/*/threads", 403, 50013, "Missing Permissions")
    question = await harness.message(f"<@{fake.bot_id}> 안녕?", author_id=42)
    answer = await harness.reply_to(question)
    assert answer["channel_id"] == str(fake.channel_id)
    assert str(answer["message_reference"]["message_id"]) == question["id"]


async def test_mention_is_answered_as_a_reply_and_replies_and_threads_on_it_continue(
    discord_bot: StartDiscordBot, sagemaker: FakeSageMaker
) -> None:
    async with discord_bot(discord_mention_threads=False) as harness:
        await _replies_and_threads_continue(harness, sagemaker)


async def _replies_and_threads_continue(harness: Harness, sagemaker: FakeSageMaker) -> None:
    fake = harness.fake
    sagemaker.script(Reply("부산은 해운대가 유명합니다."), Reply("광안리도 좋습니다."), Reply("해변 말고 산도 있습니다."))
    question = await harness.message(f"<@{fake.bot_id}> 부산 여행지 추천해 줘", author_id=42)
    answer = await harness.reply_to(question)
    assert answer["content"] == "부산은 해운대가 유명합니다."
    assert "<@" not in prompts(sagemaker)[0]  # the mention is not part of the question

    # A reply to the bot's answer, without mentioning it, continues the conversation.
    follow_up = await harness.message("다른 곳은?", author_id=42, message_reference=int(answer["id"]))
    assert (await harness.reply_to(follow_up))["content"] == "광안리도 좋습니다."
    assert "부산 여행지 추천해 줘" in prompts(sagemaker)[1] and "해운대" in prompts(sagemaker)[1]

    # A thread someone starts on the bot's answer needs no mention either.
    thread = await open_thread(fake, owner_id=42, on_message=int(answer["id"]))
    await harness.message("스레드에서 계속", author_id=42, channel_id=thread)
    assert (await harness.replies(thread))[0]["content"] == "해변 말고 산도 있습니다."


async def test_a_thread_on_an_answer_from_before_a_restart_needs_no_mention(
    discord_bot: StartDiscordBot, sagemaker: FakeSageMaker
) -> None:
    sagemaker.script(Reply("부산은 해운대가 유명합니다."), Reply("광안리도 좋습니다."))
    async with running_fake_discord() as fake:
        fake.identify_interval = 0.0  # the restart may come within Discord's 5 s: only answers count here
        # Answered as replies (a thread the bot opens itself is the bot's by its owner).
        async with discord_bot(fake=fake, discord_mention_threads=False) as harness:
            question = await harness.message(f"<@{fake.bot_id}> 부산 여행지 추천해 줘", author_id=42)
            answer = await harness.reply_to(question)
        # Restarted (or another replica): the answer is in no message cache of this process.
        async with discord_bot(fake=fake, discord_mention_threads=False, discord_identify_seconds=0) as harness:
            thread = await open_thread(fake, owner_id=42, on_message=int(answer["id"]))
            await harness.message("스레드에서 계속", author_id=42, channel_id=thread)
            assert (await harness.replies(thread))[0]["content"] == "광안리도 좋습니다."


async def test_direct_message_is_answered_and_remembered(harness: Harness, sagemaker: FakeSageMaker) -> None:
    fake = harness.fake
    sagemaker.script(Reply("반갑습니다!"), Reply("김치찌개를 추천해요."))
    dm = fake.dm_channel(43)
    await harness.message("안녕하세요", author_id=43, channel_id=dm)
    await harness.replies(dm)
    await harness.message("저녁 메뉴 추천해 줘", author_id=43, channel_id=dm)
    await harness.replies(dm, count=2)
    assert fake.channel_messages(dm) == ["반갑습니다!", "김치찌개를 추천해요."]
    assert "안녕하세요" in prompts(sagemaker)[1]


async def test_a_thread_the_bot_started_is_one_conversation_without_mentions(
    harness: Harness, sagemaker: FakeSageMaker
) -> None:
    fake = harness.fake
    sagemaker.script(Reply("첫 번째 답"), Reply("두 번째 답"))
    thread = await open_thread(fake, owner_id=fake.bot_id)
    await harness.message("회의 안건을 정리해 줘", author_id=42, channel_id=thread)
    await harness.replies(thread)
    await harness.message("하나 더 추가해 줘", author_id=43, channel_id=thread)  # someone else joins in
    await harness.replies(thread, count=2)
    assert "회의 안건을 정리해 줘" in prompts(sagemaker)[1]


async def test_ignores_itself_other_bots_and_messages_not_addressed_to_it(
    harness: Harness, sagemaker: FakeSageMaker
) -> None:
    fake = harness.fake
    mention = f"<@{fake.bot_id}> 질문"
    await harness.message(mention, author_id=fake.bot_id)
    await harness.message(mention, author_id=77, bot=True)
    await harness.message("그냥 잡담", author_id=42)
    users_thread = await open_thread(fake, owner_id=42)  # not the bot's: mentions only
    await harness.message("스레드 잡담", author_id=43, channel_id=users_thread)
    await harness.reply_to(await harness.message(mention, author_id=42))
    assert len(sagemaker.requests) == 1


async def test_a_duplicate_delivery_and_a_second_replica_answer_once(
    discord_bot: StartDiscordBot, sagemaker: FakeSageMaker
) -> None:
    async with discord_bot() as first:
        # The second replica's IDENTIFY may come within Discord's 5 s: tests/test_workers.py keeps
        # that pace; here only the answers count.
        first.fake.identify_interval = 0.0
        async with discord_bot(fake=first.fake, discord_identify_seconds=0):
            fake = first.fake
            event = fake.message_create(f"<@{fake.bot_id}> 한 번만 답해 줘", author_id=42)
            assert await fake.dispatch("MESSAGE_CREATE", event) == 2  # both replicas get it
            await fake.dispatch("MESSAGE_CREATE", event)
            interaction = await first.command("ask", {"질문": "이것도 한 번만"}, user_id=42)
            await first.answered(interaction)
            await first.reply_to(event)
            assert len(sagemaker.requests) == 2
            assert len(fake.requests_to("POST /channels/*/messages/*/threads")) == 1
            assert [r.kind for r in fake.interaction_responses(interaction)][0] == "callback"
            assert len(fake.requests_to("POST /interactions/*")) == 1


async def test_mention_with_a_file_summarizes_it(harness: Harness, sagemaker: FakeSageMaker) -> None:
    fake = harness.fake
    sagemaker.script(Reply("회의록 요약: 예산 승인."))
    file = fake.add_attachment("3월 회의록\n예산안이 승인되었다.".encode(), "회의록.txt")
    question = await harness.message(f"<@{fake.bot_id}>", author_id=42, attachments=[file])
    assert (await harness.reply_to(question))["content"] == "회의록 요약: 예산 승인."
    assert "예산안이 승인되었다" in prompts(sagemaker)[0]


async def test_an_edited_answer_keeps_its_link_previews_suppressed(harness: Harness, sagemaker: FakeSageMaker) -> None:
    sagemaker.script(Reply("자세한 내용은 https://example.com/guide 를 보세요.", token_delay=0.02))
    question = await harness.message(f"<@{harness.fake.bot_id}> 안내 링크 알려줘", author_id=42)
    answer = await harness.reply_to(question)
    assert answer["content"].startswith("자세한 내용은") and answer["edited_timestamp"]
    assert answer["flags"] & SUPPRESS_EMBEDS  # a link in an answer shows no preview, after every edit
