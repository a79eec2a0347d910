"""Slack's rate tiers count per method per workspace, for every process of the app: the bot
spends them on purpose (answers' final and first texts first, growing edits from what is left),
switches from native streaming to plain messages when chat.startStream's tier is spent, and one
429 pauses that method for the whole workspace; chat.postMessage, limited per channel, goes at
Slack's pace in each channel. The fake enforces the tiers and the channel limit as Slack does."""

from __future__ import annotations

import asyncio
from itertools import cycle

import pytest
from prometheus_client import REGISTRY

from bot.frontend.texts import texts_for
from fakes.sagemaker import FakeSageMaker, Reply
from fakes.slack import FakeSlack
from tests.slack_support import SlackBot, StartSlackBot, squashed

ANSWER = "한강은 서울을 가로질러 흐르며 여러 공원이 강변을 따라 이어집니다. 자전거 길도 잘 되어 있습니다."


def slowly(text: str = ANSWER, delay: float = 0.12) -> Reply:
    return Reply(text, tokens=[text[i : i + 4] for i in range(0, len(text), 4)], token_delay=delay)


async def asked_in_dms_at_once(bot: SlackBot, fake_slack: FakeSlack, people: int, timeout: float) -> list[list[str]]:
    """`people` users ask in their DMs at the same moment; what each DM ends up showing."""
    dms = [(f"U000{i}", f"D000{i}") for i in range(1, people + 1)]
    await asyncio.gather(*(bot.send(fake_slack.dm("한강 소개", user=user, channel=dm)) for user, dm in dms))
    return [await bot.answered(dm, timeout=timeout) for _, dm in dms]


