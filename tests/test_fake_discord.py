"""Self-test of the fake Discord: a real discord.py Client and CommandTree talk to it over sockets."""

from __future__ import annotations

import asyncio
import io
import json
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
import discord
import pytest
import pytest_asyncio
from discord import app_commands

from fakes.discord import EPHEMERAL, JSON, MESSAGE_CONTENT, FakeDiscord, running_fake_discord


@dataclass
class Bot:
    fake: FakeDiscord
    client: discord.Client
    tree: app_commands.CommandTree
    messages: list[discord.Message] = field(default_factory=list)
    read: list[bytes] = field(default_factory=list)


async def sync(bot: Bot) -> list[app_commands.AppCommand]:
    """Guild sync, as with DISCORD_GUILD_ID: instant on Discord, unlike global commands."""
    guild = discord.Object(bot.fake.guild_id)
    bot.tree.copy_global_to(guild=guild)
    return await bot.tree.sync(guild=guild)


@pytest_asyncio.fixture
async def bot() -> AsyncIterator[Bot]:
    async with running_fake_discord() as fake:
        intents = discord.Intents.default()
        intents.message_content = True
        # A tiny guild_ready_timeout: on_ready otherwise waits 2 s after the last GUILD_CREATE.
        client = discord.Client(intents=intents, guild_ready_timeout=0.01)
        tree = app_commands.CommandTree(client)
        b = Bot(fake, client, tree)

        @tree.command(name="ping", description="응답 확인")
        async def ping(interaction: discord.Interaction) -> None:
            await interaction.response.defer()
            await interaction.followup.send("pong 🏓")

        @tree.command(name="summarize", description="파일 요약")
        async def summarize(interaction: discord.Interaction, file: discord.Attachment) -> None:
            b.read.append(await file.read())
            await interaction.response.send_message(f"{file.filename}: {file.size} bytes")
            await interaction.edit_original_response(content="요약 완료")

        @client.event
        async def on_message(message: discord.Message) -> None:
            b.messages.append(message)

        async with fake.running(client):
            yield b


async def test_login_identify_ready_and_guild_sync(bot: Bot) -> None:
    fake, client = bot.fake, bot.client
    assert fake.intents == client.intents.value
    assert fake.identify is not None and fake.identify["token"] == fake.token
    query = fake.gateway_connects[0]
    assert query["v"] == "10" and query["encoding"] == "json" and query["compress"].endswith("-stream")
    assert client.user is not None and client.user.id == fake.bot_id and client.user.bot
    assert client.application_id == fake.app_id
    guild = client.get_guild(fake.guild_id)
    assert guild is not None and guild.get_channel(fake.channel_id) is not None and guild.me is not None

    synced = await sync(bot)
    assert {c.name for c in synced} == {"ping", "summarize"}
    assert [c["name"] for c in fake.commands[fake.guild_id]] == ["ping", "summarize"]
    assert synced[0].id == fake.command_id("ping", fake.guild_id)
    assert fake.requests_to("PUT /applications/*/guilds/*/commands")[0].headers["Authorization"] == (
        f"Bot {fake.token}")


async def test_slash_command_defers_then_follows_up(bot: Bot) -> None:
    fake = bot.fake
    await sync(bot)
    inter = fake.interaction_create("ping", {}, user_id=42)
    assert inter["data"]["id"] == str(fake.command_id("ping", fake.guild_id))
    assert await fake.dispatch("INTERACTION_CREATE", inter) == 1

    responses = await fake.wait_for(lambda: len(r := fake.interaction_responses(inter)) >= 2 and r)
    assert [r.kind for r in responses] == ["callback", "followup"]
    assert responses[0].json == {"type": 5}
    assert responses[0].query == {"with_response": "1"}
    assert responses[1].json["content"] == "pong 🏓"
    # Discord: the first follow-up after a defer replaces the "thinking..." message.
    assert responses[1].response["id"] == fake.original_response(inter)["id"]
    assert fake.channel_messages(fake.channel_id) == ["pong 🏓"]

    # The same command from a DM: `user` instead of `member`, a type 1 channel, no guild.
    dm = fake.interaction_create("ping", {}, user_id=43, channel_id=fake.dm_channel(43))
    assert "guild_id" not in dm and dm["channel"]["type"] == 1 and dm["user"]["id"] == "43"
    await fake.dispatch("INTERACTION_CREATE", dm)
    await fake.wait_for(lambda: len(fake.interaction_responses(dm)) >= 2)
    assert fake.channel_messages(fake.dm_channel(43)) == ["pong 🏓"]


