"""`python -m bot discord` end to end, and start-up failures that must name what to fix."""

from __future__ import annotations

import asyncio
import signal

import pytest

from bot.adapters.discord import serve
from bot.core.errors import ConfigError
from fakes.discord import FakeDiscord
from fakes.sagemaker import FakeSageMaker, Reply
from tests.support import cli_env, make_engine, start_bot


async def test_python_m_bot_discord_runs_against_the_configured_servers(
    sagemaker: FakeSageMaker, redis_url: str, redis_prefix: str
) -> None:
    sagemaker.script(Reply("터미널 밖에서도 잘 답합니다."))
    async with FakeDiscord(token="secret-bot-token-1234") as fake:
        env = cli_env(
            sagemaker, DISCORD_TOKEN=fake.token or "", DISCORD_GUILD_ID=str(fake.guild_id),
            DISCORD_API_URL=fake.api_url, DISCORD_GATEWAY_URL=fake.gateway_url, REDIS_URL=redis_url,
            REDIS_KEY_PREFIX=redis_prefix.rstrip(":"),
        )
        process = await start_bot("discord", env=env)
        try:
            await fake.wait_ready(timeout=20)
            assert {c["name"] for c in fake.commands[fake.guild_id]} == {
                "ask", "summarize", "reset", "usage", "help", "봇설정", "요약하기", "번역하기"}
            interaction = fake.interaction_create("ask", {"질문": "잘 되니?"})
            await fake.dispatch("INTERACTION_CREATE", interaction)
            await fake.wait_for(
                lambda: (fake.original_response(interaction) or {}).get("content") == "터미널 밖에서도 잘 답합니다.",
                timeout=10,
            )
        finally:
            process.send_signal(signal.SIGINT)
            stdout, stderr = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 130
    assert b"Shard ID None has connected to Gateway" in stderr  # INFO logging is on
    assert fake.token.encode() not in stdout + stderr


@pytest.mark.parametrize(
    ("fake_options", "token", "names"),
    [
        ({"token": "the-real-token"}, "a-wrong-token", "DISCORD_TOKEN"),
        ({"privileged_intents": False}, "fake-bot-token", "DISCORD_LISTEN_MESSAGES"),
    ],
)
async def test_a_refused_token_or_intent_is_a_configuration_error(
    sagemaker: FakeSageMaker, redis_url: str, redis_prefix: str, fake_options: dict, token: str, names: str
) -> None:
    async with FakeDiscord(**fake_options) as fake:
        engine = make_engine(
            sagemaker, redis_url, redis_prefix, discord_token=token,
            discord_api_url=fake.api_url, discord_gateway_url=fake.gateway_url,
        )
        with fake.patched():  # restores discord.py's endpoints after serve() has set them
            with pytest.raises(ConfigError, match=names):
                await asyncio.wait_for(serve(engine.settings, engine), 10)
        await engine.aclose()
