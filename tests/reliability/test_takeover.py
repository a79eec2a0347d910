"""A replica killed mid-answer (SIGKILL: no drain, no goodbye) loses nothing it had accepted: the
other replica takes its questions over within the takeover time, closes the streams and messages
it left open with a note, and answers each question once, in each conversation's order; on Slack
and on Discord (slash commands answered through the interaction's token, mentions as replies)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from fakes.discord import JSON, LOADING, FakeDiscord, running_fake_discord
from fakes.sagemaker import FakeSageMaker, Reply
from fakes.slack import FakeSlack
from tests.reliability.helpers import (
    answer_to, busiest, jobs_held, last_question, replicas, roomy_workspace, seen_in_slack, settled, streamed,
    under_way,
)
from tests.discord_support import buttons, discord_env
from tests.slack_support import socket_mode_env
from tests.support import KOREAN

THREADS = 6
FAST_TAKEOVER = {"JOB_TAKEOVER_SECONDS": "1"}


def answering(body: dict[str, Any]) -> Reply:
    """First questions stream for a few seconds (in flight at the kill); the others are quick."""
    question = last_question(body)
    return streamed(answer_to(question), 3.0 if question.endswith("-1") else 0.2)


async def test_a_killed_replica_leaves_no_question_lost_doubled_or_open(
    sagemaker: FakeSageMaker, redis_url: str, redis_prefix: str
) -> None:
    sagemaker.responder(answering)
    async with FakeSlack() as fake:
        env = {**socket_mode_env(fake, sagemaker, redis_url, redis_prefix), **FAST_TAKEOVER, **roomy_workspace(fake)}
        async with replicas(2, "slack", env=env, ready=lambda: fake.open_sockets == 2) as bots:
            roots = []
            for i in range(THREADS):  # each replica's connection gets half the first questions
                asked = fake.mention(f"질문 {i}-1")
                roots.append(asked["event"]["ts"])
                await fake.wait_ack(await fake.push_socket_event(asked, connection=i % 2))
            await fake.wait_for(
                lambda: sum(m.stream_state == "streaming" for m in fake.message_records("C0001")) == THREADS,
                timeout=15, what="every first answer streaming",
            )  # fmt: skip
            for i, root in enumerate(roots):  # follow-ups, each queued behind its thread's answer
                follow_up = fake.mention(f"질문 {i}-2", thread_ts=root)
                await fake.wait_ack(await fake.push_socket_event(follow_up, connection=(i + 1) % 2))
            victim = await busiest(bots, redis_url, redis_prefix, "slack")
            victim.kill()
            [survivor] = [bot for bot in bots if bot is not victim]

            asked = [f"질문 {i}-{n}" for i in range(THREADS) for n in (1, 2)]
            await settled(fake, "C0001", asked, timeout=30, bots=[survivor])
            for i, root in enumerate(roots):  # and every conversation goes on
                later = fake.mention(f"질문 {i}-3", thread_ts=root)
                await fake.wait_ack(await fake.push_socket_event(later, connection=0))
            asked += [f"질문 {i}-3" for i in range(THREADS)]
            await fake.wait_for(lambda: not seen_in_slack(fake, "C0001", asked).lost, timeout=20, what="later answers")
            await survivor.stop()

    seen = seen_in_slack(fake, "C0001", asked)
    assert (seen.lost, seen.doubled, seen.unfinished) == ([], [], [])
    # The streams the killed replica left were closed with the note, after what they had shown.
    closed = [m.text for m in fake.message_records("C0001") if KOREAN("taken_over") in m.text]
    assert closed and all(text.endswith(KOREAN("taken_over")) for text in closed), closed
    # Each conversation in its order: every follow-up's prompt held its thread's first answer.
    for i in range(THREADS):
        follow_ups = [r.json["inputs"] for r in sagemaker.requests if last_question(r.json) == f"질문 {i}-2"]
        assert follow_ups and all(answer_to(f"질문 {i}-1") in p for p in follow_ups), (i, follow_ups)


@pytest.mark.parametrize("cluster", [False, True], ids=["one Redis", "Redis Cluster"])
async def test_an_answer_written_in_full_when_its_replica_died_is_finished_not_asked_again(
    sagemaker: FakeSageMaker, redis_url: str, redis_prefix: str, cluster: bool, request: pytest.FixtureRequest
) -> None:
    # The replica has the whole answer (in memory, most of it shown) when it dies, its last call
    # (the stream's end) still on the way to Slack: the other one ends the stream, nothing more.
    # On a cluster too, where the answer kept (in its conversation's slot) and the job (in the
    # stream's) are on different masters.
    if cluster:
        redis_url = request.getfixturevalue("redis_cluster").url
    sagemaker.responder(lambda body: streamed(answer_to(last_question(body)), 0.5))
    async with FakeSlack() as fake:
        env = {**socket_mode_env(fake, sagemaker, redis_url, redis_prefix), **FAST_TAKEOVER, **roomy_workspace(fake),
               "REDIS_CLUSTER": str(cluster).lower()}  # fmt: skip
        async with replicas(2, "slack", env=env, ready=lambda: fake.open_sockets == 2) as bots:
            fake.delay_next("chat.stopStream", 30)
            await fake.wait_ack(await fake.push_socket_event(fake.mention("끝까지 쓴 질문")))
            await fake.wait_for(lambda: fake.calls("chat.stopStream"), timeout=10, what="the stream's end on its way")
            victim = await busiest(bots, redis_url, redis_prefix, "slack", cluster=cluster)
            victim.kill()
            await settled(fake, "C0001", ["끝까지 쓴 질문"], timeout=15, bots=[b for b in bots if b is not victim])

    assert seen_in_slack(fake, "C0001", ["끝까지 쓴 질문"]).answers == {"끝까지 쓴 질문": 1}
    assert not [m.text for m in fake.message_records("C0001") if KOREAN("taken_over") in m.text]
    assert len(sagemaker.requests) == 1  # not asked again


@pytest.mark.parametrize("shown", [True, False], ids=["while written", "before its first word"])
async def test_an_answer_its_user_stopped_is_not_asked_again_by_the_replica_taking_it_over(
    sagemaker: FakeSageMaker, redis_url: str, redis_prefix: str, shown: bool
) -> None:
    # The replica writing the answer dies; its user then presses Slack's stop (which ends the
    # stream on Slack's side at once), received by the other replica before it takes the job
    # over: the answer ends as stopped, and the model is not asked again.
    question = "멈춘 질문"
    first = streamed(answer_to(question), 30.0) if shown else Reply(answer_to(question), until=lambda: False)
    replies = iter([first])
    sagemaker.responder(lambda body: next(replies, streamed(answer_to(last_question(body)), 0.2)))
    async with FakeSlack() as fake:
        # A takeover time long enough for the stop to be in before it, on a loaded machine too.
        env = {**socket_mode_env(fake, sagemaker, redis_url, redis_prefix), **roomy_workspace(fake),
               "JOB_TAKEOVER_SECONDS": "3"}  # fmt: skip
        async with replicas(2, "slack", env=env, ready=lambda: fake.open_sockets == 2) as bots:
            asked = fake.mention(question)
            root = asked["event"]["ts"]
            await fake.wait_ack(await fake.push_socket_event(asked))

            def writing() -> bool:
                if shown:  # some of the answer is in the stream
                    return any(m.stream_state == "streaming" and m.text for m in fake.message_records("C0001", root))
                session = fake.sessions.get(("C0001", root))  # Slack shows its stop; no word yet
                return len(sagemaker.requests) == 1 and session is not None and session.status == "processing"

            await fake.wait_for(writing, timeout=15, what="the answer under way")
            victim = await busiest(bots, redis_url, redis_prefix, "slack")
            victim.kill()
            await fake.wait_for(lambda: fake.open_sockets == 1, timeout=10, what="the killed replica's connection gone")
            stop = fake.agent_session_stopped("C0001", root)  # only the other replica is there to get it
            await fake.wait_ack(await fake.push_socket_event(stop), timeout=10)
            stopped = KOREAN("answer_stopped")
            await fake.wait_for(
                lambda: any(stopped in text or answer_to(question) in text for text in fake.messages("C0001", root)),
                timeout=20, what="the answer ended as stopped (or asked again)",
            )  # fmt: skip
            await [bot for bot in bots if bot is not victim][0].stop()

    texts = fake.messages("C0001", root)
    assert len(sagemaker.requests) == 1, texts  # not asked again
    [text] = texts  # nothing posted after it but the note
    said, _, note = text.rpartition("\n\n") if shown else ("", "", text)
    assert note == stopped and bool(said) is shown and answer_to(question).startswith(said), text
    assert not [m for m in fake.message_records("C0001", root) if m.stream_state == "streaming"]


async def test_a_discord_answer_its_user_stopped_before_its_first_word_is_not_asked_again_by_the_replica_taking_it_over(
    sagemaker: FakeSageMaker, redis_url: str, redis_prefix: str
) -> None:
    # As on Slack: the replica whose answer shows its stop button, no word yet, dies; its user
    # then presses that stop, which only the other replica is there to receive.
    question = "멈춘 명령 질문"
    replies = iter([Reply(answer_to(question), until=lambda: False)])
    sagemaker.responder(lambda body: next(replies, streamed(answer_to(last_question(body)), 0.2)))
    async with running_fake_discord() as fake:
        env = {**discord_env(fake, sagemaker, redis_url, redis_prefix), "JOB_TAKEOVER_SECONDS": "3"}
        async with replicas(2, "discord", env=env, ready=lambda: len(fake.ready_shards) == 2) as bots:
            asked = fake.interaction_create("ask", {"질문": question}, user_id=42)
            assert await fake.dispatch("INTERACTION_CREATE", asked) == 2

            def waiting() -> JSON | None:  # the model asked, the answer's stop button shown
                message = fake.original_response(asked)
                return message if len(sagemaker.requests) == 1 and buttons(message) else None

            message = await fake.wait_for(waiting, timeout=15)
            victim = await busiest(bots, redis_url, redis_prefix, "discord")
            victim.kill()
            await fake.wait_for(lambda: len(fake.ready_shards) == 1, timeout=10)
            stop = fake.component_interaction(message, buttons(message)[KOREAN("stop_button")], user_id=42)
            assert await fake.dispatch("INTERACTION_CREATE", stop) == 1
            stopped = KOREAN("answer_stopped")
            await fake.wait_for(
                lambda: any(stopped in m["content"] or answer_to(question) in m["content"]
                            for m in fake.interaction_messages(asked)), timeout=20,
            )  # fmt: skip
            await [bot for bot in bots if bot is not victim][0].stop()

    assert len(sagemaker.requests) == 1  # not asked again
    [answer] = fake.interaction_messages(asked)
    assert answer["content"] == stopped and not buttons(answer)  # a stopped answer has no stop


async def test_discord_questions_of_a_killed_replica_are_answered_once_by_the_other(
    sagemaker: FakeSageMaker, redis_url: str, redis_prefix: str
) -> None:
    # Four people ask at once, each in a conversation of their own, so that every answer streams
    # at the kill (two questions of one conversation would take turns: the second would start
    # only once the first was complete, and a replica killed then leaves nothing open). Answers
    # begun before the kill stream slowly, so that on a loaded machine too they are still under
    # way when their replica dies; the ones taken over come quickly.
    killed = asyncio.Event()
    sagemaker.responder(lambda body: streamed(answer_to(last_question(body)), 1.0 if killed.is_set() else 10.0))
    async with running_fake_discord() as fake:
        # Mentions answered as replies in the channel, where the test counts every message.
        env = {**discord_env(fake, sagemaker, redis_url, redis_prefix), **FAST_TAKEOVER, "DISCORD_MENTION_THREADS": "false"}
        async with replicas(2, "discord", env=env, ready=lambda: len(fake.ready_shards) == 2) as bots:
            commands = [fake.interaction_create("ask", {"질문": f"명령 질문 {n}"}, user_id=4 + n) for n in (1, 2)]
            mentions = [fake.message_create(f"<@{fake.bot_id}> 멘션 질문 {n}", author_id=41 + n) for n in (1, 2)]
            events = [("INTERACTION_CREATE", c) for c in commands] + [("MESSAGE_CREATE", m) for m in mentions]
            for event, payload in events:
                assert await fake.dispatch(event, payload) == 2  # every replica sees every event
            asked = [f"명령 질문 {n}" for n in (1, 2)] + [f"멘션 질문 {n}" for n in (1, 2)]
            # Every answer shows its first words: each message its replica opened is noted (a
            # replica notes a message before it writes into it).
            await fake.wait_for(lambda: len(_showing(fake)) == len(asked), timeout=15)  # every answer under way
            held = await jobs_held(redis_url, redis_prefix, "discord")
            victim = await busiest(bots, redis_url, redis_prefix, "discord")
            victim.kill()
            killed.set()

            def seen() -> tuple[dict[str, int], list[str]]:
                mine = _bot_messages(fake)
                unfinished = [m["content"] for m in mine if m["flags"] & LOADING or under_way(m["content"])]
                return {q: sum(answer_to(q) in m["content"] for m in mine) for q in asked}, unfinished

            await fake.wait_for(lambda: all(seen()[0].values()) and not seen()[1], timeout=30)
            await [bot for bot in bots if bot is not victim][0].stop()

    answers, unfinished = seen()
    assert (answers, unfinished) == ({q: 1 for q in asked}, [])
    # What the killed replica had opened (a message for each of its answers) ends with the note.
    closed = [m["content"] for m in _bot_messages(fake) if KOREAN("taken_over") in m["content"]]
    assert len(closed) == held[victim.process.pid], (closed, held)
    assert all(text.endswith(KOREAN("taken_over")) for text in closed), closed


def _showing(fake: FakeDiscord) -> list[dict[str, Any]]:
    """The bot's messages that show some of an answer (not "thinking…", nor its placeholder)."""
    return [m for m in _bot_messages(fake) if not m["flags"] & LOADING and KOREAN("thinking") not in m["content"]]


def _bot_messages(fake: FakeDiscord) -> list[dict[str, Any]]:
    return [m for m in fake.messages(fake.channel_id) if m["author"]["id"] == str(fake.bot_id)]


