"""Tokens, the signing secret and AWS keys never show in logs, error messages or replies.

One whole run of `python -m bot` (every configured adapter: Slack over Socket Mode and Discord)
with real-looking secrets, through a normal answer, a model error, a Slack 429, a call Discord
refuses and a SIGTERM; then everything it printed and everything it sent to Slack and Discord
is searched for each secret, and for any long piece of one.

boto3/botocore DEBUG logging is not covered: no setting turns it on (the bot logs at INFO when it
serves, at WARNING for terminal commands)."""

from __future__ import annotations

import asyncio
import json
import signal

from fakes.discord import FakeDiscord
from fakes.sagemaker import FakeSageMaker, Reply
from fakes.slack import FakeSlack
from tests.reliability.helpers import every_adapter_env
from tests.support import KOREAN
from tests.support import start_bot

SECRETS = {
    "SLACK_BOT_TOKEN": "xoxb-7182818284-5904523536028-q2W8eRtY6uI0oP4aS5dF7gH9",
    "SLACK_APP_TOKEN": "xapp-1-A0001-6283185307179-1f5e7a9c3b2d4e6f8a0b1c3d5e7f9a1b3c5d7e9f1a2b3c4d5e6f7a8b9c0d1e2f",
    "SLACK_SIGNING_SECRET": "8f14e45fceea167a5a36dedd4bea2543",
    "DISCORD_TOKEN": "MTE4NzQ5MjIwNDM1NjQ4NTEyMA.GhX2Ab.q9Zk4Vt7pLmN3sR8wY1cE6uJ0oI5aD2fH4gK7bQ",
    "AWS_ACCESS_KEY_ID": "AKIA5QXJ7ZRW3KD2HMTV",
    "AWS_SECRET_ACCESS_KEY": "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",
    "AWS_SESSION_TOKEN": (
        "IQoJb3JpZ2luX2VjEBAaCXVzLWVhc3QtMSJHMEUCIQD6m0Jx1Yk2cJ3bq7Xr5vT9pLwZ8nA4sE1dF6gH2iJ3kAIgV7bN9mQ1"
        "wR5tY8uI2oP4aS6dF0gH3jK7lZ9xC1vB5nMqgQIIuP//////////ARAAGgwxMjM0NTY3ODkwMTIiDKz3Yw8R"
    ),
}
PIECE = 12  # characters: any run this long from a secret counts as a leak


def leaked(secret: str, haystack: str) -> bool:
    return any(secret[i : i + PIECE] in haystack for i in range(len(secret) - PIECE + 1))


def answer_or_fail(body: dict) -> Reply | str:
    return Reply(fault="model_error") if "고장" in body["inputs"] else "정상적으로 답합니다."


async def test_a_full_run_never_shows_a_secret(sagemaker: FakeSageMaker, redis_url: str, redis_prefix: str) -> None:
    sagemaker.responder(answer_or_fail)
    slack = FakeSlack(
        bot_token=SECRETS["SLACK_BOT_TOKEN"], app_token=SECRETS["SLACK_APP_TOKEN"],
        signing_secret=SECRETS["SLACK_SIGNING_SECRET"],
    )  # fmt: skip
    async with slack, FakeDiscord(token=SECRETS["DISCORD_TOKEN"]) as discord:
        env = every_adapter_env(slack, discord, sagemaker, redis_url, redis_prefix)
        bot = await start_bot(env={**env, **SECRETS, "LLM_MAX_RETRIES": "0"})
        try:
            await slack.wait_socket_connected(timeout=30)
            await discord.wait_ready(timeout=30)

            # A normal answer.
            await slack.push_socket_event(slack.dm("안녕하세요"))
            await slack.wait_for(lambda: slack.messages("D0001") == ["정상적으로 답합니다."], timeout=10)
            # The endpoint fails with a ModelError (its message names the account and log group).
            failing = discord.interaction_create("ask", {"질문": "고장 난 질문"})
            await discord.dispatch("INTERACTION_CREATE", failing)
            await discord.wait_for(
                lambda: (discord.original_response(failing) or {}).get("content") == KOREAN("llm_model_error"), timeout=10
            )
            # Discord refuses the answer's message (403 Missing Permissions): logged with its traceback.
            discord.fail_next("POST /webhooks/*", status=403)
            refused = discord.interaction_create("ask", {"질문": "권한 없는 곳"})
            await discord.dispatch("INTERACTION_CREATE", refused)
            await discord.wait_for(lambda: any(r.status == 403 for r in discord.requests), timeout=10)
            # Slack answers 429 to the placeholder; the bot waits and posts again.
            slack.fail_next("chat.postMessage", retry_after=1)
            await slack.push_socket_event(slack.dm("한 번 더", user="U0002", channel="D0002"))
            await slack.wait_for(lambda: slack.messages("D0002") == ["정상적으로 답합니다."], timeout=10)
        finally:
            bot.send_signal(signal.SIGTERM)
            stdout, stderr = await asyncio.wait_for(bot.communicate(), 30)

    assert bot.returncode == 0, stderr.decode()
    logs = (stdout + stderr).decode()
    # The run really went through the paths whose logs matter (INFO and up are printed).
    paths = ("Slack bot running in socket mode", "llm_model_error", "Missing Permissions", "stopped by SIGTERM")
    for expected in paths:
        assert expected in logs, expected
    assert 429 in [call.status for call in slack.calls("chat.postMessage")]
    sent_to_slack = json.dumps([call.args for call in slack.api_calls], ensure_ascii=False)
    sent_to_discord = json.dumps(
        [[r.path, r.body.decode(errors="replace"), r.json, [f.data.decode(errors="replace") for f in r.files]]
         for r in discord.requests], ensure_ascii=False,
    )  # fmt: skip
    for name, secret in SECRETS.items():
        assert not leaked(secret, logs), f"{name} in the logs"
        assert not leaked(secret, sent_to_slack), f"{name} sent to Slack"
        assert not leaked(secret, sent_to_discord), f"{name} sent to Discord"