async def test_message_create_reaches_on_message(bot: Bot) -> None:
    fake = bot.fake
    sent = fake.message_create(f"<@{fake.bot_id}> 안녕하세요", author_id=42)
    await fake.dispatch("MESSAGE_CREATE", sent)
    msg = await fake.wait_for(lambda: next((m for m in bot.messages if m.author.id == 42), None))
    assert msg.content == f"<@{fake.bot_id}> 안녕하세요"
    assert msg.guild is not None and msg.guild.id == fake.guild_id
    assert bot.client.user in msg.mentions

    dm = fake.message_create("DM 질문", author_id=43, channel_id=fake.dm_channel(43))
    await fake.dispatch("MESSAGE_CREATE", dm)
    got = await fake.wait_for(lambda: next((m for m in bot.messages if m.author.id == 43), None))
    assert got.guild is None and isinstance(got.channel, discord.DMChannel)

    # The bot's own messages come back over the gateway, as on Discord.
    await got.channel.send("답장")
    echoed = await fake.wait_for(lambda: [m for m in bot.messages if m.author == bot.client.user])
    assert echoed[0].content == "답장"
    assert fake.channel_messages(fake.dm_channel(43)) == ["답장"]


async def test_attachment_option_is_read_over_http(bot: Bot) -> None:
    fake = bot.fake
    await sync(bot)
    data = "한국어 문서 내용\n".encode() * 100
    att = fake.add_attachment(data, "보고서.txt", "text/plain; charset=utf-8")
    inter = fake.interaction_create("summarize", {}, user_id=42, attachment=att)
    assert inter["data"]["options"] == [{"type": 11, "name": "file", "value": att["id"]}]
    await fake.dispatch("INTERACTION_CREATE", inter)

    await fake.wait_for(lambda: len(fake.interaction_responses(inter)) >= 2)
    assert bot.read == [data]
    assert [(d.attachment_id, d.bytes_sent) for d in fake.downloads] == [(int(att["id"]), len(data))]
    cb, edit = fake.interaction_responses(inter)
    assert cb.json["type"] == 4 and cb.json["data"]["content"] == f"보고서.txt: {len(data)} bytes"
    assert edit.kind == "edit" and edit.path.endswith("/messages/@original")
    assert fake.channel_messages(fake.channel_id) == ["요약 완료"]


async def test_rate_limited_edit_is_retried_and_lands(bot: Bot) -> None:
    fake = bot.fake
    channel = bot.client.get_channel(fake.channel_id)
    assert isinstance(channel, discord.TextChannel)
    message = await channel.send("초안")

    fake.rate_limit_next("PATCH /channels/*/messages/*", retry_after=0.2)
    started = time.monotonic()
    await message.edit(content="최종 답변")
    assert time.monotonic() - started >= 0.2
    assert [r.status for r in fake.requests_to("PATCH /channels/*")] == [429, 200]
    assert fake.channel_messages(fake.channel_id) == ["최종 답변"]
    assert fake.max_edits_in_window(fake.channel_id) == 1
    fake.assert_edit_rate(limit=5, per=5.0)


