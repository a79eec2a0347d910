"""Slack's team features through slack-bolt against the fake Slack: the AI-app surface (prompts,
status, title), feedback under answers with the 👎 modal, Slack's stop button, "다시 생성",
thread and channel summaries, per-channel settings and the App Home."""

from __future__ import annotations

import asyncio
import json
import re
import time

from fakes.sagemaker import FakeSageMaker, Reply
from fakes.slack import FakeSlack
from tests.reliability.helpers import last_question
from tests.slack_support import StartSlackBot, footer_of, growing_answer, press_stop
from tests.support import KOREAN, cli_env, prompts, run_bot, wait_until


async def test_an_assistant_thread_gets_a_greeting_prompts_a_status_and_a_title(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    # The model answers only once the status shows: it is there while the user waits.
    sagemaker.script(Reply("파이썬은 프로그래밍 언어입니다.", until=lambda: bool(fake_slack.statuses)))
    async with slack_bot() as bot:
        started = fake_slack.assistant_thread_started("D0001")
        thread_ts = started["event"]["assistant_thread"]["thread_ts"]
        await bot.send(started)
        await fake_slack.wait_for(lambda: fake_slack.suggested_prompts, 5, what="suggested prompts")
        await bot.send(fake_slack.dm("파이썬이 뭐야?", thread_ts=thread_ts))
        answers = await bot.answered("D0001", thread_ts, count=2)

    assert answers == [KOREAN("slack_greeting"), "파이썬은 프로그래밍 언어입니다."]
    (prompted,) = fake_slack.suggested_prompts
    titles = [p["title"] for p in prompted["prompts"]]
    assert len(titles) == 4 and "문서 요약" in titles and "이 채널 요약" in titles
    assert "thread_ts" not in prompted  # an agent app's call with one would do nothing
    assert [(s["thread_ts"], s["status"]) for s in fake_slack.statuses] == [(thread_ts, KOREAN("slack_thinking"))]
    assert fake_slack.titles[("D0001", thread_ts)] == "파이썬이 뭐야?"


async def test_a_thumbs_down_with_a_note_is_stored_and_exported(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker, redis_url: str, redis_prefix: str,
    tmp_path
) -> None:
    sagemaker.script("1+1은 3입니다.")
    async with slack_bot() as bot:
        mention = fake_slack.mention("1+1은?")
        await bot.send(mention)
        await bot.answered("C0001", mention["event"]["ts"])
        (answer,) = fake_slack.message_records("C0001", mention["event"]["ts"])
        thumbs = footer_of(fake_slack, "C0001", answer.ts)["answer_feedback"]
        down = thumbs["negative_button"]["value"]
        await bot.send(fake_slack.block_action("C0001", answer.ts, "answer_feedback", down, user="U0002"),
                       envelope_type="interactive")  # fmt: skip
        await fake_slack.wait_for(lambda: fake_slack.views, 5, what="the feedback modal")
        (modal,) = fake_slack.views
        note = {"note": {"note_input": {"type": "plain_text_input", "value": "계산이 틀렸어요"}}}
        await bot.send(fake_slack.view_submission(modal, note, user="U0002"), envelope_type="interactive")
        await wait_until(lambda: any(c.method == "views.open" for c in fake_slack.api_calls))
        engine = bot.service.bot.engine
        answer_id = down.split(":", 1)[1]
        for _ in range(200):
            stored = await engine.feedback.judgement(answer_id, "slack:T0001:U0002")
            if stored and stored.note:
                break
            await asyncio.sleep(0.02)

    assert stored is not None and (stored.verdict, stored.note) == ("down", "계산이 틀렸어요")
    out = tmp_path / "feedback.jsonl"
    env = cli_env(sagemaker, REDIS_URL=redis_url, REDIS_KEY_PREFIX=redis_prefix.rstrip(":"))
    done = await asyncio.to_thread(run_bot, "feedback", "export", "--out", str(out), env=env)
    assert done.returncode == 0, done.stderr
    (row,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert (row["question"], row["answer"], row["verdict"], row["note"]) == ("1+1은?", "1+1은 3입니다.", "down", "계산이 틀렸어요")
    assert "U0002" not in out.read_text()


async def test_slacks_stop_button_cancels_the_model_call_and_keeps_the_partial_text(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    sagemaker.script(Reply("아주 긴 답변을 천천히 쓰는 중입니다. " * 40, token_delay=0.05))
    async with slack_bot() as bot:
        mention = fake_slack.mention("긴 글을 써 줘")
        root = mention["event"]["ts"]
        await bot.send(mention)
        await fake_slack.wait_for(
            lambda: ("C0001", root) in fake_slack.sessions and fake_slack.calls("chat.appendStream"), 10,
            what="a stream under way in a processing session",
        )  # fmt: skip
        pressed = fake_slack.agent_session_stopped("C0001", root)  # Slack ends the stream at once
        await fake_slack.wait_for(
            lambda: any(c.response.get("error") == "message_not_in_streaming_state" for c in fake_slack.api_calls),
            10, what="the bot's text refused before the event reaches it",
        )  # fmt: skip
        await bot.send(pressed)
        await fake_slack.wait_for(lambda: sagemaker.closed_by_client == 1, 10, what="the model's stream closed")
        (text,) = await bot.answered("C0001", root)  # no new message for the text that came after

    shown, _, note = text.rpartition("\n\n")
    assert note == KOREAN("answer_stopped")
    assert shown.startswith("아주 긴 답변을") and len(shown) < len("아주 긴 답변을 천천히 쓰는 중입니다. " * 40) / 2
    assert not bot.service.bot.jobs


async def test_slacks_stop_pressed_while_the_question_waits_for_the_model_stops_it_before_the_model_is_asked(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    # The model's one slot is held by a first answer until the user has pressed stop in the
    # assistant thread where a second question waits in line for it.
    waiting = KOREAN("waiting", position=1)
    pressed = asyncio.Event()
    sagemaker.script(Reply("첫째 답입니다.", until=pressed.is_set), Reply("셋째 답입니다."))
    async with slack_bot(llm_max_concurrency=1) as bot:
        first = fake_slack.mention("첫째 질문", channel="C0101")
        await bot.send(first)
        await fake_slack.wait_for(lambda: len(sagemaker.requests) == 1, what="the model's one slot taken")
        started = fake_slack.assistant_thread_started("D0001")
        thread_ts = started["event"]["assistant_thread"]["thread_ts"]
        await bot.send(started)
        await bot.send(fake_slack.dm("둘째 질문", thread_ts=thread_ts))
        await fake_slack.wait_for(lambda: waiting in fake_slack.messages("D0001", thread_ts), 10, what="the second waiting")
        await bot.send(fake_slack.agent_session_stopped("D0001", thread_ts))  # handled before Slack is answered
        pressed.set()
        assert await bot.answered("C0101", first["event"]["ts"]) == ["첫째 답입니다."]
        await bot.answered("D0001", thread_ts, count=2)
        stopped_session = fake_slack.sessions[("D0001", thread_ts)].status
        await bot.send(fake_slack.dm("셋째 질문", thread_ts=thread_ts))  # the stop was that answer's only
        answers = await bot.answered("D0001", thread_ts, count=3)

    assert answers == [KOREAN("slack_greeting"), KOREAN("answer_stopped"), "셋째 답입니다."]
    assert stopped_session == "active"  # Slack's stop is gone
    assert [last_question(r.json) for r in sagemaker.requests] == ["첫째 질문", "셋째 질문"]  # never the second


async def test_the_stop_button_of_a_plain_answer_stops_it_and_gives_way_to_the_footer(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    fake_slack.streaming_supported = False
    sagemaker.script(Reply("천천히 쓰는 답변입니다. " * 60, token_delay=0.05))
    async with slack_bot() as bot:
        await bot.send(fake_slack.dm("긴 답을 써 줘"))
        ts, answer_id = await growing_answer(bot)
        await press_stop(bot, "D0001", ts, answer_id)
        await fake_slack.wait_for(lambda: sagemaker.closed_by_client == 1, 10, what="the model's stream closed")
        (text,) = await bot.answered("D0001")

    shown, _, note = text.rpartition("\n\n")
    assert note == KOREAN("answer_stopped") and shown.startswith("천천") and len(shown) < 100
    assert "answer_stop" not in footer_of(fake_slack, "D0001", ts)  # a stopped answer has no stop


async def test_regenerate_replaces_the_remembered_answer(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    sagemaker.script("첫 답변입니다.", "새로 만든 답변입니다.", "이어진 답변입니다.")
    async with slack_bot() as bot:
        mention = fake_slack.mention("좋은 이름 하나 지어 줘")
        root = mention["event"]["ts"]
        await bot.send(mention)
        await bot.answered("C0001", root)
        (first,) = fake_slack.message_records("C0001", root)
        button = footer_of(fake_slack, "C0001", first.ts)["answer_regenerate"]
        await bot.send(fake_slack.block_action("C0001", first.ts, "answer_regenerate", button["value"]),
                       envelope_type="interactive")  # fmt: skip
        answers = await bot.answered("C0001", root, count=2)
        await bot.send(fake_slack.thread_message("고마워", root))
        await bot.answered("C0001", root, count=3)
        # The first answer is no longer the last one remembered: it cannot be replaced.
        await bot.send(fake_slack.block_action("C0001", first.ts, "answer_regenerate", button["value"]),
                       envelope_type="interactive")  # fmt: skip
        refused = (await bot.answered("C0001", root, count=4))[-1]

    assert answers == ["첫 답변입니다.", "새로 만든 답변입니다."]
    assert refused == KOREAN("not_the_last_answer") and len(prompts(sagemaker)) == 3
    regenerated, followup = prompts(sagemaker)[1:]
    assert "좋은 이름 하나 지어 줘" in regenerated and "첫 답변입니다." not in regenerated
    assert "새로 만든 답변입니다." in followup and "첫 답변입니다." not in followup


async def test_a_300_message_thread_summary_reads_every_message_across_chunks(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    sagemaker.default = Reply("요약: [#1]에서 시작해 [#300]에서 결정했습니다.")
    root = fake_slack.seed_message("C0001", "메시지 표지-0000: 배포 일정을 정합시다.", user="U0000").ts
    for i in range(1, 300):
        fake_slack.seed_message("C0001", f"메시지 표지-{i:04d}: 예산 {i}만 원 확인 부탁드려요. " * 2,
                                user=f"U{i % 5:04d}", thread_ts=root)  # fmt: skip
    async with slack_bot(llm_context_tokens=2048, llm_max_new_tokens=512) as bot:
        await bot.send(fake_slack.mention("이 스레드 요약해줘", thread_ts=root))
        await bot.answered("C0001", root, count=1, timeout=60)
        summary = fake_slack.message_records("C0001", root)[-1].text

    maps = [p for p in prompts(sagemaker) if "번째 부분입니다" in p]
    assert len(maps) > 3
    seen = {int(tag) for p in maps for tag in re.findall(r"\] u\d{4}: 메시지 표지-(\d{4})", p)}
    assert seen == set(range(300))
    assert f"/archives/C0001/p{root.replace('.', '')}" in summary  # [#1] links to the first message


async def test_a_channel_summary_needs_the_bot_in_the_channel(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    fake_slack.seed_message("C0001", "오늘 회의는 3시입니다.", user="U0002", ts=f"{time.time() - 60:.6f}")
    async with slack_bot() as bot:
        mention = fake_slack.mention("지난 2시간 채널 요약")
        await bot.send(mention)
        (summary,) = await bot.answered("C0001", mention["event"]["ts"])
        fake_slack.not_member.add("C0002")
        other = fake_slack.mention("오늘 채널 요약", channel="C0002")
        await bot.send(other)
        (refused,) = await bot.answered("C0002", other["event"]["ts"])

    (prompt,) = prompts(sagemaker)
    assert "오늘 회의는 3시입니다." in prompt and "u0002" in prompt
    assert refused == KOREAN("slack_not_in_channel")


async def test_what_i_missed_reads_the_channel_since_my_last_message(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    now = time.time()
    for offset, user, text in ((300, "U0002", "어제 논의한 예산안"), (200, "U0001", "제가 확인할게요"),
                               (100, "U0003", "배포는 금요일로 미뤘습니다")):  # fmt: skip
        fake_slack.seed_message("C0001", text, user=user, ts=f"{now - offset:.6f}")
    async with slack_bot() as bot:
        mention = fake_slack.mention("내가 놓친 것", user="U0001")
        await bot.send(mention)
        await bot.answered("C0001", mention["event"]["ts"])

    (prompt,) = prompts(sagemaker)
    assert "배포는 금요일로 미뤘습니다" in prompt
    assert "어제 논의한 예산안" not in prompt and "제가 확인할게요" not in prompt


async def test_this_channel_from_the_ai_panel_is_the_channel_being_viewed(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    fake_slack.seed_message("C0042", "신규 입사자 환영회는 목요일입니다.", user="U0002", ts=f"{time.time() - 60:.6f}")
    async with slack_bot() as bot:
        started = fake_slack.assistant_thread_started("D0001", context_channel="C0042")
        thread_ts = started["event"]["assistant_thread"]["thread_ts"]
        await bot.send(started)
        await bot.answered("D0001", thread_ts)  # the greeting
        await bot.send(fake_slack.dm("이 채널 요약", thread_ts=thread_ts))
        await bot.answered("D0001", thread_ts, count=2)

    (prompt,) = prompts(sagemaker)
    assert "신규 입사자 환영회는 목요일입니다." in prompt


async def test_channel_settings_are_set_by_admins_and_change_the_answers(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    sagemaker.script("Ahoy, it is Seoul.")
    async with slack_bot(slack_admin_users="U0009") as bot:
        for user, change in (("U0001", "언어 en"), ("U0009", "언어 en"), ("U0009", "페르소나 해적처럼 말하기")):
            replied = len(fake_slack.response_url_posts)
            await bot.send(fake_slack.slash_command("/봇설정", change, user=user), envelope_type="slash_commands")
            await fake_slack.wait_for(lambda: len(fake_slack.response_url_posts) > replied, 5, what="a reply")
        mention = fake_slack.mention("수도가 어디야?")
        await bot.send(mention)
        await bot.answered("C0001", mention["event"]["ts"])
        help_mention = fake_slack.mention("도움말")
        await bot.send(help_mention)
        (help_text,) = await bot.answered("C0001", help_mention["event"]["ts"])

    replies = [p.body["text"] for p in fake_slack.response_url_posts]
    assert replies[0] == KOREAN("settings_admins_only")
    assert "Answer language: en" in replies[2] and "해적처럼 말하기" in replies[2]
    (prompt,) = prompts(sagemaker)
    assert "해적처럼 말하기" in prompt and "In this channel" in prompt
    assert "Persona: 해적처럼 말하기" in help_text


async def test_the_app_home_shows_how_to_use_the_bot(slack_bot: StartSlackBot, fake_slack: FakeSlack) -> None:
    async with slack_bot() as bot:
        await bot.send(fake_slack.app_home_opened("U0003"))
        await fake_slack.wait_for(lambda: "U0003" in fake_slack.home_views, 5, what="the App Home")
    texts = json.dumps(fake_slack.home_views["U0003"]["blocks"], ensure_ascii=False)
    assert "이 스레드 요약해줘" in texts and "/봇설정" in texts


def test_the_manifest_asks_for_what_the_app_listens_to() -> None:
    import yaml

    from bot.adapters.slack.app import THREAD_SHORTCUT
    from tests.support import ROOT

    manifest = yaml.safe_load((ROOT / "slack" / "manifest.yml").read_text())
    features, settings = manifest["features"], manifest["settings"]
    assert set(settings["event_subscriptions"]["bot_events"]) == {
        "app_mention", "message.channels", "message.groups", "message.im", "app_home_opened",
        "assistant_thread_started", "assistant_thread_context_changed", "agent_session_stopped",
    }  # fmt: skip
    # The slash commands: tests/test_deploy_files.py
    assert [s["callback_id"] for s in features["shortcuts"]] == [THREAD_SHORTCUT]
    assert "agent_view" in features and "assistant_view" not in features
    assert len(features["agent_view"]["suggested_prompts"]) <= 4
    assert settings["interactivity"]["is_enabled"] and features["app_home"]["home_tab_enabled"]
    assert {"users:read", "files:read"} <= set(manifest["oauth_config"]["scopes"]["bot"])
    assert settings["socket_mode_enabled"] is True


async def test_a_question_about_summaries_is_answered_not_taken_for_a_request(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    sagemaker.script("스레드 요약은 스레드의 대화를 줄여 보여 주는 기능입니다.")
    async with slack_bot() as bot:
        mention = fake_slack.mention("스레드 요약이 뭐야?")
        await bot.send(mention)
        (answer,) = await bot.answered("C0001", mention["event"]["ts"])

    assert answer == "스레드 요약은 스레드의 대화를 줄여 보여 주는 기능입니다."
    assert not fake_slack.calls("conversations.replies") and "스레드 요약이 뭐야?" in prompts(sagemaker)[0]
