"""What an operator sees of a serving bot (issue 18): JSON log lines with an answer's fields,
library debug output with every secret redacted, and /metrics, /healthz, /readyz on
METRICS_PORT moving as questions are answered."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import signal
from urllib.parse import quote

import aiohttp
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from bot.core.metrics import PLATFORM_CONNECTED  # and so every metric of the bot is registered
from bot.adapters.discord.client import route
from bot.config import Settings
from bot.logs import setup_logging
from bot.monitoring import readiness
from fakes.bedrock import LLAMA_TEXT, FakeBedrock
from fakes.discord import FakeDiscord
from fakes.redis_server import RedisServer, free_port
from fakes.sagemaker import FakeSageMaker, Reply
from fakes.slack import FakeSlack
from tests.discord_support import discord_env
from tests.slack_support import StartSlackBot, socket_mode_env
from tests.test_slack_files import PDF
from tests.support import ROOT, Logs, cli_env, start_bot, wait_until
from tests.test_workers import supervisor

# Credentials shaped like real ones, so the patterns and the URL-encoded forms are exercised.
AWS = {
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    "AWS_SESSION_TOKEN": "FwoGZXIvYXdzEBYaDHexampleSessionTokenValue+/=",
}
DISCORD_TOKEN = "MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs"


def leaked(secrets: list[str], output: str) -> list[str]:
    """The secrets found in `output`, as written or URL-encoded."""
    return [s for s in secrets for form in {s, quote(s, safe=""), quote(s, safe="").lower()} if form in output]


def signatures(headers: list[str]) -> list[str]:
    """The SigV4 signatures of requests the fake received (secret for their lifetime)."""
    return [m.group(1) for h in headers if (m := re.search(r"Signature=([0-9a-f]+)", h))]


async def scrape(port: int, path: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}{path}") as response:
        return response.status, await response.text()


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, frozenset(labels.items())), 0.0)


async def metrics_after(port: int, name: str, minimum: float, **labels: str) -> str:
    """/metrics once `name{labels}` has reached `minimum` (the answer's count lands after its text)."""
    text = ""

    async def reached() -> bool:
        nonlocal text
        _, text = await scrape(port, "/metrics")
        return value(text, name, **labels) >= minimum

    for _ in range(200):
        if await reached():
            return text
        await asyncio.sleep(0.05)
    raise AssertionError(f"{name}{labels} below {minimum}:\n{text}")


async def test_slack_socket_mode_logs_json_at_debug_without_secrets_and_metrics_move(
    sagemaker: FakeSageMaker, redis_url: str, redis_prefix: str
) -> None:
    sagemaker.script(Reply("소켓 모드 답입니다."))
    port = free_port()
    async with FakeSlack() as fake:
        env = {
            **socket_mode_env(fake, sagemaker, redis_url, redis_prefix), **AWS,
            "LOG_LEVEL": "DEBUG", "LOG_FORMAT": "json", "METRICS_PORT": str(port),
        }  # fmt: skip
        process = await start_bot("slack", env=env)
        logs = Logs(process)
        try:
            await logs.wait_for("Slack bot running in socket mode")
            status, ready = await scrape(port, "/readyz")
            assert status == 200 and json.loads(ready)["platforms"] == {"slack": "connected"}
            # Series of known labels exist at 0 before their first count, so rate() sees that count.
            _, before = await scrape(port, "/metrics")
            assert {("bot_answers_total", frozenset({("outcome", "ok")})),
                    ("bot_model_errors_total", frozenset({("type", "llm_busy")})),
                    ("bot_documents_total", frozenset({("format", "hwp"), ("outcome", "ok")})),
                    ("bot_platform_rate_limited_total", frozenset({("platform", "slack"), ("method", "chat.update")}))
                    } <= samples(before).keys()  # fmt: skip
            await fake.push_socket_event(fake.dm("잘 되니?"), timeout=20)
            await fake.wait_for(lambda: fake.messages("D0001") == ["소켓 모드 답입니다."], timeout=10)
            text = await metrics_after(port, "bot_answers_total", 1, outcome="ok")
        finally:
            process.send_signal(signal.SIGINT)
            output = await logs.finish()
    assert value(text, "bot_answer_seconds_count") == 1 and value(text, "bot_answer_first_text_seconds_count") == 1
    assert value(text, "bot_model_tokens_total", direction="in") > 0
    assert value(text, "bot_model_tokens_total", direction="out") > 0
    assert value(text, "bot_answers_in_flight") == 0 and value(text, "bot_redis_up") == 1

    lines = [json.loads(line) for line in output.splitlines() if line.strip()]  # every line is JSON
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    assert any(line["level"] == "DEBUG" and line["logger"].startswith("slack_sdk") for line in lines)
    answered = next(line for line in lines if line["message"] == "answered")
    assert answered["platform"] == "slack" and answered["team"] == fake.team_id and answered["outcome"] == "ok"
    assert re.fullmatch("[0-9a-f]{16}", answered["conversation"])  # a hash, not the channel's id
    assert answered["tokens_in"] > 0 and answered["tokens_out"] > 0 and answered["latency_seconds"] > 0

    secrets = [fake.bot_token, fake.app_token, *AWS.values()]
    sent = [request.headers.get("authorization", "") for request in sagemaker.requests]
    assert sent and not leaked(secrets + signatures(sent), output)


async def test_discord_debug_output_keeps_the_token_out_and_metrics_move(
    sagemaker: FakeSageMaker, redis_url: str, redis_prefix: str
) -> None:
    sagemaker.script(Reply("디스코드 답입니다."))
    port = free_port()
    async with FakeDiscord(token=DISCORD_TOKEN) as fake:
        env = {**discord_env(fake, sagemaker, redis_url, redis_prefix), **AWS, "LOG_LEVEL": "DEBUG",
               "METRICS_PORT": str(port)}  # fmt: skip
        process = await start_bot("discord", env=env)
        logs = Logs(process)
        try:
            await fake.wait_ready(timeout=20)
            interaction = fake.interaction_create("ask", {"질문": "잘 되니?"})
            await fake.dispatch("INTERACTION_CREATE", interaction)
            await fake.wait_for(
                lambda: (fake.original_response(interaction) or {}).get("content") == "디스코드 답입니다.", timeout=10
            )
            text = await metrics_after(port, "bot_answers_total", 1, outcome="ok")
            status, ready = await scrape(port, "/readyz")
        finally:
            process.send_signal(signal.SIGINT)
            output = await logs.finish()
    assert status == 200 and json.loads(ready)["platforms"] == {"discord": "connected"}
    assert value(text, "bot_answer_seconds_bucket", le="+Inf") == 1
    assert value(text, "bot_model_tokens_total", direction="out") > 0
    # Every route the answer called has its 429 series from the start, at 0 (rate() sees a first 429).
    called = {route(r.method, r.path) for r in fake.requests if "/interactions/" in r.path or "/webhooks/" in r.path}
    series = samples(text)
    assert called and all(series.get(("bot_platform_rate_limited_total", frozenset({("platform", "discord"), ("method", c)})))
                          == 0 for c in called), called
    assert "discord.gateway" in output and " DEBUG " in output  # the library's debug output is on
    sent = [request.headers.get("authorization", "") for request in sagemaker.requests]
    assert not leaked([DISCORD_TOKEN, *AWS.values()] + signatures(sent), output)


async def test_bedrock_debug_output_keeps_aws_credentials_and_signatures_out(sagemaker: FakeSageMaker) -> None:
    async with FakeBedrock() as bedrock:
        env = {**cli_env(sagemaker, LLM_PROVIDER="bedrock", BEDROCK_MODEL_ID=LLAMA_TEXT), **bedrock.env(), **AWS,
               "LOG_LEVEL": "DEBUG"}  # fmt: skip
        process = await start_bot("ask", "안녕?", env=env)
        stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    output = (stdout + stderr).decode()
    assert process.returncode == 0, output
    assert "botocore" in output  # botocore's debug output was on
    sent = [request.headers.get("authorization", "") for request in bedrock.requests]
    assert sent and not leaked([*AWS.values()] + signatures(sent), output)


async def test_readyz_says_redis_is_degraded_while_it_is_down(
    sagemaker: FakeSageMaker, fresh_redis_server: RedisServer, redis_prefix: str
) -> None:
    port = free_port()
    async with FakeDiscord(token=DISCORD_TOKEN) as fake:
        env = {**discord_env(fake, sagemaker, fresh_redis_server.url, redis_prefix), "METRICS_PORT": str(port)}
        process = await start_bot("discord", env=env)
        logs = Logs(process)
        try:
            await fake.wait_ready(timeout=20)
            assert json.loads((await scrape(port, "/readyz"))[1])["redis"] == "ok"
            fresh_redis_server.stop()
            await logs.wait_for("Redis unreachable")
            status, ready = await scrape(port, "/readyz")
            assert status == 200 and json.loads(ready)["redis"] == "degraded"  # answers go on, without memory
            _, text = await scrape(port, "/metrics")
            assert value(text, "bot_redis_up") == 0
            status, alive = await scrape(port, "/healthz")
            assert status == 200 and json.loads(alive) == {"ok": True}
        finally:
            process.send_signal(signal.SIGINT)
            await logs.finish()


def test_the_grafana_dashboard_shows_only_and_every_metric_the_bot_exports() -> None:
    dashboard = json.loads((ROOT / "deploy/grafana/bot-dashboard.json").read_text(encoding="utf-8"))
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    used = {name for expr in exprs for name in re.findall(r"\b(bot_[a-z0-9_]+)\b", expr)}
    exported = {  # sample name → metric name, for each metric the bot registers
        name: family.name
        for family in REGISTRY.collect()
        if family.name.startswith("bot_")
        for name in _sample_names(family.name, family.type)
    }
    assert used and used <= exported.keys(), used - exported.keys()
    assert {exported[name] for name in used} == set(exported.values())


def _sample_names(name: str, kind: str) -> list[str]:
    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"], "gauge": [""]}[kind]
    return [name + suffix for suffix in suffixes]


async def test_one_scrape_of_the_supervisor_covers_every_worker(
    sagemaker: FakeSageMaker, redis_url: str, redis_prefix: str
) -> None:
    sagemaker.default = Reply("두 워커가 답합니다.")
    port = free_port()
    async with FakeSlack() as fake:
        env = {**socket_mode_env(fake, sagemaker, redis_url, redis_prefix), "METRICS_PORT": str(port)}
        async with supervisor("slack", env=env) as bot:
            await fake.wait_for(lambda: fake.open_sockets == 2, timeout=20, what="two Socket Mode connections")
            for connection in (0, 1):  # one question down each worker's connection
                dm = fake.dm("답해 줘", user=f"U000{connection}", channel=f"D000{connection}")
                await fake.wait_ack(await fake.push_socket_event(dm, connection=connection))
            text = await metrics_after(port, "bot_answers_total", 2, outcome="ok")
            status, ready = await scrape(port, "/readyz")
            bot.process.send_signal(signal.SIGTERM)
            await bot.output()
    assert value(text, "bot_answer_seconds_count") == 2
    assert value(text, "bot_platform_connected", platform="slack") == 1
    assert status == 200 and json.loads(ready)["platforms"] == {"slack": "connected"}


async def test_a_throttled_model_a_slack_429_and_a_document_are_counted(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker
) -> None:
    before = counts()
    fake_slack.streaming_supported = False  # answers grow by chat.update
    fake_slack.fail_next("chat.update", retry_after=1)
    sagemaker.script(Reply(fault="throttle"), Reply("천천히 답합니다."), "**요약**: 보고서입니다.")
    async with slack_bot() as bot:
        await bot.send(fake_slack.dm("잘 되니?"))
        await bot.answered("D0001")
        await bot.send(fake_slack.dm("", files=[fake_slack.add_file(PDF, "보고서.pdf", "application/pdf", "pdf")]))
        await bot.answered("D0001", count=2, timeout=20)
    assert [c.status for c in fake_slack.calls("chat.update")].count(429) == 1
    after = counts()
    assert {name: after[name] - before[name] for name in after} == {
        "busy": 1, "429": 1, "pdf": 1, "answered": 2,
    }


def counts() -> dict[str, float]:
    """What /metrics would show of this process's throttled calls, 429s, PDFs and answers."""
    def sample(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    return {
        "busy": sample("bot_model_errors_total", type="llm_busy"),
        "429": sample("bot_platform_rate_limited_total", platform="slack", method="chat.update"),
        "pdf": sample("bot_documents_total", format="pdf", outcome="ok"),
        "answered": sample("bot_answers_total", outcome="ok"),
    }


def test_secrets_a_library_logs_are_hidden_as_written_and_url_encoded_and_other_words_kept(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, secret in AWS.items():
        monkeypatch.setenv(name, secret)
    settings = Settings(_env_file=None, slack_bot_token="xoxb-1-configured-token", log_level="DEBUG")
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    setup_logging(settings)
    library = logging.getLogger("urllib3.connectionpool")
    try:
        library.debug("GET /?key=%s&token=%s", quote(AWS["AWS_SECRET_ACCESS_KEY"], safe=""), "xoxb-1-configured-token")
        library.debug("headers: {'Authorization': 'Bearer sk-unconfigured-0123456789abcdef'}")
        library.debug("the bot answered; Bearer tokens are checked by Slack")
    finally:
        root.handlers[:], root.level = handlers, level
    output = capfd.readouterr().err
    assert not leaked([*AWS.values(), "xoxb-1-configured-token", "sk-unconfigured-0123456789abcdef"], output)
    assert output.count("[REDACTED]") == 3
    assert "the bot answered; Bearer tokens are checked by Slack" in output


@pytest.fixture
def only_this_bot() -> None:
    """Readiness in this process as if it served only the bot the test starts: platforms that
    in-process bots of earlier tests connected (each as a real process would) are forgotten."""
    PLATFORM_CONNECTED.clear()


@pytest.mark.usefixtures("only_this_bot")
async def test_readyz_follows_the_socket_mode_connection_while_slack_refuses_a_new_one(
    slack_bot: StartSlackBot, fake_slack: FakeSlack
) -> None:
    def ready() -> bool:
        return readiness(REGISTRY)["ready"]

    async with slack_bot(mode="socket"):
        await wait_until(ready, timeout=5)
        fake_slack.fail_next("apps.connections.open", "internal_error", times=2)
        await fake_slack.drop_sockets()
        await wait_until(lambda: not ready(), timeout=10)
        await wait_until(ready, timeout=30)  # slack_sdk got a connection on its third try
    assert len(fake_slack.calls("apps.connections.open")) >= 4
    assert not ready()  # stopped


@pytest.mark.usefixtures("only_this_bot")
async def test_slack_http_mode_answers_readyz_on_its_own_port(slack_bot: StartSlackBot) -> None:
    async with slack_bot() as bot, aiohttp.ClientSession() as session:
        async with session.get(f"{bot.service.url}/readyz") as response:
            assert response.status == 200
            assert (await response.json())["platforms"]["slack"] == "connected"


async def test_a_metrics_port_in_use_stops_the_bot_naming_the_setting(
    sagemaker: FakeSageMaker, redis_url: str, redis_prefix: str
) -> None:
    async with FakeDiscord(token=DISCORD_TOKEN) as fake:
        taken = await asyncio.start_server(lambda r, w: None, "0.0.0.0", 0)
        port = taken.sockets[0].getsockname()[1]
        try:
            env = {**discord_env(fake, sagemaker, redis_url, redis_prefix), "METRICS_PORT": str(port)}
            process = await start_bot("discord", env=env)
            _, stderr = await asyncio.wait_for(process.communicate(), 30)
        finally:
            taken.close()
    assert process.returncode == 2
    assert f"METRICS_PORT={port}" in stderr.decode() and "Traceback" not in stderr.decode()