async def test_answers_in_a_busy_workspace_all_complete_without_a_single_429(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    fake_slack.streaming_supported = False
    fake_slack.rate_tiers["chat.update"] = 10  # Tier 3 in a workspace already busy with other apps' calls
    sagemaker.default = slowly()  # about 3 s of tokens: each answer would edit three or four times
    async with slack_bot(slack_tier3_per_minute=10) as bot:
        answers = await asked_in_dms_at_once(bot, fake_slack, 3, timeout=30)

    assert all(squashed(text.replace("*", "")) == squashed(ANSWER) for [text] in answers), answers
    updates = fake_slack.calls("chat.update")
    assert [c.status for c in updates if c.status != 200] == []  # the tier was never overrun
    assert len(updates) <= 10


async def test_with_the_workspace_edits_spent_answers_come_whole_at_once_not_minutes_later(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    fake_slack.streaming_supported = False
    fake_slack.rate_tiers["chat.update"] = 3  # room for one answer shown growing, a minute
    sagemaker.default = slowly(delay=0.05)
    async with slack_bot(slack_tier3_per_minute=3) as bot:
        # Well within the minute a placeholder's final edit would wait for the tier to refill.
        answers = await asked_in_dms_at_once(bot, fake_slack, 5, timeout=20)

    assert all(squashed(text.replace("*", "")) == squashed(ANSWER) for [text] in answers), answers
    updates = fake_slack.calls("chat.update")
    assert [c.status for c in updates if c.status != 200] == [] and len(updates) <= 3
    posted_whole = [c for c in fake_slack.calls("chat.postMessage") if squashed(c.args["text"]) == squashed(ANSWER)]
    assert len(posted_whole) >= 3  # no placeholder and no edit: one message each


@pytest.mark.parametrize("language", ["ko", "en"])
async def test_with_the_workspace_edits_spent_askers_are_told_at_once_their_answer_comes_whole(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker, language: str
) -> None:
    fake_slack.streaming_supported = False
    fake_slack.rate_tiers["chat.update"] = 3  # room for one answer shown growing, a minute
    sagemaker.default = slowly()  # about 3 s of tokens: long enough to wonder if the bot is there
    async with slack_bot(slack_tier3_per_minute=3, bot_language=language) as bot:
        answers = await asked_in_dms_at_once(bot, fake_slack, 5, timeout=30)

    assert all(squashed(text.replace("*", "")) == squashed(ANSWER) for [text] in answers), answers
    posts = fake_slack.calls("chat.postMessage")
    posted_whole = {c.args["channel"]: c for c in posts if squashed(c.args["text"]) == squashed(ANSWER)}
    notes = {c.args["channel"]: c for c in fake_slack.calls("chat.postEphemeral")}
    assert len(posted_whole) >= 3 and notes.keys() == posted_whole.keys()  # those shown growing need none
    assert len(fake_slack.calls("chat.postEphemeral")) == len(notes)  # one each
    for dm, note in notes.items():
        assert note.ok and note.args["user"] == "U" + dm[1:]  # to its asker: U0001 asked in D0001
        assert "thread_ts" not in note.args  # where the question was: the DM's top level
        assert note.args["text"] == texts_for(language)("answer_comes_whole")
        assert note.at < posted_whole[dm].at  # told while the model writes, not with the answer


async def test_the_note_goes_in_the_thread_once_it_is_active_and_beside_a_question_that_starts_one(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    # Slack shows an ephemeral in a thread only if the thread is already active (docs.slack.dev,
    # chat.postEphemeral, thread_ts): a mention's own thread is not before its answer.
    for method in ("chat.startStream", "chat.stopStream", "chat.update"):
        fake_slack.rate_tiers[method] = 1
    sagemaker.default = slowly(delay=0.05)
    async with slack_bot(slack_tier2_per_minute=1, slack_tier3_per_minute=1) as bot:
        await bot.send(fake_slack.dm("한강 소개"))  # shown growing: takes the workspace's one edit
        await bot.answered("D0001", timeout=20)
        await bot.send(fake_slack.mention("한강 소개", channel="C0002"))  # natively: the one stream
        await bot.answered("C0002", timeout=20)
        mention = fake_slack.mention("한강 소개", user="U0002")
        root = mention["event"]["ts"]
        await bot.send(mention)
        await bot.answered("C0001", root, timeout=20)
        await bot.send(fake_slack.thread_message("더 알려 줘", root, user="U0002"))
        await bot.answered("C0001", root, count=2, timeout=20)

    beside, within = fake_slack.calls("chat.postEphemeral")
    assert beside.ok and (beside.args["channel"], beside.args["user"]) == ("C0001", "U0002")
    assert "thread_ts" not in beside.args
    assert within.ok and (within.args["channel"], within.args["user"]) == ("C0001", "U0002")
    assert within.args["thread_ts"] == root


async def test_in_a_quiet_workspace_answers_show_growing_with_no_note_aside(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    fake_slack.streaming_supported = False
    sagemaker.default = slowly(delay=0.05)
    async with slack_bot() as bot:
        await bot.send(fake_slack.dm("한강 소개"))
        [answer] = await bot.answered("D0001", timeout=20)

    assert squashed(answer.replace("*", "")) == squashed(ANSWER)
    [message] = fake_slack.message_records("D0001")
    assert message.texts[0] == texts_for("ko")("thinking") and fake_slack.calls("chat.postEphemeral") == []


async def test_answers_reuse_their_connections_to_slack(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    fake_slack.streaming_supported = False
    sagemaker.default = slowly(delay=0.05)
    async with slack_bot() as bot:
        for user, dm in (("U0001", "D0001"), ("U0002", "D0002")):
            await bot.send(fake_slack.dm("한강 소개", user=user, channel=dm))
            await bot.answered(dm, timeout=20)

    answering = [c for c in fake_slack.api_calls if c.method in ("chat.postMessage", "chat.update")]
    # A connection (TCP, TLS in production) per call was slack_sdk's way without a session of ours.
    assert len(answering) >= 6 and len({c.peer for c in answering}) <= 2


async def test_native_streams_past_the_start_budget_answer_with_plain_messages(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    fake_slack.rate_tiers["chat.startStream"] = fake_slack.rate_tiers["chat.stopStream"] = 3
    sagemaker.default = slowly(delay=0.02)
    mentions = [fake_slack.mention("한강 소개", channel=f"C000{i}") for i in range(1, 4)]
    async with slack_bot(slack_tier2_per_minute=3) as bot:
        for mention in mentions:
            await bot.send(mention)
        answers = [await bot.answered(m["event"]["channel"], m["event"]["ts"], timeout=30) for m in mentions]

    assert all(squashed("".join(texts).replace("*", "")) == squashed(ANSWER) for texts in answers)
    starts = fake_slack.calls("chat.startStream")
    assert [c.status for c in starts] == [200, 200]  # two natively; the third as a plain message
    assert len(fake_slack.calls("chat.postMessage")) == 1


async def test_one_429_pauses_that_method_for_the_whole_workspace(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    fake_slack.streaming_supported = False
    fake_slack.fail_next("chat.update", retry_after=2)
    sagemaker.default = slowly(ANSWER * 2, delay=0.1)  # both answers still growing during the pause
    async with slack_bot() as bot:
        for user, dm in (("U0001", "D0001"), ("U0002", "D0002")):
            await bot.send(fake_slack.dm("한강 소개", user=user, channel=dm))
        for dm in ("D0001", "D0002"):
            await bot.answered(dm, timeout=30)

    updates = fake_slack.calls("chat.update")
    [limited] = [c for c in updates if c.status == 429]
    # Calls already on their way when the 429 came may still arrive; none is sent after it.
    meanwhile = [c for c in updates if limited.at + 0.2 < c.at < limited.at + 2 - 0.05]
    assert meanwhile == [] and any(c.at >= limited.at + 2 - 0.05 for c in updates)


async def test_answers_starting_at_once_in_threads_of_one_channel_all_arrive_without_a_429(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    # Eight people mention the bot at once, each in a thread of the same busy channel, in a
    # workspace without native streaming: each answer is a message posted in that channel, where
    # Slack takes about one a second. Two replicas answer them, sharing the channel's pace: each
    # takes four jobs at most (four times its model concurrency), so both post.
    fake_slack.streaming_supported = False
    sagemaker.default = Reply(ANSWER)
    mentions = [fake_slack.mention("한강 소개", user=f"U01{i:02d}") for i in range(8)]
    async with slack_bot(llm_max_concurrency=1) as first, slack_bot(llm_max_concurrency=1) as second:
        await asyncio.gather(*(bot.send(mention) for bot, mention in zip(cycle((first, second)), mentions)))
        for mention in mentions:
            for bot in (first, second):  # each replica done with what it took
                await bot.answered("C0001", mention["event"]["ts"], timeout=40)

    answers = [fake_slack.messages("C0001", mention["event"]["ts"]) for mention in mentions]
    assert all(squashed("".join(texts).replace("*", "")) == squashed(ANSWER) for texts in answers), answers
    posts = fake_slack.calls("chat.postMessage")
    assert len(posts) >= len(mentions) and [c.status for c in posts if c.status != 200] == []


async def test_every_429_slack_sends_is_counted_the_last_one_too(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    # The first post is refused four times: slack_sdk retries three times, then gives up.
    fake_slack.streaming_supported = False
    fake_slack.fail_next("chat.postMessage", retry_after=0, times=4)
    sagemaker.default = Reply(ANSWER)
    before = _counted_429s("chat.postMessage")
    async with slack_bot() as bot:
        await bot.send(fake_slack.dm("한강 소개"))
        await bot.answered("D0001", timeout=20)

    refused = [c for c in fake_slack.calls("chat.postMessage") if c.status == 429]
    assert len(refused) == 4 and _counted_429s("chat.postMessage") - before == 4


def _counted_429s(method: str) -> float:
    """What /metrics shows of the 429s Slack answered `method` (this process's counter)."""
    return REGISTRY.get_sample_value("bot_platform_rate_limited_total", {"platform": "slack", "method": method}) or 0.0
