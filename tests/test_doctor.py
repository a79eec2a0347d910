"""`python -m bot doctor` tries every configured part for real and says, for each failure, what
to change in Korean and English; start-up stops on a Redis the bot could never use."""

from __future__ import annotations

import asyncio
import subprocess

import pytest
import redis

from fakes.discord import FakeDiscord
from fakes.redis_server import RedisServer
from fakes.sagemaker import FakeSageMaker, Reply
from fakes.slack import FakeSlack
from tests.support import ENDPOINT, cli_env, run_bot


def _block(stdout: str, name: str) -> list[str]:
    """The lines doctor printed for the check `name`: its own, then its fix lines."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(("[OK  ] ", "[FAIL] ")) and f"] {name}:" in line)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("[")), len(lines))
    return lines[start:end]


def _korean(line: str) -> bool:
    return any("\uac00" <= char <= "\ud7a3" for char in line)


def _has_fix_in_both_languages(block: list[str]) -> bool:
    fixes = [line for line in block[1:] if line.lstrip().startswith("→")]
    return len(fixes) == 2 and _korean(fixes[0]) and not _korean(fixes[1])


def test_a_wrong_endpoint_name_shows_aws_own_message(sagemaker_thread):
    sagemaker_thread.known_endpoints = {"the-real-endpoint"}
    result = run_bot("doctor", env=cli_env(sagemaker_thread, SAGEMAKER_ENDPOINT_NAME="wrong-name"))
    assert result.returncode == 1
    block = _block(result.stdout, "LLM endpoint")
    assert block[0].startswith("[FAIL]")
    assert "ValidationError: Endpoint wrong-name of account 123456789012 not found." in block[0]
    assert _has_fix_in_both_languages(block) and "SAGEMAKER_ENDPOINT_NAME" in block[2]


def test_missing_aws_credentials_name_where_to_put_them(sagemaker_thread):
    env = {k: v for k, v in cli_env(sagemaker_thread).items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    result = run_bot("doctor", env=env)
    block = _block(result.stdout, "LLM endpoint")
    assert block[0].startswith("[FAIL]") and "LLMNoCredentials" in block[0]
    assert _has_fix_in_both_languages(block) and "AWS_ACCESS_KEY_ID" in block[2] and ".env" in block[2]
    assert sagemaker_thread.requests == []


# ------------------------------------------------------------------------------------ Redis

@pytest.fixture
def password_redis(fresh_redis_server: RedisServer) -> str:
    """The URL (without password) of a Redis that requires the password "s3cret"."""
    redis.Redis.from_url(fresh_redis_server.url).config_set("requirepass", "s3cret")
    return fresh_redis_server.url


def test_a_wrong_redis_password_is_an_authentication_failure(sagemaker_thread, password_redis):
    wrong = password_redis.replace("redis://", "redis://:wrong-password@")
    result = run_bot("doctor", env=cli_env(sagemaker_thread, REDIS_URL=wrong))
    block = _block(result.stdout, "Redis")
    assert block[0].startswith("[FAIL] Redis: authentication failed at redis://:****@")
    assert _has_fix_in_both_languages(block) and "REDIS_URL" in block[2]
    assert "wrong-password" not in result.stdout


def test_a_wrong_redis_password_stops_ask_with_one_line(sagemaker_thread, password_redis):
    wrong = password_redis.replace("redis://", "redis://:wrong-password@")
    result = run_bot("ask", "질문", env=cli_env(sagemaker_thread, REDIS_URL=wrong))
    assert result.returncode == 2
    assert "authentication failed" in result.stderr and "Traceback" not in result.stderr
    assert sagemaker_thread.requests == []


def test_a_redis_url_without_scheme_is_named_with_its_value(sagemaker_thread):
    result = run_bot("ask", "질문", env=cli_env(sagemaker_thread, REDIS_URL="localhost:6379"))
    assert result.returncode == 2
    assert "REDIS_URL='localhost:6379': needs a scheme" in result.stderr and "Traceback" not in result.stderr


def test_a_redis_url_at_another_service_says_so(sagemaker_thread):
    # The fake SageMaker is an HTTP server: what answers there is not Redis.
    not_redis = sagemaker_thread.url.replace("http://", "redis://") + "/0"
    result = run_bot("ask", "질문", env=cli_env(sagemaker_thread, REDIS_URL=not_redis))
    assert result.returncode == 2
    assert "not as Redis does" in result.stderr and "InvalidResponse" in result.stderr
    assert "Traceback" not in result.stderr


def test_redis_over_tls_is_checked_with_its_certificate(sagemaker_thread, tls_redis):
    unverified = run_bot("doctor", env=cli_env(sagemaker_thread, REDIS_URL=tls_redis.url))
    block = _block(unverified.stdout, "Redis")
    assert block[0].startswith("[FAIL] Redis: TLS failed") and "CERTIFICATE_VERIFY_FAILED" in block[0]
    assert _has_fix_in_both_languages(block) and "REDIS_CA_FILE" in block[2]

    ca = str(tls_redis.tls.cert)
    verified = run_bot("doctor", env=cli_env(sagemaker_thread, REDIS_URL=tls_redis.url, REDIS_CA_FILE=ca))
    assert _block(verified.stdout, "Redis")[0].startswith("[OK  ] Redis:")


# -------------------------------------------------------------------------------- Platforms

async def _doctor(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # The fakes answer on this test's loop: the blocking run waits in a thread.
    return await asyncio.to_thread(run_bot, "doctor", env=env)


async def test_platform_tokens_are_checked_against_the_platforms(sagemaker: FakeSageMaker, redis_url: str) -> None:
    sagemaker.script(Reply("pong"))
    async with FakeSlack() as slack, FakeDiscord(token="the-discord-token") as discord:
        env = cli_env(
            sagemaker, REDIS_URL=redis_url, SLACK_BOT_TOKEN=slack.bot_token, SLACK_APP_TOKEN=slack.app_token,
            SLACK_API_URL=slack.api_url, DISCORD_TOKEN="the-discord-token", DISCORD_API_URL=discord.api_url,
        )  # fmt: skip
        result = await _doctor(env)
        assert [call.token for call in slack.calls("auth.test")] == [slack.bot_token]
        assert [call.token for call in slack.calls("apps.connections.open")] == [slack.app_token]
        assert len(discord.requests_to("GET */users/@me")) == 1
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("Slack bot token", "Slack app token", "Discord token"):
        assert _block(result.stdout, name)[0].startswith("[OK  ]"), result.stdout


async def test_wrong_platform_tokens_fail_with_what_to_do(sagemaker: FakeSageMaker, redis_url: str) -> None:
    sagemaker.script(Reply("pong"))
    async with FakeSlack() as slack, FakeDiscord(token="the-discord-token") as discord:
        env = cli_env(
            sagemaker, REDIS_URL=redis_url, SLACK_BOT_TOKEN="not-a-token", SLACK_APP_TOKEN=slack.bot_token,
            SLACK_API_URL=slack.api_url, DISCORD_TOKEN="abc", DISCORD_API_URL=discord.api_url,
        )  # fmt: skip
        result = await _doctor(env)
    assert result.returncode == 1
    expected = {
        "Slack bot token": ("SLACK_BOT_TOKEN (invalid_auth)", "xoxb-"),
        "Slack app token": ("SLACK_APP_TOKEN (not_allowed_token_type)", "connections:write"),
        "Discord token": ("DISCORD_TOKEN was refused", "Reset Token"),
    }
    for name, (problem, fix) in expected.items():
        block = _block(result.stdout, name)
        assert block[0].startswith("[FAIL]") and problem in block[0], result.stdout
        assert _has_fix_in_both_languages(block) and fix in block[2]
    assert "not-a-token" not in result.stdout
    assert _block(result.stdout, "LLM endpoint")[0].startswith("[OK  ]") and ENDPOINT in result.stdout
