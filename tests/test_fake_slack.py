"""Self-test of fakes/slack.py: the real slack_sdk and slack-bolt against the fake Slack."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler

from fakes.slack import FakeSlack, serve_web_app


def bolt_app(fake: FakeSlack) -> AsyncApp:
    # The token must sit on the client: AsyncApp(client=...) ignores its own token= argument.
    return AsyncApp(client=fake.web_client(), signing_secret=fake.signing_secret)


async def test_web_api_post_update_and_read_back(fake_slack: FakeSlack) -> None:
    client = fake_slack.web_client()
    auth = await client.auth_test()
    assert (auth["user_id"], auth["bot_id"], auth["team_id"]) == ("UBOT", "BBOT", "T0001")

    first = await client.chat_postMessage(channel="C0001", text="생각 중…", thread_ts="1699999999.000001")
    second = await client.chat_postMessage(channel="C0001", text="둘째")
    assert first["ts"] < second["ts"] and first["message"]["text"] == "생각 중…"
    updated = await client.chat_update(channel="C0001", ts=first["ts"], text="안녕하세요")
    assert updated["text"] == "안녕하세요"
    await client.chat_delete(channel="C0001", ts=second["ts"])

    assert fake_slack.messages("C0001") == ["안녕하세요"]
    assert fake_slack.messages("C0001", thread_ts="1699999999.000001") == ["안녕하세요"]
    assert fake_slack.message("C0001", first["ts"]).texts == ["생각 중…", "안녕하세요"]
    post = fake_slack.calls("chat.postMessage")[0]
    assert post.token == fake_slack.bot_token and post.args["thread_ts"] == "1699999999.000001"

    await client.reactions_add(channel="C0001", timestamp="1699999999.000001", name="eyes")
    assert fake_slack.reactions("C0001", "1699999999.000001") == ["eyes"]
    assert (await client.users_info(user="U0001"))["user"]["tz"] == "Asia/Seoul"
    assert (await client.conversations_info(channel="D0001"))["channel"]["is_im"] is True

    with pytest.raises(SlackApiError) as err:
        await client.api_call("nope.nothing")
    assert err.value.response["error"] == "unknown_method"
    with pytest.raises(SlackApiError) as err:
        await fake_slack.web_client(token="xoxb-wrong").auth_test()
    assert err.value.response["error"] == "invalid_auth"


async def test_streaming_with_slack_sdk(fake_slack: FakeSlack) -> None:
    client = fake_slack.web_client()
    stream = await client.chat_stream(
        channel="C0001", thread_ts="1700000000.000001", recipient_team_id="T0001",
        recipient_user_id="U0001", buffer_size=4,
    )  # fmt: skip
    for piece in ["안녕", "하세요, ", "반갑습니다"]:
        await stream.append(markdown_text=piece)
    await stream.stop(markdown_text="!")
    assert fake_slack.messages("C0001", thread_ts="1700000000.000001") == ["안녕하세요, 반갑습니다!"]
    assert [c.method for c in fake_slack.calls() if c.method.endswith("Stream")] == [
        "chat.startStream", "chat.appendStream", "chat.stopStream",
    ]  # fmt: skip

    start = await client.chat_startStream(channel="D0001", thread_ts="1700000000.000002", markdown_text="a")
    await client.chat_appendStream(channel="D0001", ts=start["ts"], markdown_text="b")
    fake_slack.expire_stream("D0001", start["ts"])
    with pytest.raises(SlackApiError) as err:
        await client.chat_appendStream(channel="D0001", ts=start["ts"], markdown_text="c")
    assert err.value.response["error"] == "message_not_in_streaming_state"
    assert fake_slack.messages("D0001") == ["ab"]

    with pytest.raises(SlackApiError) as err:  # channels need the recipient
        await client.chat_startStream(channel="C0001", thread_ts="1700000000.000001")
    assert err.value.response["error"] == "missing_recipient_team_id"

    fake_slack.streaming_supported = False
    with pytest.raises(SlackApiError) as err:
        await client.chat_startStream(channel="D0001", thread_ts="1700000000.000002")
    assert err.value.response["error"] == "unknown_method"


async def test_rate_limit_and_scripted_errors(fake_slack: FakeSlack) -> None:
    fake_slack.fail_next("chat.postMessage")
    with pytest.raises(SlackApiError) as err:
        await fake_slack.web_client().chat_postMessage(channel="C0001", text="x")
    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] == "1"
    assert err.value.response["error"] == "ratelimited"

    # Retry-After: 0 keeps it fast (slack_sdk still adds up to 1 s of jitter).
    fake_slack.fail_next("chat.postMessage", retry_after=0)
    retrying = fake_slack.web_client(retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)])
    ok = await retrying.chat_postMessage(channel="C0001", text="결국 성공")
    assert ok["ok"] and [c.status for c in fake_slack.calls("chat.postMessage")] == [429, 429, 200]

    fake_slack.fail_next("chat.update", "msg_too_long")
    with pytest.raises(SlackApiError) as err:
        await fake_slack.web_client().chat_update(channel="C0001", ts=ok["ts"], text="y")
    assert err.value.response.status_code == 200 and err.value.response["error"] == "msg_too_long"

    fake_slack.max_text_bytes = 12  # four Hangul syllables
    with pytest.raises(SlackApiError) as err:
        await fake_slack.web_client().chat_postMessage(channel="C0001", text="가나다라마")
    assert err.value.response["error"] == "msg_too_long"


async def test_posts_past_a_channels_limit_are_refused_with_an_honest_retry_after(fake_slack: FakeSlack) -> None:
    client = fake_slack.web_client()
    for n in range(3):  # a short burst is allowed
        await client.chat_postMessage(channel="C0001", text=f"{n}번째")
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C0001", text="너무 빨리")
    assert err.value.response.status_code == 429 and err.value.response["error"] == "ratelimited"
    assert err.value.response.headers["Retry-After"] == "1"
    await client.chat_postMessage(channel="C0002", text="다른 채널")  # each channel has its own limit

    # Waiting as long as Retry-After says is enough: slack_sdk's own handler waits just that.
    retrying = fake_slack.web_client(retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)])
    await retrying.chat_postMessage(channel="C0001", text="기다렸다가")
    assert fake_slack.messages("C0001")[-1] == "기다렸다가"

    fake_slack.channel_limits = {}  # a test about something else may lift it
    for n in range(5):
        await client.chat_postMessage(channel="C0003", text=f"{n}")
    assert len(fake_slack.messages("C0003")) == 5


async def test_files_need_the_bot_token(fake_slack: FakeSlack) -> None:
    data = "한글 문서 내용\n".encode() * 10
    file = fake_slack.add_file(data, "보고서.txt", "text/plain", "text")
    url = file["url_private_download"]
    assert url.startswith(fake_slack.base_url) and file["size"] == len(data)
    async with aiohttp.ClientSession() as s:
        async with s.get(url) as r:
            assert r.status == 200 and r.content_type == "text/html" and "Sign in" in await r.text()
        async with s.get(url, headers={"Authorization": f"Bearer {fake_slack.bot_token}"}) as r:
            assert r.status == 200 and await r.read() == data

        big = fake_slack.add_file(b"\0" * (32 * 1024 * 1024), "huge.pdf", "application/pdf", "pdf")
        async with s.get(big["url_private_download"], headers={"Authorization": f"Bearer {fake_slack.bot_token}"}) as r:
            await r.content.readexactly(100_000)  # a size-limited reader gives up here
            r.close()
    await fake_slack.wait_for(lambda: len(fake_slack.downloads) == 3 and fake_slack.downloads[2].done)
    no_auth, with_auth, partial = fake_slack.downloads
    assert not no_auth.authorized and with_auth.completed and with_auth.bytes_sent == len(data)
    assert not partial.completed and partial.bytes_sent < partial.size // 2
    info = await fake_slack.web_client().files_info(file=file["id"])
    assert info["file"]["name"] == "보고서.txt"


async def test_bolt_http_mode(fake_slack: FakeSlack) -> None:
    app = bolt_app(fake_slack)
    seen: list[dict[str, Any]] = []

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any], say: Any, request: Any) -> None:
        seen.append({"event": event, "retry": request.headers.get("x-slack-retry-num")})
        await say(text=f"답: {event['text']}", thread_ts=event["ts"])

    @app.event("message")
    async def on_message(event: dict[str, Any]) -> None:
        seen.append({"event": event, "retry": None})

    async with serve_web_app(app.web_app()) as base:
        url = f"{base}/slack/events"
        bad = await fake_slack.send_http_event(url, fake_slack.mention("hi"), bad_signature=True)
        assert bad.status == 401

        # The bot's own post echoes back as a message event: bolt drops it before any listener.
        own = await fake_slack.send_http_event(url, fake_slack.bot_message("self"))
        mention = fake_slack.mention("안녕")
        resp = await fake_slack.send_http_event(url, mention, retry_num=1, retry_reason="http_timeout")
        assert own.status == 200 and resp.status == 200

        call = await fake_slack.wait_call("chat.postMessage")
        ts = mention["event"]["ts"]
        assert call.args["text"] == "답: <@UBOT> 안녕" and call.args["thread_ts"] == ts
        assert [s["event"]["type"] for s in seen] == ["app_mention"] and seen[0]["retry"] == ["1"]
        assert len(fake_slack.calls("auth.test")) == 1
        replies = await fake_slack.web_client().conversations_replies(channel="C0001", ts=ts)
        assert [m["text"] for m in replies["messages"]] == ["<@UBOT> 안녕", "답: <@UBOT> 안녕"]
        assert replies["messages"][0]["reply_count"] == 1


async def test_bolt_socket_mode(fake_slack: FakeSlack) -> None:
    app = bolt_app(fake_slack)

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any], say: Any) -> None:
        await say(text="소켓 답", thread_ts=event["ts"])

    @app.command("/reset")
    async def on_reset(ack: Any, command: dict[str, Any]) -> None:
        await ack(text=f"reset {command['text']}")

    handler = AsyncSocketModeHandler(app, app_token=fake_slack.app_token)
    await handler.connect_async()
    try:
        assert fake_slack.calls("apps.connections.open")[0].token == fake_slack.app_token
        eid = await fake_slack.push_socket_event(fake_slack.mention("hello", channel="C0002"), retry_attempt=0)
        ack = await fake_slack.wait_ack(eid)
        assert ack.latency is not None and ack.latency < 3
        await fake_slack.wait_call("chat.postMessage", lambda c: c.args["channel"] == "C0002")
        assert fake_slack.messages("C0002") == ["소켓 답"]

        eid = await fake_slack.push_socket_event(fake_slack.slash_command("/reset", "all"), envelope_type="slash_commands")
        assert (await fake_slack.wait_ack(eid)).payload == {"text": "reset all"}

        await fake_slack.disconnect_socket()  # slack_sdk reconnects through apps.connections.open
        await fake_slack.wait_for(lambda: fake_slack.socket_connects == 2 and fake_slack.socket_connected)
        eid = await fake_slack.push_socket_event(fake_slack.mention("again", channel="C0003"))
        await fake_slack.wait_ack(eid)
        await fake_slack.wait_call("chat.postMessage", lambda c: c.args["channel"] == "C0003")
    finally:
        await handler.close_async()
    assert len(fake_slack.calls("apps.connections.open")) == 2


async def test_wait_for_times_out(fake_slack: FakeSlack) -> None:
    with pytest.raises(TimeoutError, match="chat.update"):
        await fake_slack.wait_call("chat.update", timeout=0.05)
    assert await asyncio.wait_for(fake_slack.wait_for(lambda: 42, timeout=0.05), 1) == 42


async def refused(call: Any) -> str:
    with pytest.raises(SlackApiError) as caught:
        await call
    return str(caught.value.response["error"])


async def test_ai_surfaces_refuse_what_slack_refuses(fake_slack: FakeSlack) -> None:
    client = fake_slack.web_client()
    five = [{"title": f"{i}", "message": f"{i}"} for i in range(5)]
    assert await refused(client.assistant_threads_setSuggestedPrompts(channel_id="D1", prompts=five)) == "invalid_arguments"
    assert await refused(client.assistant_threads_setStatus(channel_id="D1", thread_ts="", status="…")) == "invalid_thread_ts"
    assert await refused(client.agents_sessions_setStatus(channel_id="C1", status="thinking")) == "invalid_status"
    long_section = [{"type": "section", "text": {"type": "mrkdwn", "text": "가" * 3001}}]
    assert await refused(client.chat_postMessage(channel="C1", text="x", blocks=long_section)) == "invalid_blocks"
    bad_feedback = [{"type": "context_actions", "elements": [{"type": "feedback_buttons", "action_id": "f",
                     "positive_button": {"text": {"type": "mrkdwn", "text": "👍"}, "value": "u"},
                     "negative_button": {"text": {"type": "plain_text", "text": "👎"}, "value": "d"}}]}]  # fmt: skip
    assert await refused(client.chat_postMessage(channel="C1", text="x", blocks=bad_feedback)) == "invalid_blocks"
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "의견"}, "blocks": []}
    trigger = fake_slack.trigger()
    await client.views_open(trigger_id=trigger, view=modal)
    assert await refused(client.views_open(trigger_id=trigger, view=modal)) == "expired_trigger_id"  # once only
    too_long = {**modal, "title": {"type": "plain_text", "text": "가" * 25}}
    assert await refused(client.views_open(trigger_id=fake_slack.trigger(), view=too_long)) == "invalid_arguments"
    fake_slack.not_member.add("C9")
    assert await refused(client.conversations_history(channel="C9")) == "not_in_channel"


async def test_ephemerals_refuse_what_slack_refuses_and_keep_to_tier_4(fake_slack: FakeSlack) -> None:
    client = fake_slack.web_client()
    # slack_sdk's chat_postEphemeral wants both: the bare method shows what Slack says without
    without_user, without_channel = {"channel": "C0001", "text": "x"}, {"user": "U0001", "text": "x"}
    assert await refused(client.api_call("chat.postEphemeral", json=without_user)) == "user_not_found"
    assert await refused(client.api_call("chat.postEphemeral", json=without_channel)) == "channel_not_found"
    assert await refused(client.chat_postEphemeral(channel="C0001", user="U0001", text="")) == "no_text"
    assert await refused(client.chat_postEphemeral(channel="C0001", user="U0001", text="가" * 40_001)) == "msg_too_long"
    fake_slack.seed_message("D0002", "안녕", user="U0002")
    assert await refused(client.chat_postEphemeral(channel="D0002", user="U0001", text="x")) == "user_not_in_channel"
    await client.chat_postEphemeral(channel="D0002", user="U0002", text="나만 보여요")
    assert fake_slack.ephemerals[-1]["user"] == "U0002"

    fake_slack.reset_tiers()
    fake_slack.rate_tiers["chat.postEphemeral"] = 2  # Tier 4 is 100 a minute; fewer here to reach it
    for n in ("첫째", "둘째"):
        await client.chat_postEphemeral(channel="C0001", user="U0001", text=n)
    with pytest.raises(SlackApiError) as err:
        await client.chat_postEphemeral(channel="C0001", user="U0001", text="셋째")
    assert err.value.response.status_code == 429 and err.value.response["error"] == "ratelimited"
