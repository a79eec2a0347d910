"""Redis as teams run it, each a real server started on loopback, driven through the Slack bot:
a Redis Cluster of three masters (ElastiCache/MemoryDB cluster mode, Valkey), a master found
through Sentinel and followed through a failover, and TLS with an ACL user."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from redis.cluster import RedisCluster

from bot.config import load_settings
from bot.core.conversation import ConversationKey
from bot.core.errors import ConfigError
from fakes.redis_server import SENTINEL_MASTER, RedisClusterServers, RedisSentinelSet, RedisServer
from fakes.sagemaker import FakeSageMaker, Reply
from fakes.slack import FakeSlack
from tests.reliability.helpers import history_key, slack_dm, slack_thread
from tests.slack_support import StartSlackBot, streaming
from tests.support import KOREAN, cli_env, prompts, run_bot

POLITE = KOREAN("rate_limited")
LONG = "천천히 이어지는 긴 답변의 한 문장입니다. " * 30


def _history(client: RedisCluster, prefix: str, key: ConversationKey) -> list[dict[str, str]]:
    return [json.loads(item) for item in client.lrange(history_key(prefix, key), 0, -1)]


async def test_on_a_cluster_conversations_spread_over_masters_keep_memory_order_and_answer_once(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker, redis_cluster: RedisClusterServers,
    redis_prefix: str
) -> None:
    channels = [f"C000{n}" for n in range(1, 7)]

    def answer(body: dict[str, str]) -> Reply:  # "첫 질문 C0002" → "첫 답변 C0002"
        question = body["inputs"].rsplit("user<|end_header_id|>\n\n", 1)[1].split("<|")[0]
        # The first answer is slow: its follow-up, sent to the other replica meanwhile, waits
        # for it (turn order across replicas, through the cluster).
        return Reply(question.replace("질문", "답변"), first_token_delay=0.8 if question == "첫 질문 C0001" else 0)

    sagemaker.responder(answer)
    cluster = {"redis_url": redis_cluster.url, "redis_cluster": True}
    async with slack_bot(**cluster) as first, slack_bot(mode="socket", **cluster) as second:
        roots = {}
        for channel in channels:
            mention = fake_slack.mention(f"첫 질문 {channel}", channel=channel)
            roots[channel] = mention["event"]["ts"]
            await first.send(mention)
            if channel == "C0001":
                await fake_slack.wait_for(lambda: len(sagemaker.requests) == 1, what="the slow answer under way")
                await second.send(mention, retry_attempt=1, retry_reason="timeout")  # the same event again
        for channel in channels:
            await second.send(fake_slack.thread_message(f"둘째 질문 {channel}", roots[channel], channel=channel))
        for channel in channels:
            await first.answered(channel, roots[channel], count=2, timeout=20)
            await second.answered(channel, roots[channel], count=2, timeout=20)

    for channel in channels:  # each answered once, in order, the second seeing the first
        assert fake_slack.messages(channel, roots[channel]) == [f"첫 답변 {channel}", f"둘째 답변 {channel}"]
    assert len(sagemaker.requests) == 2 * len(channels)
    assert all(f"첫 답변 {c}" in p for p in prompts(sagemaker) for c in channels if f"둘째 질문 {c}" in p)
    prefix = redis_prefix.rstrip(":")
    with RedisCluster.from_url(redis_cluster.url, decode_responses=True) as client:
        keys = {channel: history_key(redis_prefix, slack_thread(roots[channel], channel)) for channel in channels}
        for channel, key in keys.items():
            stored = _history(client, redis_prefix, slack_thread(roots[channel], channel))
            assert [e["user"] for e in stored] == [f"첫 질문 {channel}", f"둘째 질문 {channel}"]
        # The conversations live on more than one master: the scripts ran across slots.
        assert len({client.get_node_from_key(key).name for key in keys.values()}) > 1
        # The durable jobs went through their stream and are done; Slack's call budgets were
        # counted in the cluster.
        assert client.xlen(f"{prefix}:{{jobs:slack}}") == 0
        assert list(client.scan_iter(match=f"{prefix}:quota:*", target_nodes=RedisCluster.ALL_NODES))


async def test_on_a_cluster_a_users_rate_limit_holds(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker, redis_cluster: RedisClusterServers
) -> None:
    sagemaker.default = Reply("답변입니다.")
    async with slack_bot(redis_url=redis_cluster.url, redis_cluster=True, user_rate_limit_per_minute=2) as bot:
        for i in range(3):
            await bot.send(fake_slack.dm(f"질문 {i}", user="U0009", channel="D0009"))
        replies = await bot.answered("D0009", count=3, timeout=15)
    assert sorted(replies) == sorted(["답변입니다.", "답변입니다.", POLITE])
    assert len(sagemaker.requests) == 2


async def test_through_sentinel_memory_is_kept_and_answers_go_on_after_a_failover(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker,
    redis_sentinel_set: RedisSentinelSet, redis_prefix: str
) -> None:
    sagemaker.script("서울입니다.", "부산입니다.")
    servers = redis_sentinel_set
    sentinel = {
        # The URL's host is not used: the Sentinel names the master.
        "redis_url": f"redis://:{servers.password}@master-named-by-sentinel:6379/0",
        "redis_sentinels": (servers.address,), "redis_sentinel_master": SENTINEL_MASTER,
        "redis_sentinel_password": servers.sentinel_password,
    }  # fmt: skip
    async with slack_bot(**sentinel) as bot:
        await bot.send(fake_slack.dm("한국의 수도는?"))
        assert await bot.answered("D0001") == ["서울입니다."]

        await asyncio.to_thread(servers.fail_over)
        assert servers.master_port() == servers.replica.port

        await bot.send(fake_slack.dm("제2의 도시는?"))
        assert await bot.answered("D0001", count=2, timeout=20) == ["서울입니다.", "부산입니다."]

    assert "서울입니다." in prompts(sagemaker)[1]
    with servers.replica.client() as promoted:
        stored = [json.loads(item) for item in promoted.lrange(history_key(redis_prefix, slack_dm()), 0, -1)]
    assert [e["assistant"] for e in stored] == ["서울입니다.", "부산입니다."]


async def test_over_tls_with_an_acl_user_memory_is_kept(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker, tls_redis: RedisServer,
    redis_prefix: str
) -> None:
    with tls_redis.client() as admin:
        admin.acl_setuser("chatbot", enabled=True, passwords=["+s3cret pass"], keys=["~*"], channels=["*"],
                          commands=["+@all"])  # fmt: skip
        admin.acl_setuser("default", enabled=False)
    url = tls_redis.url.replace("rediss://", "rediss://chatbot:s3cret%20pass@")
    sagemaker.script("서울입니다.", "부산입니다.")
    async with slack_bot(redis_url=url, redis_ca_file=tls_redis.tls.cert) as bot:
        await bot.send(fake_slack.dm("한국의 수도는?"))
        await bot.answered("D0001")
        await bot.send(fake_slack.dm("제2의 도시는?"))
        assert await bot.answered("D0001", count=2) == ["서울입니다.", "부산입니다."]
    assert "서울입니다." in prompts(sagemaker)[1]


async def _stopped_through_the_other_replica(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker, redis: dict[str, Any],
    meanwhile: Callable[[], Awaitable[object]] | None = None,
) -> str:
    """Two replicas; the answer streams on one (`meanwhile` happens), Slack's stop reaches the
    other: the answer's text."""
    sagemaker.script(Reply(LONG, token_delay=0.05))
    async with slack_bot(**redis) as first, slack_bot(mode="socket", **redis) as second:
        mention = fake_slack.mention("긴 글을 써 줘")
        root = mention["event"]["ts"]
        await first.send(mention)
        await fake_slack.wait_for(lambda: streaming(fake_slack, "C0001", root), 15, what="the answer streaming")
        writer, other = (first, second) if first.service.bot.jobs else (second, first)
        assert writer.service.bot.jobs and not other.service.bot.jobs
        if meanwhile is not None:
            await meanwhile()
        await other.send(fake_slack.agent_session_stopped("C0001", root))
        await fake_slack.wait_for(lambda: sagemaker.closed_by_client == 1, 5, what="the model's stream closed")
        (text,) = await writer.answered("C0001", root)
    return text


