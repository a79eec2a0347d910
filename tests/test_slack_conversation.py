"""Talking to the bot in Slack: mentions answered in threads, follow-ups without a mention, DMs,
reset and help, allow-lists, and the noise the bot must not answer."""

from __future__ import annotations

import redis.asyncio as aioredis

from fakes.sagemaker import FakeSageMaker, Reply
from fakes.slack import FakeSlack
from tests.slack_support import StartSlackBot
from tests.support import KOREAN, prompts


async def test_mention_is_answered_in_its_thread_and_the_thread_continues_without_mention(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker, redis_prefix: str,
    redis_client: aioredis.Redis
) -> None:
    sagemaker.script("서울은 대한민국의 수도입니다.", "인구는 약 940만 명입니다.")
    async with slack_bot() as bot:
        mention = fake_slack.mention("서울은 어떤 곳이야?")
        root = mention["event"]["ts"]
        await bot.send(mention)
        assert await bot.answered("C0001", root) == ["서울은 대한민국의 수도입니다."]

        # A thread the bot was never called into stays the users' own.
        other = fake_slack.seed_message("C0001", "사람끼리 대화").ts
        await bot.send(fake_slack.thread_message("그렇지?", other))
        await bot.send(fake_slack.thread_message("인구는?", root))
        assert (await bot.answered("C0001", root, count=2))[1] == "인구는 약 940만 명입니다."

    first, second = prompts(sagemaker)
    assert "서울은 어떤 곳이야?" in first and "<@UBOT>" not in first
    assert "서울은 어떤 곳이야?" in second and "서울은 대한민국의 수도입니다." in second and "인구는?" in second
    keys = [k.decode() async for k in redis_client.scan_iter(match=f"{redis_prefix}*history")]
    assert any(f"{{slack:T0001:C0001:{root}}}:history" in k for k in keys), keys


