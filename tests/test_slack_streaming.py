"""Answers appear as they are generated: natively streamed where Slack offers it, else one message
edited at most once a second; long answers split into messages under Slack's limits; failures
and rate limits end in something the user can read."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from bot.adapters.slack.surface import NativeStream, Pacing, Place
from bot.core.memory.quota import LocalQuotas
from bot.frontend.splitting import utf8_len
from bot.frontend.streaming import show_growing
from bot.frontend.texts import texts_for
from fakes.sagemaker import FakeSageMaker, Reply
from fakes.slack import ApiCall, FakeSlack
from tests.slack_support import SlackBot, StartSlackBot, assert_throttled, message_calls, squashed

ANSWER = "**서울**은 대한민국의 수도이며, 한강을 따라 발달한 도시입니다. 인구는 약 940만 명입니다."
MODEL_ERROR = "모델이 이 요청을 처리하지 못했습니다. 질문을 바꿔 다시 시도해 주세요."


def long_korean(chars: int) -> Reply:
    sentence = "서울특별시는 한강을 사이에 두고 강북과 강남으로 나뉘며 오랜 역사를 지닌 도시입니다. "
    paragraphs = [sentence * (2 + i % 3) for i in range(chars // 40)]
    text = "\n\n".join(paragraphs)[:chars].strip()
    return Reply(text, tokens=[text[i : i + 40] for i in range(0, len(text), 40)])


async def ask_and_see_the_first(bot: SlackBot, method: str) -> tuple[str, ApiCall]:
    """Mention the bot; its thread, and the first `method` call, which came with the model's
    first text: within a second of it (the endpoint's first token comes at once here), with room
    for two busy cores."""
    mention = bot.fake.mention("서울 소개해 줘")
    sent = time.monotonic()
    await bot.send(mention)
    first = await bot.fake.wait_call(method)
    assert first.at - sent < 3.0
    return mention["event"]["ts"], first


async def test_native_stream_grows_at_most_once_a_second(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    sagemaker.script(Reply(ANSWER, token_delay=0.06))  # about 2.5 s of tokens
    async with slack_bot() as bot:
        root, start = await ask_and_see_the_first(bot, "chat.startStream")
        await bot.answered("C0001", root)

    [message] = fake_slack.message_records("C0001", root)
    assert message.text == ANSWER and message.stream_state == "completed"  # Slack renders the Markdown
    methods = [c.method for c in message_calls(fake_slack, "C0001", message.ts)]
    assert methods[0] == "chat.startStream" and methods[-1] == "chat.stopStream" and "chat.appendStream" in methods
    assert start.args["recipient_user_id"] == "U0001" and start.args["recipient_team_id"] == "T0001"
    assert ANSWER.startswith(start.args["markdown_text"])  # the stream opened with the first text, not empty
    assert len(message.texts) >= 3  # it visibly grew
    assert_throttled(fake_slack, "C0001", message.ts)


async def test_without_native_streaming_answers_grow_in_a_plain_message_edited_once_a_second(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    fake_slack.streaming_supported = False
    sagemaker.script(Reply(ANSWER, token_delay=0.06), "둘째 답")
    async with slack_bot() as bot:
        root, first_post = await ask_and_see_the_first(bot, "chat.postMessage")
        await bot.answered("C0001", root)
        await bot.send(fake_slack.mention("고마워", channel="C0002"))
        await bot.answered("C0002")

    # The refusal came with the first text, which then went out as a plain message at once.
    assert first_post.args["text"] and "서울" in first_post.args["text"]
    first = fake_slack.message_records("C0001", root)[0]
    assert first.text == "*서울*\u200b은 대한민국의 수도이며, 한강을 따라 발달한 도시입니다. 인구는 약 940만 명입니다."
    assert len(first.texts) >= 3  # it visibly grew
    assert assert_throttled(fake_slack, "C0001", first.ts) >= 3
    # Learnt once per workspace: the second answer does not ask for streaming again, and edits a
    # placeholder posted at once.
    assert len(fake_slack.calls("chat.startStream")) == 1
    second = [c for c in fake_slack.calls("chat.postMessage") if c.args["channel"] == "C0002"]
    assert second[0].args["text"] == "답변을 생각하고 있어요…"


async def test_long_korean_answer_arrives_whole_in_messages_under_the_limits(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    reply = long_korean(12_000)
    sagemaker.script(reply, reply)
    async with slack_bot() as bot:
        mention = fake_slack.mention("서울 이야기 길게")
        await bot.send(mention)
        streamed = await bot.answered("C0001", mention["event"]["ts"], timeout=20)

        fake_slack.streaming_supported = False
        fake_slack.max_text_bytes = 4_000  # where real Slack cuts text, as reported
        await bot.send(fake_slack.dm("서울 이야기 길게"))
        edited = await bot.answered("D0001", timeout=30)  # ten messages, one a second in a channel

    for texts in (streamed, edited):
        assert len(texts) > 1 and squashed("".join(texts)) == squashed(reply.text)
        assert not any(text.endswith("▌") for text in texts)
    assert all(len(text) <= 10_000 for text in streamed)
    assert all(utf8_len(text) <= 3_900 for text in edited)


async def test_rate_limited_posts_and_edits_wait_and_still_arrive(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    fake_slack.streaming_supported = False
    fake_slack.fail_next("chat.postMessage", retry_after=0)
    fake_slack.fail_next("chat.update", retry_after=1)
    sagemaker.script(Reply(ANSWER * 2, token_delay=0.02))
    async with slack_bot() as bot:
        await bot.send(fake_slack.dm("서울?"))
        [text] = await bot.answered("D0001", timeout=15)

    assert text.startswith("*서울*")
    for method, wait in (("chat.postMessage", 0), ("chat.update", 1)):
        limited, retried = fake_slack.calls(method)[:2]
        assert (limited.status, retried.status) == (429, 200) and retried.at - limited.at >= wait
    # A retried call counts when it went through: the next edit still keeps its distance.
    assert_throttled(fake_slack, "D0001", fake_slack.message_records("D0001")[0].ts)


async def test_model_failure_ends_in_a_korean_message_not_a_stuck_placeholder(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    sagemaker.default = Reply(fault="model_error")
    sagemaker.responder(lambda body: Reply("부분 답변입니다. 이어서", fault="die_midway") if "끊김" in body["inputs"] else None)
    async with slack_bot(llm_max_retries=0) as bot:
        mention = fake_slack.mention("질문")
        await bot.send(mention)
        native = await bot.answered("C0001", mention["event"]["ts"])

        fake_slack.streaming_supported = False
        await bot.send(fake_slack.dm("질문"))
        await bot.send(fake_slack.dm("끊김", channel="D0002", user="U0002"))
        edited, cut = await bot.answered("D0001"), await bot.answered("D0002")

    assert native == [MODEL_ERROR] and edited == [MODEL_ERROR]
    assert cut[0].startswith("부분 답변") and cut[0].endswith("(답변이 중간에 끊겼습니다. 다시 시도해 주세요.)")


async def test_native_stream_is_cut_between_words_and_reopens_code_blocks(fake_slack: FakeSlack) -> None:
    code = "\n".join(f"    total += price[{i}]  # 항목 {i}번 가격" for i in range(30))
    answer = f"계산은 다음과 같습니다.\n\n```python\n{code}\n```\n\n이렇게 하면 합계를 구할 수 있습니다."

    async def deltas() -> AsyncIterator[str]:
        for i in range(0, len(answer), 7):
            yield answer[i : i + 7]

    place = Place("C0001", "1700000000.000001", "T0001", "U0001")
    stream = NativeStream(fake_slack.web_client(), place, Pacing(LocalQuotas(), {}), refused=print)
    NativeStream.max_chars, stream.interval = 400, 0.01  # type: ignore[misc,assignment]
    await show_growing(deltas(), stream, texts_for("ko"))

    texts = fake_slack.messages("C0001", place.thread_ts)
    assert len(texts) > 2 and all(len(text) <= 400 and text.count("```") % 2 == 0 for text in texts)
    assert all(text.startswith("```python\n") for text in texts[1:-1])
    words = set(" ".join(texts).split()) - {"```", "```python"}
    assert words <= set(answer.split())  # no word was cut in two
    assert squashed("".join(texts).replace("```python", "").replace("```", "")) == squashed(
        answer.replace("```python", "").replace("```", "")
    )