@pytest.mark.parametrize("mode", ["cluster", "sentinel, through a failover", "TLS", "ACL user without pub/sub"])
async def test_a_stop_reaches_the_answer_on_another_replica_in_every_redis_mode(
    slack_bot: StartSlackBot, fake_slack: FakeSlack, sagemaker: FakeSageMaker, mode: str,
    request: pytest.FixtureRequest
) -> None:
    # Stops travel by pub/sub (one subscription per process, made again after a failover); a
    # user whose ACL refuses pub/sub gets them by one batched poll per process instead.
    meanwhile = None
    if mode == "cluster":
        redis: dict[str, Any] = {"redis_url": request.getfixturevalue("redis_cluster").url, "redis_cluster": True}
    elif mode.startswith("sentinel"):
        servers = request.getfixturevalue("redis_sentinel_set")
        redis = {
            "redis_url": f"redis://:{servers.password}@master-named-by-sentinel:6379/0",
            "redis_sentinels": (servers.address,), "redis_sentinel_master": SENTINEL_MASTER,
            "redis_sentinel_password": servers.sentinel_password,
        }  # fmt: skip
        meanwhile = lambda: asyncio.to_thread(servers.fail_over)  # noqa: E731  (the subscription is cut)
    else:
        tls = request.getfixturevalue("tls_redis")
        with tls.client() as admin:
            channels = ["*"] if mode == "TLS" else []  # none: SUBSCRIBE and PUBLISH answer NOPERM
            admin.acl_setuser("chatbot", enabled=True, passwords=["+pw"], keys=["~*"], channels=channels,
                              commands=["+@all"], reset_channels=True)  # fmt: skip
        redis = {"redis_url": tls.url.replace("rediss://", "rediss://chatbot:pw@"), "redis_ca_file": tls.tls.cert}
    text = await _stopped_through_the_other_replica(slack_bot, fake_slack, sagemaker, redis, meanwhile)
    shown, _, note = text.rpartition("\n\n")
    assert note == KOREAN("answer_stopped") and shown.startswith("천천히") and len(shown) < len(LONG.strip())