async def used(bot: Bot, name: str, body: Callable[[discord.Interaction], Awaitable[None]]) -> JSON:
    """`body` registered as slash command `name` and used by a user; its interaction, once
    `body` has returned."""
    done = asyncio.Event()

    @bot.tree.command(name=name, description="테스트")
    async def command(interaction: discord.Interaction) -> None:
        await body(interaction)
        done.set()

    await sync(bot)
    inter = bot.fake.interaction_create(name, {}, user_id=42)
    await bot.fake.dispatch("INTERACTION_CREATE", inter)
    await asyncio.wait_for(done.wait(), 5)
    return inter


async def test_webhook_429_and_enforced_edit_rate(bot: Bot) -> None:
    fake = bot.fake
    fake.enforce_edit_rate(limit=2, per=0.5)

    async def stream(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("…", ephemeral=True)
        for text in ("가", "가나", "가나다"):  # the third edit is over the limit
            await interaction.edit_original_response(content=text)

    fake.rate_limit_next("PATCH /webhooks/*", retry_after=0.05)
    inter = await used(bot, "stream", stream)

    edits = fake.requests_to("PATCH /webhooks/*")
    # the bucket's headers said it was spent: discord.py waited for its reset instead of a 429
    assert [r.status for r in edits] == [429, 200, 200, 200]
    assert edits[3].time - edits[1].time >= 0.45
    assert fake.original_response(inter)["content"] == "가나다"
    assert fake.original_response(inter)["flags"] & EPHEMERAL


async def test_edits_carry_their_bucket_headers_and_a_spent_bucket_answers_429(bot: Bot) -> None:
    fake = bot.fake
    fake.enforce_edit_rate(limit=2, per=1.0)
    channel = bot.client.get_channel(fake.channel_id)
    assert isinstance(channel, discord.TextChannel)
    message = await channel.send("초안")
    for text in ("하나", "둘", "셋"):  # the third waits for the bucket's reset, as its headers say
        await message.edit(content=text)
    url = f"{fake.api_url}/channels/{fake.channel_id}/messages/{message.id}"
    async with aiohttp.ClientSession(headers={"Authorization": f"Bot {fake.token}"}) as http:
        for text in ("넷", "다섯"):  # without waiting for the reset: the second is refused
            async with http.patch(url, json={"content": text}) as response:
                answer = await response.json()
    assert answer["global"] is False and answer["retry_after"] > 0

    edits = fake.requests_to("PATCH /channels/*")
    limits = [r.response_headers for r in edits]
    assert [r.status for r in edits] == [200, 200, 200, 200, 429]
    assert [h["X-RateLimit-Remaining"] for h in limits] == ["1", "0", "1", "0", "0"]
    assert {h["X-RateLimit-Limit"] for h in limits} == {"2"} and len({h["X-RateLimit-Bucket"] for h in limits}) == 1
    assert edits[2].time - edits[0].time >= 0.95
    assert 0 < float(limits[4]["X-RateLimit-Reset-After"]) <= 1
    assert abs(float(limits[4]["X-RateLimit-Reset"]) - time.time()) < 2  # epoch seconds
    assert limits[4]["X-RateLimit-Scope"] == "user" and limits[4]["Retry-After"] == "1"
    assert fake.channel_messages(fake.channel_id) == ["넷"]


async def test_new_messages_are_limited_per_channel_with_honest_bucket_headers(bot: Bot) -> None:
    fake = bot.fake
    fake.enforce_create_rate(limit=3, per=1.0)  # Discord's 5 per 5 s, scaled down
    other, third = 201, 202
    fake.add_guild(101, "다른 서버", channels={other: "잡담", third: "공지"})
    url = f"{fake.api_url}/channels/{fake.channel_id}/messages"
    async with aiohttp.ClientSession(headers={"Authorization": f"Bot {fake.token}"}) as http:
        for i in range(4):  # without waiting for the reset: the fourth is refused
            async with http.post(url, json={"content": f"{i}번"}) as response:
                refused = await response.json()
        async with http.post(f"{fake.api_url}/channels/{other}/messages", json={"content": "다른 채널"}) as response:
            assert response.status == 200  # another channel's bucket is its own
    assert refused["global"] is False and 0 < refused["retry_after"] <= 1

    sent = fake.requests_to(f"POST /channels/{fake.channel_id}/messages")
    limits = [r.response_headers for r in sent]
    assert [r.status for r in sent] == [200, 200, 200, 429]
    assert [h["X-RateLimit-Remaining"] for h in limits] == ["2", "1", "0", "0"]
    assert {h["X-RateLimit-Limit"] for h in limits} == {"3"} and len({h["X-RateLimit-Bucket"] for h in limits}) == 1
    assert all(0 < float(h["X-RateLimit-Reset-After"]) <= 1 for h in limits)
    assert all(abs(float(h["X-RateLimit-Reset"]) - time.time()) < 2 for h in limits)  # epoch seconds
    assert limits[3]["X-RateLimit-Scope"] == "user" and "X-RateLimit-Global" not in limits[3]
    assert fake.channel_messages(fake.channel_id) == ["0번", "1번", "2번"]

    # discord.py reads the headers and waits for the reset rather than be refused
    channel = bot.client.get_partial_messageable(third, guild_id=101)
    for i in range(4):
        await channel.send(f"{i}번")
    paced = fake.requests_to(f"POST /channels/{third}/messages")
    assert [r.status for r in paced] == [200] * 4
    assert paced[3].time - paced[0].time >= 0.95


async def test_follow_ups_are_limited_per_interaction(bot: Bot) -> None:
    fake = bot.fake
    fake.enforce_create_rate(limit=2, per=1.0)

    async def many(interaction: discord.Interaction) -> None:
        await interaction.response.defer()
        for i in range(3):  # the first replaces "thinking…", all three count
            await interaction.followup.send(f"{i}번")

    inter = await used(bot, "many", many)

    sent = fake.requests_to("POST /webhooks/*")
    assert [r.status for r in sent] == [200, 200, 200]  # discord.py waited for the reset
    assert [r.response_headers["X-RateLimit-Remaining"] for r in sent] == ["1", "0", "1"]
    assert sent[2].time - sent[0].time >= 0.95
    assert [m["content"] for m in fake.interaction_messages(inter)] == ["0번", "1번", "2번"]


async def test_the_global_limit_answers_429_outside_the_interaction_endpoints(bot: Bot) -> None:
    fake = bot.fake
    fake.global_limit = 3
    channel = bot.client.get_channel(fake.channel_id)
    assert isinstance(channel, discord.TextChannel)
    await asyncio.gather(*(channel.send(f"{i}번") for i in range(5)))  # discord.py waits out the 429s

    sent = fake.requests_to("POST /channels/*/messages")
    refused = [r for r in sent if r.status == 429]
    assert refused and all(r.response["global"] is True for r in refused)
    assert all(r.response_headers["X-RateLimit-Global"] == "true" for r in refused)
    assert all(r.response_headers["X-RateLimit-Scope"] == "global" and "Retry-After" in r.response_headers
               for r in refused)
    assert sorted(fake.channel_messages(fake.channel_id)) == [f"{i}번" for i in range(5)]


async def test_intents_gate_message_content() -> None:
    async with running_fake_discord() as fake:
        client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.01)
        seen: list[discord.Message] = []

        @client.event
        async def on_message(message: discord.Message) -> None:
            seen.append(message)

        async with fake.running(client):  # Intents.default() has no message_content
            assert not fake.intents & MESSAGE_CONTENT
            await fake.dispatch("MESSAGE_CREATE", fake.message_create("비밀", author_id=7))
            await fake.dispatch("MESSAGE_CREATE", fake.message_create(f"<@{fake.bot_id}> 질문", author_id=8))
            await fake.wait_for(lambda: len(seen) == 2)
            assert [m.content for m in seen] == ["", f"<@{fake.bot_id}> 질문"]


