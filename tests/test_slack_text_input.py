"""Text Slack delivers that is not quite text still gets an answer."""

from __future__ import annotations

from fakes.sagemaker import FakeSageMaker, Reply
from fakes.slack import FakeSlack
from tests.slack_support import StartSlackBot
from tests.support import prompts


async def test_a_lone_surrogate_is_answered_with_the_character_replaced(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    sagemaker.default = Reply("네, 말씀하세요.")
    async with slack_bot() as bot:
        # Half of an emoji's UTF-16 pair, as a client that cut a message in the wrong place sends it.
        await bot.send(fake_slack.dm("질문이 있어요 \ud83d 들어 주세요"))
        [answer] = await bot.answered("D0001")
        await bot.send(fake_slack.dm("앞에서 뭐라고 했지?"))
        await bot.answered("D0001", count=2)

    assert answer == "네, 말씀하세요."
    first, second = prompts(sagemaker)
    assert "질문이 있어요 \ufffd 들어 주세요" in first
    assert "질문이 있어요 \ufffd 들어 주세요" in second  # and it was remembered
