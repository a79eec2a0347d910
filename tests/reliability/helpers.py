"""What the reliability tests share: reading what Redis holds for a conversation, and the
environment of a `python -m bot` serving every adapter."""

from __future__ import annotations

import json

import redis.asyncio as aioredis

from bot.core.conversation import ConversationKey
from fakes.discord import FakeDiscord
from fakes.sagemaker import FakeSageMaker
from fakes.slack import FakeSlack
from tests.discord_support import discord_env
from tests.slack_support import socket_mode_env


def history_key(redis_prefix: str, key: ConversationKey) -> str:
    """The Redis list holding `key`'s remembered exchanges (what RedisMemory writes)."""
    return f"{redis_prefix.rstrip(':')}:{key.id}:history"


async def stored_history(client: aioredis.Redis, redis_prefix: str, key: ConversationKey) -> list[dict[str, str]]:
    """`key`'s exchanges as Redis holds them, read with a raw client, oldest first."""
    return [json.loads(item) for item in await client.lrange(history_key(redis_prefix, key), 0, -1)]


def slack_thread(root: str, channel: str = "C0001", team: str = "T0001") -> ConversationKey:
    """The conversation of a Slack channel thread."""
    return ConversationKey("slack", (team, channel, root))


def slack_dm(user: str = "U0001", team: str = "T0001") -> ConversationKey:
    """The conversation of a user's Slack DM (its top level)."""
    return ConversationKey("slack", (team, "dm", user))


def every_adapter_env(
    slack: FakeSlack, discord: FakeDiscord, sagemaker: FakeSageMaker, redis_url: str, prefix: str
) -> dict[str, str]:
    """Environment for `python -m bot` serving Slack (Socket Mode) and Discord against the fakes."""
    slack_env = socket_mode_env(slack, sagemaker, redis_url, prefix)
    return {**slack_env, **discord_env(discord, sagemaker, redis_url, prefix)}