async def test_wrong_token_is_refused() -> None:
    async with running_fake_discord():
        client = discord.Client(intents=discord.Intents.default())
        with pytest.raises(discord.LoginFailure):
            await client.login("not-the-token")
        await client.close()


async def test_uploaded_file_becomes_a_downloadable_attachment(bot: Bot) -> None:
    fake = bot.fake
    channel = bot.client.get_channel(fake.channel_id)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send("요약본", file=discord.File(io.BytesIO("내용".encode()), filename="요약.txt"))
    upload = fake.requests_to("POST /channels/*/messages")[-1]
    assert upload.json["content"] == "요약본" and upload.files[0].filename == "요약.txt"
    assert upload.files[0].data == "내용".encode()
    assert sent.attachments[0].filename == "요약.txt" and sent.attachments[0].content_type == "text/plain"
    assert await sent.attachments[0].read() == "내용".encode()


async def test_late_interaction_callback_is_unknown(bot: Bot) -> None:
    fake = bot.fake
    fake.interaction_deadline = 0.05  # Discord's is 3 s
    failed: list[Exception] = []

    @bot.tree.command(name="slow", description="느림")
    async def slow(interaction: discord.Interaction) -> None:
        await asyncio.sleep(0.1)
        try:
            await interaction.response.send_message("늦었다")
        except discord.NotFound as e:
            failed.append(e)

    await sync(bot)
    await fake.dispatch("INTERACTION_CREATE", fake.interaction_create("slow", {}))
    err = await fake.wait_for(lambda: failed and failed[0])
    assert err.code == 10062
    assert fake.requests_to("POST /interactions/*")[0].status == 404