def test_a_cluster_node_given_without_redis_cluster_stops_the_start_naming_the_setting(
    sagemaker_thread: FakeSageMaker, redis_cluster: RedisClusterServers
) -> None:
    result = run_bot("ask", "질문", env=cli_env(sagemaker_thread, REDIS_URL=redis_cluster.url))
    assert result.returncode == 2
    assert "REDIS_CLUSTER" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"REDIS_SENTINELS": "10.0.0.5:26379,10.0.0.6:26379"}, "REDIS_SENTINEL_MASTER"),
        ({"REDIS_SENTINELS": "10.0.0.5", "REDIS_SENTINEL_MASTER": "mymaster"}, "host:port"),
        ({"REDIS_CLUSTER": "true", "REDIS_URL": "redis://:s3cret@node:6379/2"}, "database 0"),
    ],
)
def test_a_redis_mode_set_half_way_is_refused_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: str
) -> None:
    for name, value in {"REDIS_URL": "redis://:s3cret@unused:6379/0", **env}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=named) as refused:
        load_settings(_env_file=None)
    assert "s3cret" not in str(refused.value)


def test_doctor_finds_the_master_through_the_sentinels_named_in_the_environment(
    sagemaker_thread: FakeSageMaker, redis_sentinel_set: RedisSentinelSet
) -> None:
    servers = redis_sentinel_set
    env = cli_env(
        sagemaker_thread, REDIS_URL=f"redis://:{servers.password}@unused/0", REDIS_SENTINELS=f"{servers.address}, ",
        REDIS_SENTINEL_MASTER=SENTINEL_MASTER, REDIS_SENTINEL_PASSWORD=servers.sentinel_password,
    )  # fmt: skip
    checked = run_bot("doctor", env=env)
    [line] = [line for line in checked.stdout.splitlines() if "] Redis:" in line]
    assert line.startswith("[OK  ] Redis: master 'mymaster' of the sentinels") and "answers PING" in line
    assert servers.password not in checked.stdout + checked.stderr

    wrong = run_bot("doctor", env={**env, "REDIS_SENTINEL_PASSWORD": "not-it"})
    [line] = [line for line in wrong.stdout.splitlines() if "] Redis:" in line]
    assert line.startswith("[FAIL] Redis: the sentinels") and "refused the password" in line
    assert "REDIS_SENTINEL_PASSWORD" in wrong.stdout and "not-it" not in wrong.stdout + wrong.stderr
