"""Allow-lists of guilds, channels, roles and users."""

from __future__ import annotations

from bot.adapters.discord.events import AllowList, Origin
from fakes.discord import EPHEMERAL
from fakes.sagemaker import FakeSageMaker, Reply
from tests.discord_support import StartDiscordBot, open_thread
from tests.support import KOREAN

REFUSAL = KOREAN("not_allowed")


async def test_users_outside_the_list_are_refused_and_the_model_is_not_called(
    discord_bot: StartDiscordBot, sagemaker: FakeSageMaker
) -> None:
    sagemaker.script(Reply("허용된 사용자에게 답합니다."))
    async with discord_bot(discord_allowed_users="7, 8") as h:
        refused = await h.command("ask", {"질문": "나도 돼?"}, user_id=42)
        callback = (await h.fake.wait_for(lambda: h.fake.interaction_responses(refused)))[0]
        assert callback.json["type"] == 4 and callback.json["data"]["content"] == REFUSAL
        assert callback.json["data"]["flags"] == EPHEMERAL

        mention = await h.message(f"<@{h.fake.bot_id}> 나는?", author_id=42)
        assert (await h.reply_to(mention))["content"] == REFUSAL

        allowed = await h.command("ask", {"질문": "나는 되지?"}, user_id=7)
        assert await h.answered(allowed) == "허용된 사용자에게 답합니다."
        assert len(sagemaker.requests) == 1


async def test_roles_and_channels_lists_use_the_members_roles_and_a_threads_parent(
    discord_bot: StartDiscordBot, sagemaker: FakeSageMaker
) -> None:
    sagemaker.script(Reply("역할이 있는 분께 답합니다."))
    async with discord_bot(discord_allowed_roles="777", discord_allowed_channels="200") as h:
        fake = h.fake
        await fake.dispatch("GUILD_ROLE_CREATE", {"guild_id": str(fake.guild_id), "role": {
            "id": "777", "name": "연구팀", "permissions": "0", "position": 1, "color": 0, "hoist": False,
            "managed": False, "mentionable": False, "flags": 0}})
        thread = await open_thread(fake, owner_id=fake.bot_id)

        without = await h.command("ask", {"질문": "역할 없음"}, user_id=42, channel_id=thread)
        member = fake.interaction_create("ask", {"질문": "역할 있음"}, user_id=43, channel_id=thread)
        member["member"]["roles"] = ["777"]
        await fake.dispatch("INTERACTION_CREATE", member)

        assert await h.answered(member) == "역할이 있는 분께 답합니다."
        refusal = (await fake.wait_for(lambda: fake.interaction_responses(without)))[0]
        assert refusal.json["data"]["content"] == REFUSAL and len(sagemaker.requests) == 1


def test_every_list_that_is_set_must_match_and_dms_pass_only_the_user_list() -> None:
    def origin(guild: int | None, channel: int = 200, parent: int | None = None) -> Origin:
        return Origin(user=7, guild=guild, channel=channel, parent=parent, roles=frozenset({5}))

    none: frozenset[int] = frozenset()
    assert AllowList(none, none, none, none).allows(origin(None))
    assert AllowList(frozenset({100}), frozenset({300}), none, none).allows(origin(100, 400, parent=300))
    assert not AllowList(frozenset({100}), frozenset({300}), none, none).allows(origin(100, 200))
    assert not AllowList(frozenset({100}), none, none, frozenset({7})).allows(origin(None))
    assert AllowList(none, none, none, frozenset({7})).allows(origin(None))
    assert not AllowList(none, none, frozenset({6}), none).allows(origin(100))