@pytest.mark.parametrize("compress", ["zlib-stream", None])
async def test_gateway_protocol_with_and_without_zlib(compress: str | None) -> None:
    """What discord.py does when zstandard is missing (zlib-stream), and plain JSON frames."""
    async with FakeDiscord() as fake, aiohttp.ClientSession() as http:
        query = {"v": "10", "encoding": "json"} | ({"compress": compress} if compress else {})
        async with http.ws_connect(fake.gateway_url, params=query) as ws:
            inflate = zlib.decompressobj()

            async def receive() -> dict:
                msg = await ws.receive(timeout=5)
                if compress:
                    assert msg.type is aiohttp.WSMsgType.BINARY and msg.data.endswith(b"\x00\x00\xff\xff")
                    return json.loads(inflate.decompress(msg.data))
                assert msg.type is aiohttp.WSMsgType.TEXT
                return json.loads(msg.data)

            assert (await receive())["op"] == 10
            await ws.send_json({"op": 1, "d": None})
            assert (await receive())["op"] == 11
            await ws.send_json({"op": 2, "d": {"token": fake.token, "intents": 513, "properties": {}}})
            ready, guild = await receive(), await receive()
            assert (ready["t"], ready["s"]) == ("READY", 1) and ready["d"]["application"]["id"] == "1000"
            assert (guild["t"], guild["s"], guild["d"]["id"]) == ("GUILD_CREATE", 2, "100")
            await fake.wait_ready()
            assert fake.intents == 513
            await fake.dispatch("TYPING_START", {"channel_id": "200", "user_id": "5", "timestamp": 0})
            assert (await receive())["s"] == 3



# ------------------------------------------------------------------ what Discord refuses


async def _rest(fake: FakeDiscord, method: str, path: str, body: object = None) -> tuple[int, dict]:
    headers = {"Authorization": f"Bot {fake.token}"}
    async with aiohttp.ClientSession() as session:
        async with session.request(method, f"{fake.api_url}{path}", json=body, headers=headers) as response:
            return response.status, await response.json(content_type=None) if response.content_length else {}