async def test_a_follow_up_sent_while_the_bot_is_busy_is_answered_after_the_mention(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    # One model call at a time, so at most 4 answers run and the rest wait in Redis as jobs.
    released: list[bool] = []
    sagemaker.default = Reply("답입니다.", until=lambda: bool(released))
    async with slack_bot(llm_max_concurrency=1) as bot:
        for channel in ("C0101", "C0102", "C0103", "C0104"):
            await bot.send(fake_slack.mention("먼저 물어봐요", channel=channel))
        await fake_slack.wait_for(lambda: len(bot.service.bot.jobs) == 4, what="4 answers running")

        mention = fake_slack.mention("서울은 어떤 곳이야?")
        root = mention["event"]["ts"]
        await bot.send(mention)
        await bot.send(fake_slack.thread_message("인구는?", root))  # its job has not started yet
        released.append(True)
        assert await bot.answered("C0001", root, count=2, timeout=20) == ["답입니다.", "답입니다."]

    last = prompts(sagemaker)[-1]
    assert "서울은 어떤 곳이야?" in last and "인구는?" in last


async def test_a_waiting_answer_says_its_place_again_as_people_ahead_are_served(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    second_place, first_place = KOREAN("waiting", position=2), KOREAN("waiting", position=1)

    def said(channel: str | None = None) -> list[str]:
        """The texts the bot posted or updated (in `channel`), in order."""
        return [c.args.get("text", "") for c in fake_slack.api_calls if c.ok
                and c.method in ("chat.postMessage", "chat.update") and channel in (None, c.args.get("channel"))]

    sagemaker.script(
        Reply("첫째 답입니다.", until=lambda: second_place in said()),
        Reply("둘째 답입니다.", until=lambda: said().count(first_place) >= 2),  # posted, then updated to
        Reply("셋째 답입니다."),
    )  # fmt: skip
    async with slack_bot(llm_max_concurrency=1) as bot:  # DMs' top level: messages updated in place
        engine = bot.service.bot.engine
        await bot.send(fake_slack.dm("첫째 질문", user="U0001", channel="D0001"))
        await fake_slack.wait_for(lambda: len(sagemaker.requests) == 1, what="the model's one slot taken")
        await bot.send(fake_slack.dm("둘째 질문", user="U0002", channel="D0002"))
        await fake_slack.wait_for(lambda: engine.model_queue == 1, what="the second waiting")
        await bot.send(fake_slack.dm("셋째 질문", user="U0003", channel="D0003"))
        assert await bot.answered("D0003", timeout=20) == ["셋째 답입니다."]

    shown = said("D0003")
    assert shown[:2] == [second_place, first_place] and shown[-1] == "셋째 답입니다."
    assert first_place not in shown[2:]  # never back to waiting once the answer came
    assert said("D0002")[0] == first_place


async def test_a_question_in_a_thread_that_waits_for_the_model_says_so_then_answers(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    waiting = KOREAN("waiting", position=1)
    sagemaker.script(Reply("첫째 답입니다.", until=lambda: any(c.args.get("text") == waiting
                                                            for c in fake_slack.calls("chat.postMessage"))),
                     Reply("둘째 답입니다."))  # fmt: skip
    async with slack_bot(llm_max_concurrency=1) as bot:
        first, second = fake_slack.mention("첫째 질문", channel="C0101"), fake_slack.mention("둘째 질문", channel="C0102")
        await bot.send(first)
        await fake_slack.wait_for(lambda: len(sagemaker.requests) == 1, what="the model's one slot taken")
        await bot.send(second)
        assert await bot.answered("C0102", second["event"]["ts"], timeout=20) == ["둘째 답입니다."]

    # A native stream opens with the answer itself: the waiting question got a message that said so first.
    in_thread = [c for c in fake_slack.api_calls if c.args.get("channel") == "C0102" and c.ok]
    assert [c.method for c in in_thread][:1] == ["chat.postMessage"] and in_thread[0].args["text"] == waiting
    assert not [c for c in in_thread if c.method == "chat.startStream"]


async def test_dm_is_one_conversation_per_user(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    sagemaker.script("안녕하세요!", "부산입니다.")
    async with slack_bot() as bot:
        await bot.send(fake_slack.dm("안녕"))
        assert await bot.answered("D0001") == ["안녕하세요!"]
        await bot.send(fake_slack.dm("제2의 도시는?"))
        assert await bot.answered("D0001", count=2) == ["안녕하세요!", "부산입니다."]

    assert all(c.args.get("thread_ts") is None for c in fake_slack.calls("chat.postMessage"))
    assert "안녕하세요!" in prompts(sagemaker)[1]


async def test_reset_and_the_reset_command_clear_memory_and_help_answers(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker, redis_prefix: str,
    redis_client: aioredis.Redis
) -> None:
    history = f"{redis_prefix.rstrip(':')}:{{slack:T0001:dm:U0001}}:history"
    async with slack_bot(mode="socket") as bot:
        await bot.send(fake_slack.dm("기억해 줘"))
        await bot.answered("D0001")
        assert await redis_client.exists(history)

        await bot.send(fake_slack.dm("초기화"))
        assert (await bot.answered("D0001", count=2))[-1] == "대화 기록을 지웠습니다. 새로 시작해 주세요."
        assert not await redis_client.exists(history)

        await bot.send(fake_slack.dm("도움말"))
        assert "문서" in (await bot.answered("D0001", count=3))[-1]

        mention = fake_slack.mention("reset")
        await bot.send(mention)
        assert await bot.answered("C0001", mention["event"]["ts"]) == ["대화 기록을 지웠습니다. 새로 시작해 주세요."]

        await bot.send(fake_slack.dm("다시 기억해 줘"))
        await bot.answered("D0001", count=4)
        assert await redis_client.exists(history)
        envelope = await fake_slack.push_socket_event(
            fake_slack.slash_command("/reset", channel="D0001"), envelope_type="slash_commands"
        )
        assert (await fake_slack.wait_ack(envelope)).latency < 1.0
        await fake_slack.wait_for(lambda: fake_slack.response_url_posts)
        await bot.send(fake_slack.slash_command("/reset", channel="C0001"), envelope_type="slash_commands")
        await fake_slack.wait_for(lambda: len(fake_slack.response_url_posts) == 2)

    in_dm, in_channel = (post.body["text"] for post in fake_slack.response_url_posts)
    assert in_dm == "대화 기록을 지웠습니다. 새로 시작해 주세요." and not await redis_client.exists(history)
    assert "스레드" in in_channel
    assert len(sagemaker.requests) == 2


async def test_allow_lists_refuse_politely_or_silently(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    lists = {"slack_allowed_channels": "C0001, C0002", "slack_allowed_users": "U0001"}
    async with slack_bot(**lists) as bot:
        await bot.send(fake_slack.mention("들어와도 돼?", channel="C0009"))
        await bot.send(fake_slack.dm("안녕", user="U0002", channel="D0002"))
        assert (await bot.answered("C0009"))[0].startswith("죄송합니다. 이 채널")
        assert (await bot.answered("D0002"))[0].startswith("죄송합니다.")

    async with slack_bot(slack_refusal="silent", **lists) as bot:
        await bot.send(fake_slack.mention("조용히?", channel="C0008"))
        await bot.send(fake_slack.mention("허용된 곳", channel="C0002"))
        assert await bot.answered("C0002") == ["안녕하세요"]
    assert fake_slack.messages("C0008") == []
    assert len(sagemaker.requests) == 1


async def test_own_and_other_bots_messages_and_edits_are_ignored(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    # In a DM, where every user message is answered.
    earlier = fake_slack.seed_message("D0001", "이전 답변", bot=True)
    deleted = {"type": "message", "subtype": "message_deleted", "channel": "D0001", "hidden": True,
               "deleted_ts": earlier.ts, "ts": fake_slack.next_ts(), "channel_type": "im"}  # fmt: skip
    noise = [
        fake_slack.bot_message("내가 보낸 글", channel="D0001"),
        fake_slack.bot_message("다른 봇", channel="D0001", bot_id="BOTHER"),
        fake_slack.message_changed("D0001", earlier.ts, "고친 글"),
        fake_slack.event_callback(deleted),
    ]
    async with slack_bot() as bot:
        for event in noise:
            await bot.send(event)
        await bot.send(fake_slack.dm("이것만 답해"))
        await bot.answered("D0001", count=2)
    [prompt] = prompts(sagemaker)
    assert "이것만 답해" in prompt


async def test_the_bot_speaks_english_when_told_to(slack_bot: StartSlackBot, fake_slack: FakeSlack) -> None:
    async with slack_bot(bot_language="en", slack_allowed_channels="C0001") as bot:
        await bot.send(fake_slack.dm("help"))
        await bot.send(fake_slack.mention("hello", channel="C0002"))
        [help_text], [refusal] = await bot.answered("D0001"), await bot.answered("C0002")
    assert help_text.startswith("I'm a Llama 3 chatbot") and refusal.startswith("Sorry, the bot is not enabled")
