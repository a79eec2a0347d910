"""Discord's rate limits as every replica of the bot meets them together: new messages per
channel, and a global 429 that stops the bot everywhere, not only in the process it reached."""

from __future__ import annotations

from fakes.discord import MESSAGE_LIMIT
from fakes.sagemaker import FakeSageMaker, Reply
from tests.discord_support import StartDiscordBot
from tests.test_discord_streaming import long_korean_answer


async def test_answers_in_one_busy_channel_from_two_replicas_all_arrive_without_a_429(
    discord_bot: StartDiscordBot, sagemaker: FakeSageMaker
) -> None:
    # six answers of about 3,000 characters (two messages each); every word says whose it is
    answers = [" ".join(f"답{i}:{word}" for word in long_korean_answer(1750).split()) for i in range(6)]
    sagemaker.script(*(Reply(a, tokens=[a[j : j + 100] for j in range(0, len(a), 100)], token_delay=0.01)
                       for a in answers))  # fmt: skip
    settings = {"discord_mention_threads": False}  # every answer in the channel itself

    def shown(parts: list[str]) -> list[str]:
        return [" ".join(p for p in parts if p.startswith(f"답{i}:")) for i in range(len(answers))]

    async with discord_bot(**settings) as h:
        fake = h.fake
        fake.identify_interval = 0.0  # the second replica may IDENTIFY at once: only answers count here
        async with discord_bot(fake=fake, discord_identify_seconds=0, **settings):
            for user in range(50, 56):
                await h.message(f"<@{fake.bot_id}> 질문 {user}", author_id=user)
            whole = [a.split() for a in answers]
            sent = await fake.wait_for(lambda: (m := fake.channel_messages(fake.channel_id)) and [
                s.split() for s in shown(m)] == whole and m, timeout=60)  # each whole, in order

    assert len(sent) == 12 and all(len(p) <= MESSAGE_LIMIT for p in sent)
    created = fake.requests_to(f"POST /channels/{fake.channel_id}/messages")
    assert len(created) == 12  # each answer's placeholder and its second message
    assert [r.status for r in created if r.status == 429] == []  # the replicas shared the channel's 5 per 5 s


async def test_a_global_429_holds_back_the_other_replicas_too(
    discord_bot: StartDiscordBot, sagemaker: FakeSageMaker
) -> None:
    sagemaker.default = Reply("네, 답입니다.")
    async with discord_bot(shard=(0, 2)) as h:
        fake = h.fake
        fake.max_concurrency = 2  # both shards may IDENTIFY at once
        elsewhere, channel = 1 << 22, 300  # a server on shard 1: only the other replica sees it
        fake.add_guild(elsewhere, "다른 서버", channels={channel: "잡담"})
        async with discord_bot(fake=fake, shard=(1, 2), discord_mention_threads=False) as other:
            fake.rate_limit_next("POST /channels/*/messages", retry_after=1.5, global_=True)
            first = await h.message("질문 하나", author_id=50, channel_id=fake.dm_channel(50))  # shard 0's
            refused = (await fake.wait_for(lambda: [r for r in fake.requests if r.status == 429]))[0]
            second = await other.message(f"<@{fake.bot_id}> 질문 둘", author_id=51, channel_id=channel)
            assert (await other.reply_to(second, timeout=10))["content"] == "네, 답입니다."
            assert (await h.reply_to(first, timeout=10))["content"] == "네, 답입니다."

    posted = next(r for r in fake.requests_to(f"POST /channels/{channel}/messages") if r.ok)
    # Discord told only the first replica; the other still waited until the bot's pause was over
    assert posted.time - refused.time >= 1.4