async def test_history_pages_as_discord_does_and_refuses_what_it_refuses() -> None:
    async with running_fake_discord() as fake:
        ids = [int(fake.message_create(f"m{n}", author_id=5)["id"]) for n in range(5)]
        path = f"/channels/{fake.channel_id}/messages"
        status, newest = await _rest(fake, "GET", f"{path}?limit=2")
        assert status == 200 and [m["content"] for m in newest] == ["m4", "m3"]
        status, after = await _rest(fake, "GET", f"{path}?limit=2&after={ids[0]}")
        assert [m["content"] for m in after] == ["m2", "m1"]  # right after it, newest first
        status, before = await _rest(fake, "GET", f"{path}?before={ids[2]}")
        assert [m["content"] for m in before] == ["m1", "m0"]
        assert (await _rest(fake, "GET", f"{path}?limit=101"))[1]["code"] == 50035
        assert (await _rest(fake, "GET", f"{path}?limit=0"))[1]["code"] == 50035
        assert (await _rest(fake, "GET", f"{path}?before={ids[3]}&after={ids[0]}"))[1]["code"] == 50035


async def test_threads_on_messages_are_checked_as_discord_checks_them() -> None:
    async with running_fake_discord() as fake:
        message = fake.message_create("질문", author_id=5)
        path = f"/channels/{fake.channel_id}/messages/{message['id']}/threads"
        assert (await _rest(fake, "POST", path, {}))[1]["code"] == 50035  # a name is required
        assert (await _rest(fake, "POST", path, {"name": "x" * 101}))[1]["code"] == 50035
        assert (await _rest(fake, "POST", path, {"name": "t", "auto_archive_duration": 30}))[1]["code"] == 50035
        status, thread = await _rest(fake, "POST", path, {"name": "스레드"})
        assert status == 201 and thread["id"] == message["id"] and thread["parent_id"] == str(fake.channel_id)
        assert (await _rest(fake, "POST", path, {"name": "again"}))[1]["code"] == 160004
        in_thread = fake.message_create("스레드 안", author_id=5, channel_id=int(thread["id"]))
        nested = f"/channels/{thread['id']}/messages/{in_thread['id']}/threads"
        assert (await _rest(fake, "POST", nested, {"name": "t"}))[1]["code"] == 50024


async def test_components_and_commands_are_checked_as_discord_checks_them() -> None:
    async with running_fake_discord() as fake:
        fake.enforce_create_rate(None)  # seven messages at once in one channel: the checks, not the limit
        path = f"/channels/{fake.channel_id}/messages"

        def button(custom_id: str, **more: object) -> dict:
            return {"type": 2, "style": 1, "label": "ok", "custom_id": custom_id, **more}

        def row(*buttons: dict) -> dict:
            return {"type": 1, "components": list(buttons)}

        assert (await _rest(fake, "POST", path, {"components": [row(button("a"))]}))[0] == 200
        refused = [
            [row(button("x" * 101))],  # custom_id over 100 characters
            [row(button("a"), button("a"))],  # the same custom_id twice
            [row(*[button(str(n)) for n in range(6)])],  # six buttons in a row
            [row(button(str(n))) for n in range(6)],  # six rows
            [row(button("a", label="x" * 81))],
            [row({"type": 2, "style": 5, "label": "link", "custom_id": "a"})],  # a link has a url
        ]
        for components in refused:
            assert (await _rest(fake, "POST", path, {"content": "x", "components": components}))[1]["code"] == 50035

        commands = f"/applications/{fake.app_id}/guilds/{fake.guild_id}/commands"
        good = {"name": "ask", "description": "묻기", "integration_types": [0, 1], "contexts": [0, 1, 2]}
        assert (await _rest(fake, "PUT", commands, [good, {"name": "요약하기", "type": 3}]))[0] == 200
        for bad in (
            [good | {"name": "Ask"}],  # a slash command's name is lower case
            [good | {"integration_types": [2]}],
            [good | {"contexts": []}],
            [{"name": "요약하기", "type": 3, "description": "설명"}],  # a menu has no description
            [{"name": f"메뉴{n}", "type": 3} for n in range(16)],  # at most 15 message commands
            [good, good],
        ):
            assert (await _rest(fake, "PUT", commands, bad))[1]["code"] == 50035
