"""Platform errors while an answer is shown never strand it: a failed edit is retried or
skipped, a refused edit is posted anew, an expired stream continues in a new message. Each test
checks what the user finally reads: the whole answer, and no placeholder left behind."""

from __future__ import annotations

from fakes.sagemaker import FakeSageMaker, Reply
from fakes.slack import FakeSlack
from tests.discord_support import StartDiscordBot
from tests.slack_support import StartSlackBot, squashed
from tests.support import KOREAN

ANSWER = "경주는 신라의 천년 수도입니다. 불국사와 석굴암, 첨성대가 있고 봄에는 벚꽃이 아름답습니다. " * 3
PLACEHOLDER = KOREAN("thinking")


def slowly(text: str, delay: float = 0.05) -> Reply:
    words = [w + " " for w in text.split(" ")]
    return Reply(text, tokens=["".join(words)[: len(text)][i : i + 12] for i in range(0, len(text), 12)],
                 token_delay=delay)  # fmt: skip


def assert_whole(texts: list[str]) -> None:
    assert squashed("".join(texts).replace("*", "")) == squashed(ANSWER), texts
    assert not any(PLACEHOLDER in text or text.endswith("▌") for text in texts), texts


async def test_an_edit_failing_once_with_500_costs_nothing(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    fake_slack.streaming_supported = False
    fake_slack.fail_next("chat.update", "internal_error", status=500)
    sagemaker.script(slowly(ANSWER))
    async with slack_bot() as bot:
        await bot.send(fake_slack.dm("경주 소개"))
        assert_whole(await bot.answered("D0001", timeout=20))
    assert any(call.status == 500 for call in fake_slack.calls("chat.update"))


async def test_a_final_edit_slack_refuses_as_too_long_is_posted_anew(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    fake_slack.streaming_supported = False
    sagemaker.script(Reply(ANSWER))  # at once: the placeholder's only edit is the final text
    fake_slack.fail_next("chat.update", "msg_too_long", times=10)
    async with slack_bot() as bot:
        await bot.send(fake_slack.dm("경주 소개"))
        await fake_slack.wait_for(lambda: len(fake_slack.message_records("D0001")) >= 2, 30, what="the answer anew")
        texts = fake_slack.messages("D0001")
    assert texts[0] == PLACEHOLDER  # Slack would not let it change
    assert_whole(texts[1:])


async def test_a_ten_second_429_storm_on_edits_still_ends_in_the_whole_answer(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    fake_slack.streaming_supported = False
    fake_slack.fail_next("chat.update", retry_after=1, times=10)
    sagemaker.script(slowly(ANSWER, 0.02))
    async with slack_bot() as bot:
        await bot.send(fake_slack.dm("경주 소개"))
        await fake_slack.wait_for(
            lambda: any(squashed(ANSWER) in squashed(t.replace("*", "")) for t in fake_slack.messages("D0001")),
            45, what="the whole answer",
        )  # fmt: skip
        await bot.answered("D0001", timeout=45)
    assert_whole([t for t in fake_slack.messages("D0001") if t != PLACEHOLDER])


async def test_a_stop_stream_429_storm_still_ends_the_stream_with_the_whole_answer(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    fake_slack.fail_next("chat.stopStream", retry_after=1, times=8)
    sagemaker.script(slowly(ANSWER, 0.01))
    async with slack_bot() as bot:
        mention = fake_slack.mention("경주 소개")
        await bot.send(mention)
        thread = mention["event"]["ts"]
        await fake_slack.wait_for(
            lambda: all(m.stream_state == "completed" for m in fake_slack.message_records("C0001", thread))
            and bool(fake_slack.message_records("C0001", thread)), 45, what="every stream ended",
        )  # fmt: skip
        assert_whole(fake_slack.messages("C0001", thread))


async def test_a_stream_that_expires_mid_answer_continues_in_a_new_message(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    sagemaker.script(slowly(ANSWER, 0.2))  # long enough for appends after the stream's first text
    async with slack_bot() as bot:
        mention = fake_slack.mention("경주 소개")
        await bot.send(mention)
        thread = mention["event"]["ts"]
        first = await fake_slack.wait_call("chat.appendStream")
        fake_slack.expire_stream("C0001", first.args["ts"])
        await fake_slack.wait_for(
            lambda: len(fake_slack.message_records("C0001", thread)) >= 2
            and fake_slack.message_records("C0001", thread)[-1].stream_state == "completed", 30,
            what="the answer continued and ended",
        )  # fmt: skip
        assert_whole(fake_slack.messages("C0001", thread))


async def test_a_discord_edit_429_storm_still_ends_in_the_whole_answer(
    discord_bot: StartDiscordBot, sagemaker: FakeSageMaker
) -> None:
    sagemaker.script(slowly(ANSWER, 0.03))
    async with discord_bot() as h:
        h.fake.rate_limit_next("PATCH /webhooks/*/messages/*", retry_after=1.0, times=8)
        interaction = await h.command("ask", {"질문": "경주 소개"}, user_id=42)
        answer = await h.answered(interaction, timeout=45)
    assert_whole([answer])
