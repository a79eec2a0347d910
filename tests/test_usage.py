"""The usage ledger and budgets (issue 18): what each answer cost lands in Redis per day, team,
user and channel; a spent budget refuses the next question before the model is called, politely;
`/usage` shows a person their own use in Slack and Discord; admins get a report, CSV and a chart."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from typing import Any

import pytest
import redis.asyncio as aioredis
import yarl
from PIL import Image

from bot.config import load_settings
from bot.core.conversation import ConversationKey
from bot.core.errors import ConfigError, TeamBudgetSpent, UserBudgetSpent
from bot.core.usage import AnswerUsage, Asker, Calendar
from bot.frontend.texts import texts_for
from fakes.bedrock import FakeBedrock
from fakes.discord import EPHEMERAL
from fakes.redis_server import RedisServer
from fakes.sagemaker import FakeSageMaker, Reply
from fakes.slack import FakeSlack
from tests.discord_support import Harness
from tests.slack_support import StartSlackBot
from tests.support import KOREAN, cli_env, make_engine, prompts, run_bot, run_module

SEOUL = Calendar.named("Asia/Seoul")
DAY_TTL = 90 * 24 * 3600


def refills(at: Any) -> dict[str, object]:
    """The reset time as the budget messages name it."""
    return {"date": at.date().isoformat(), "month": at.month, "day": at.day, "zone": at.tzname()}


def usage_hash(prefix: str, period: str, kind: str = "") -> str:
    return f"{prefix.rstrip(':')}:usage:{period}" + (f":{kind}" if kind else "")


async def read_hash(client: aioredis.Redis, name: str) -> dict[str, str]:
    return {field.decode(): value.decode() for field, value in (await client.hgetall(name)).items()}


async def test_a_spent_daily_budget_refuses_the_next_question_without_calling_the_model(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    sagemaker.responder(lambda body: "답: " + body["inputs"].rsplit("user<|end_header_id|>\n\n", 1)[1].split("<|")[0])
    async with slack_bot(budget_user_daily_tokens=1) as bot:
        await bot.send(fake_slack.dm("첫 질문"))
        assert await bot.answered("D0001") == ["답: 첫 질문"]
        await bot.send(fake_slack.dm("두 번째 질문"))
        replies = await bot.answered("D0001", count=2)
        await bot.send(fake_slack.dm("저도 질문", user="U0002", channel="D0002"))  # someone else's budget
        assert await bot.answered("D0002") == ["답: 저도 질문"]

    assert replies[-1] == KOREAN("budget_user_day", limit=1, **refills(SEOUL.next_day(time.time())))
    assert "KST" in replies[-1] and "0시" in replies[-1]
    asked = [p.rsplit("user<|end_header_id|>\n\n", 1)[1] for p in prompts(sagemaker)]
    assert len(asked) == 2 and not any(a.startswith("두 번째") for a in asked)


async def test_a_spent_team_budget_refuses_the_team_until_next_month_and_other_teams_go_on(
    sagemaker: FakeSageMaker, redis_url: str, redis_prefix: str
) -> None:
    engine = make_engine(sagemaker, redis_url, redis_prefix, budget_team_monthly_tokens=1)
    key = ConversationKey("slack", ("T1", "dm", "U1"))
    try:
        await engine.reply(key, "첫 질문", asker=Asker("slack", "T1", "U1", "D1"))
        try:
            await engine.reply(key, "같은 팀 다른 사람", asker=Asker("slack", "T1", "U2", "D2"))
            raise AssertionError("the team's budget was spent")
        except TeamBudgetSpent as error:
            refused = error
        await engine.reply(key, "다른 팀", asker=Asker("slack", "T2", "U3", "D3"))
    finally:
        await engine.aclose()
    assert len(sagemaker.requests) == 2
    first = SEOUL.next_month(time.time())
    assert first.day == 1 and first.hour == 0
    assert KOREAN.for_error(refused) == KOREAN("budget_team_month", limit=1, **refills(first))
    assert f"00:00 KST on {first.date().isoformat()}" in texts_for("en").for_error(refused)


async def test_without_redis_budgets_hold_in_the_process(sagemaker: FakeSageMaker) -> None:
    engine = make_engine(sagemaker, None, "", budget_user_daily_tokens=1, bot_language="en")
    asker = Asker("discord", "", "7", "70")  # a Discord DM: no team
    try:
        await engine.reply(ConversationKey("discord", ("dm", "7")), "question", asker=asker)
        with pytest.raises(UserBudgetSpent) as caught:
            await engine.reply(ConversationKey("discord", ("dm", "7")), "again", asker=asker)
        used = await engine.usage_of(asker)
    finally:
        await engine.aclose()
    assert len(sagemaker.requests) == 1 and used.today.answers == 1
    assert texts_for("en").for_error(caught.value).startswith("Sorry, you have used today's allowance (1 tokens).")


async def test_usage_counted_while_redis_was_down_is_written_once_it_is_back(
    sagemaker: FakeSageMaker, fresh_redis_server: RedisServer
) -> None:
    engine = make_engine(sagemaker, fresh_redis_server.url, "usage-down", llm_max_retries=0, redis_timeout_seconds=0.5)
    asker = Asker("slack", "T1", "U1", "C1")
    key = ConversationKey("slack", ("T1", "C1", "1.0"))
    client = aioredis.Redis.from_url(fresh_redis_server.url, decode_responses=True)
    try:
        fresh_redis_server.stop()
        await engine.reply(key, "Redis 없이", asker=asker)  # answered all the same
        assert (await engine.usage_of(asker)).today.answers == 1  # counted in the process meanwhile
        fresh_redis_server.start()
        await engine.reply(key, "돌아왔어요", asker=asker)
        stored = await client.hgetall(usage_hash("usage-down", SEOUL.day(time.time()), "people"))
    finally:
        await client.aclose()
        await engine.aclose()
    assert stored["slack:T1:U1:answers"] == "2"


async def test_counts_land_in_redis_per_day_team_user_and_channel_by_the_tokenizer(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker, redis_prefix: str,
    redis_client: aioredis.Redis,
) -> None:
    sagemaker.script("첫 번째 답입니다.", "채널 답입니다.")
    async with slack_bot() as bot:
        await bot.send(fake_slack.dm("안녕하세요"))
        await bot.answered("D0001")
        mention = fake_slack.mention("채널에서 물어요")
        await bot.send(mention)
        await bot.answered("C0001", mention["event"]["ts"])
        tokens = bot.service.bot.engine.tokens

    today, month = SEOUL.day(time.time()), SEOUL.month(time.time())
    detail = await read_hash(redis_client, usage_hash(redis_prefix, today))
    dm_prompt, channel_prompt = prompts(sagemaker)
    # The prompt as the endpoint got it, counted by the Llama 3 tokenizer (special tokens included).
    assert detail == {
        "slack:T0001:U0001:D0001:tokens_in": str(tokens.count(dm_prompt)),
        "slack:T0001:U0001:D0001:tokens_out": str(tokens.count("첫 번째 답입니다.")),
        "slack:T0001:U0001:D0001:answers": "1",
        "slack:T0001:U0001:C0001:tokens_in": str(tokens.count(channel_prompt)),
        "slack:T0001:U0001:C0001:tokens_out": str(tokens.count("채널 답입니다.")),
        "slack:T0001:U0001:C0001:answers": "1",
    }
    in_total = tokens.count(dm_prompt) + tokens.count(channel_prompt)
    people_today = await read_hash(redis_client, usage_hash(redis_prefix, today, "people"))
    assert people_today["slack:T0001:U0001:answers"] == "2"
    assert people_today["slack:T0001:U0001:tokens_in"] == str(in_total)
    teams = await read_hash(redis_client, usage_hash(redis_prefix, month, "teams"))
    assert teams["slack:T0001:tokens_in"] == str(in_total)
    assert 0 < await redis_client.ttl(usage_hash(redis_prefix, today)) <= DAY_TTL
    assert DAY_TTL <= await redis_client.ttl(usage_hash(redis_prefix, month, "teams")) <= 62 * 24 * 3600 + DAY_TTL


async def test_the_providers_own_counts_are_used_where_it_reports_them(redis_url: str, redis_prefix: str) -> None:
    async with FakeBedrock() as bedrock:
        engine = make_engine(bedrock, redis_url, redis_prefix)
        seen: list[AnswerUsage] = []
        engine.usage_observers.append(seen.append)
        bedrock.script("세 토큰 답")
        try:
            await engine.reply(ConversationKey("discord", ("dm", "7")), "질문", asker=Asker("discord", "", "7", "70"))
            used = await engine.usage_of(Asker("discord", "", "7", "70"))
        finally:
            await engine.aclose()
    # What the fake's ConverseStream `metadata` event said: inputTokens 10, one output token per text piece.
    assert [(u.tokens_in, u.counted_by, u.answered, u.document) for u in seen] == [(10, "provider", True, False)]
    assert used.today.tokens_in == 10 and used.today.tokens_out == seen[0].tokens_out > 0
    assert used.today.answers == used.month.answers == 1


async def test_a_summarized_document_counts_as_a_document_with_every_call_of_its_summary(
    sagemaker: FakeSageMaker, redis_url: str, redis_prefix: str
) -> None:
    engine = make_engine(sagemaker, redis_url, redis_prefix)
    asker = Asker("slack", "T1", "U1", "C1")
    sagemaker.script("요약입니다.")
    try:
        await engine.summarize_document(
            ConversationKey("slack", ("T1", "C1", "1.0")), "회의록: 예산은 3억 원입니다.".encode(), "회의록.txt", asker=asker
        )
        used = await engine.usage_of(asker)
    finally:
        await engine.aclose()
    assert (used.today.documents, used.today.answers) == (1, 0)  # a document, not also an answer
    assert used.today.tokens_in == engine.tokens.count(prompts(sagemaker)[0])


async def test_usage_command_in_slack_shows_the_asker_their_own_use(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker, redis_client: aioredis.Redis,
    redis_prefix: str,
) -> None:
    people_today = usage_hash(redis_prefix, SEOUL.day(time.time()), "people")
    async with slack_bot(mode="socket", budget_user_daily_tokens=100_000) as bot:
        await bot.send(fake_slack.dm("안녕"))
        await bot.answered("D0001")
        async with asyncio.timeout(5):  # the answer's cost is written just after its text is shown
            while not await redis_client.hexists(people_today, "slack:T0001:U0001:answers"):
                await asyncio.sleep(0.01)
        own = fake_slack.slash_command("/usage", channel="D0001")
        other = fake_slack.slash_command("/usage", user="U0009", channel="D0009")
        await bot.send(own, envelope_type="slash_commands")
        await bot.send(other, envelope_type="slash_commands")
        await fake_slack.wait_for(lambda: len(fake_slack.response_url_posts) == 2)

    people = await read_hash(redis_client, people_today)
    spent = int(people["slack:T0001:U0001:tokens_in"]) + int(people["slack:T0001:U0001:tokens_out"])
    # The two commands are answered at once: each answer is told by the URL it went to.
    answers = {post.path: post.body for post in fake_slack.response_url_posts}
    mine, theirs = (answers[yarl.URL(command["response_url"]).path] for command in (own, other))
    assert mine.get("response_type", "ephemeral") == "ephemeral"  # seen by the asker only
    lines = mine["text"].split("\n")
    assert lines[0] == "내 사용량"
    assert lines[1].startswith("오늘: 질문 1개 · 문서 0개 · ") and f"토큰 {spent:,}개" in lines[1]
    assert lines[3] == KOREAN("usage_user_budget", limit=100_000, left=100_000 - spent, zone="KST")
    assert "오늘: 질문 0개 · 문서 0개 · 토큰 0개" in theirs["text"]  # someone else's is their own
    assert len(sagemaker.requests) == 1  # /usage never calls the model


async def test_usage_command_in_discord_answers_only_the_asker(harness: Harness, sagemaker: FakeSageMaker) -> None:
    sagemaker.script("디스코드 답")
    asked = await harness.command("ask", {"질문": "안녕"}, user_id=42)
    assert await harness.answered(asked) == "디스코드 답"
    usage = await harness.command("usage", user_id=42)
    shown = await harness.answered(usage)
    assert shown.startswith("내 사용량\n오늘: 질문 1개 · 문서 0개 · 토큰 ")
    assert "이번 달: 질문 1개" in shown
    callback = harness.fake.requests_to(f"POST */interactions/{usage['id']}/*/callback")
    assert callback and int(callback[0].json["data"]["flags"]) & EPHEMERAL


async def _recorded_usage(sagemaker: FakeSageMaker, redis_url: str, redis_prefix: str) -> None:
    """Three answers by two teams, through the engine, for the report to read."""
    engine = make_engine(sagemaker, redis_url, redis_prefix)
    try:
        for asker in (Asker("slack", "T1", "U1", "C1"), Asker("slack", "T1", "U2", "C1"), Asker("discord", "G2", "9", "90")):
            await engine.reply(ConversationKey(asker.platform, (asker.team, asker.user)), "질문", asker=asker)
    finally:
        await engine.aclose()


def _report_env(sagemaker: FakeSageMaker, redis_url: str, redis_prefix: str) -> dict[str, str]:
    return cli_env(sagemaker, REDIS_URL=redis_url, REDIS_KEY_PREFIX=redis_prefix.rstrip(":"))


async def test_usage_report_prints_a_table_and_csv_for_admins(
    sagemaker: FakeSageMaker, redis_url: str, redis_prefix: str
) -> None:
    await _recorded_usage(sagemaker, redis_url, redis_prefix)
    env = _report_env(sagemaker, redis_url, redis_prefix)

    as_csv = run_bot("usage", "--csv", "--by", "all", "--days", "7", env=env)
    assert as_csv.returncode == 0, as_csv.stderr
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    today = SEOUL.day(time.time())
    assert [(r["day"], r["platform"], r["team"], r["user"], r["channel"], r["answers"]) for r in rows] == [
        (today, "discord", "G2", "9", "90", "1"), (today, "slack", "T1", "U1", "C1", "1"),
        (today, "slack", "T1", "U2", "C1", "1"),
    ]  # fmt: skip
    assert all(int(r["tokens_in"]) > 0 and int(r["tokens_out"]) > 0 for r in rows)

    table = run_bot("usage", "--team", "T1", "--by", "team", env=env)
    assert table.returncode == 0, table.stderr
    header, _, team_line, _, total = table.stdout.splitlines()
    assert header.split() == ["platform", "team", "tokens_in", "tokens_out", "answers", "documents"]
    assert team_line.split()[:2] == ["slack", "T1"] and team_line.split()[4] == "2"
    assert total.split()[0] == "total" and total.split()[1:] == team_line.split()[2:]


async def test_usage_report_draws_a_png_chart(
    sagemaker: FakeSageMaker, redis_url: str, redis_prefix: str, tmp_path: Any
) -> None:
    await _recorded_usage(sagemaker, redis_url, redis_prefix)
    chart = tmp_path / "usage.png"
    done = run_bot("usage", "--days", "14", "--plot", str(chart), env=_report_env(sagemaker, redis_url, redis_prefix))
    assert done.returncode == 0, done.stderr
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(chart) as image:
        image.verify()
        assert image.format == "PNG" and image.size[0] >= 800


def test_a_time_zone_that_does_not_exist_is_a_configuration_error_naming_it() -> None:
    with pytest.raises(ConfigError, match="USAGE_TIMEZONE='Asia/Busan'"):
        load_settings(_env_file=None, usage_timezone="Asia/Busan")


def test_the_usage_chart_benchmark_still_runs(tmp_path: Any) -> None:
    done = run_module("bench.usage_chart", "--quick", "--output", str(tmp_path / "chart.png"), timeout=120)
    assert done.returncode == 0, done.stderr
    assert "total" in done.stdout and (tmp_path / "chart.png").read_bytes()[:4] == b"\x89PNG"


def test_usage_report_without_redis_says_where_usage_is_kept(sagemaker_thread: FakeSageMaker) -> None:
    done = run_bot("usage", env=cli_env(sagemaker_thread))
    assert done.returncode == 2 and "REDIS_URL" in done.stderr and "Traceback" not in done.stderr


async def test_answers_ending_at_once_are_each_counted_once(
    sagemaker: FakeSageMaker, redis_url: str, redis_prefix: str, redis_client: aioredis.Redis
) -> None:
    sagemaker.default = Reply("동시에 끝나는 답입니다.")
    engine = make_engine(sagemaker, redis_url, redis_prefix)
    asker = Asker("slack", "T0001", "U0001", "C0001")
    try:
        await asyncio.gather(*(engine.reply(ConversationKey("slack", ("thread", str(i))), "질문", asker=asker)
                               for i in range(30)))
    finally:
        await engine.aclose()
    people = await read_hash(redis_client, usage_hash(redis_prefix, SEOUL.day(time.time()), "people"))
    assert people["slack:T0001:U0001:answers"] == "30"
