"""The slash commands (/ask, /summarize, /reset, /usage, /help, /봇설정) and the message menus (요약하기, 번역하기)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

import discord
from discord import app_commands

from bot.adapters.discord.events import Origin
from bot.adapters.discord.recorded import Action, asked_by_command
from bot.adapters.discord.surface import FollowUps
from bot.core.memory.channels import MAX_PERSONA_CHARS
from bot.frontend import channel_settings, flows

if TYPE_CHECKING:
    from bot.adapters.discord.client import DiscordBot


DEFAULT_HOURS, MAX_HOURS = 24, 24 * 7  # how far back /summarize reads a channel


class CommandTree(app_commands.CommandTree["DiscordBot"]):
    def __init__(self, bot: DiscordBot) -> None:
        # A user-installable app: every command can also be installed by a person (integration
        # type 1) and used in any server, in the bot's DM and in other DMs and group DMs
        # (contexts 0, 1, 2), also where the bot itself is not installed.
        super().__init__(
            bot,
            allowed_installs=app_commands.AppInstallationType(guild=True, user=True),
            allowed_contexts=app_commands.AppCommandContext(guild=True, dm_channel=True, private_channel=True),
        )
        for command in (ask, summarize, reset, usage, help_, settings, summarize_message, translate_message):
            self.add_command(command)

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        bot = self.client
        if not await bot.claimed(interaction):
            return False
        if bot.allow_list.allows(origin(interaction)):
            return True
        await interaction.response.send_message(bot.texts("not_allowed"), ephemeral=True)
        return False

    async def sync_to(self, guild_id: int | None) -> None:
        """Commands synced to one guild appear there at once; global ones can take an hour."""
        if guild_id is None:
            await self.sync()
            return
        guild = discord.Object(guild_id)
        self.copy_global_to(guild=guild)
        await self.sync(guild=guild)


def origin(interaction: discord.Interaction) -> Origin:
    return Origin.of(interaction.user, interaction.guild_id, interaction.channel)


def _bot(interaction: discord.Interaction) -> DiscordBot:
    return cast("DiscordBot", interaction.client)


async def _deferred(
    interaction: discord.Interaction, text: str, files: Sequence[discord.Attachment] = (),
    action: Action = "answer", *, ephemeral: bool = False, hours: int | None = None,
) -> None:  # fmt: skip
    """Deferred at once (Discord's 3 seconds never run out, the answer has 15 minutes), then
    recorded as a job any replica may answer (claimed already: `interaction_check`)."""
    await interaction.response.defer(thinking=True, ephemeral=ephemeral)
    bot, where = _bot(interaction), origin(interaction)
    payload = asked_by_command(interaction, where, text, files, action, ephemeral=ephemeral) | {"hours": hours}
    await bot.accept(None, interaction.id, where, payload, FollowUps(interaction, bot.budget, ephemeral=ephemeral))


@app_commands.command(name="ask", description="질문에 답합니다. 이어서 물으면 앞의 대화를 기억합니다.")
@app_commands.rename(question="질문")
@app_commands.describe(question="물어볼 내용")
async def ask(interaction: discord.Interaction, question: str) -> None:
    await _deferred(interaction, question)


@app_commands.command(name="summarize", description="첨부한 문서를 요약하거나, 파일이 없으면 이 스레드나 채널의 최근 대화를 요약합니다.")
@app_commands.rename(file="파일", question="질문", hours="시간")
@app_commands.describe(
    file="PDF, 한글, Word, PowerPoint, Excel, OpenDocument, 텍스트, 사진·스캔 문서 (비우면 대화 요약)",
    question="문서에 대해 물어볼 내용 (비우면 요약)",
    hours=f"채널 대화를 몇 시간 전부터 요약할지 (기본 {DEFAULT_HOURS}시간, 스레드는 처음부터)",
)
async def summarize(
    interaction: discord.Interaction, file: discord.Attachment | None = None, question: str | None = None,
    hours: app_commands.Range[int, 1, MAX_HOURS] | None = None,
) -> None:  # fmt: skip
    if file is not None:
        await _deferred(interaction, question or "", [file])
        return
    # In a thread: all of it; in a channel (or a DM): the last `hours`.
    thread = isinstance(interaction.channel, discord.Thread)
    await _deferred(interaction, question or "", (), "summarize_chat", hours=None if thread else hours or DEFAULT_HOURS)


# Message context-menu commands (Apps → …): they receive the whole message, its content
# included, without the Message Content intent.


async def _summarize_message(interaction: discord.Interaction, message: discord.Message) -> None:
    """Its files, each read as a document; a message without any: its text."""
    private = _bot(interaction).settings.discord_menu_ephemeral
    await _deferred(interaction, message.content, message.attachments, "summarize", ephemeral=private)


async def _translate_message(interaction: discord.Interaction, message: discord.Message) -> None:
    private = _bot(interaction).settings.discord_menu_ephemeral
    await _deferred(interaction, message.content, (), "translate", ephemeral=private)


summarize_message = app_commands.ContextMenu(name="요약하기", callback=_summarize_message)
translate_message = app_commands.ContextMenu(name="번역하기", callback=_translate_message)


@app_commands.command(name="reset", description="이 대화의 기록과 올린 문서를 지웁니다.")
async def reset(interaction: discord.Interaction) -> None:
    bot = _bot(interaction)
    await interaction.response.defer(ephemeral=True, thinking=True)
    await bot.engine.reset(origin(interaction).key)
    await interaction.followup.send(bot.texts("reset_done"))


@app_commands.command(name="usage", description="내 사용량(오늘·이번 달)과 남은 한도를 봅니다.")
async def usage(interaction: discord.Interaction) -> None:
    bot = _bot(interaction)
    await interaction.response.defer(ephemeral=True, thinking=True)
    await interaction.followup.send(await flows.own_usage(bot.engine, bot.texts, origin(interaction).asker))


@app_commands.command(name="help", description="명령어와 사용법을 알려 줍니다.")
async def help_(interaction: discord.Interaction) -> None:
    bot, where = _bot(interaction), origin(interaction)
    channel = await bot.channel_settings(where) if where.guild else None
    await interaction.response.send_message(bot.help_text(channel), ephemeral=True)


# Discord command names may be Korean (`^[-_\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$`, lowercase
# where the script has case: discord.com/developers/docs/interactions/application-commands
# "Application Command Naming"), and discord.py's own check (`\w`) takes Hangul too.
@app_commands.command(name="봇설정", description="이 채널의 봇 설정(페르소나·답변 언어·스레드 멘션)을 보거나, 관리자가 바꿉니다.")
@app_commands.rename(persona="페르소나", language="언어", mention="멘션", reset_all="초기화")
@app_commands.describe(
    persona="답변의 말투나 역할 (시스템 프롬프트에 더해요)",
    language="답변 언어",
    mention="스레드에서 이어 물을 때 멘션이 필요한지",
    reset_all="모든 설정을 기본값으로 되돌릴지",
)
@app_commands.choices(language=[app_commands.Choice(name="한국어", value="ko"), app_commands.Choice(name="English", value="en")])
async def settings(
    interaction: discord.Interaction, persona: app_commands.Range[str, 1, MAX_PERSONA_CHARS] | None = None,
    language: app_commands.Choice[str] | None = None, mention: bool | None = None, reset_all: bool | None = None,
) -> None:  # fmt: skip
    """Shows the channel's settings to anyone; changes them for members who may manage the
    server (or DISCORD_ADMIN_USERS). Answered only to the one who asked."""
    bot, where = _bot(interaction), origin(interaction)
    if where.settings_channel is None:
        await interaction.response.send_message(bot.texts("settings_server_only"), ephemeral=True)
        return
    await interaction.response.defer(ephemeral=True, thinking=True)
    changes = {"persona": persona, "language": language and language.value, "followups_need_mention": mention}
    asked: channel_settings.Asked = "reset" if reset_all else {k: v for k, v in changes.items() if v is not None} or "show"
    reply = await channel_settings.command(
        bot.engine.channel_settings, where.settings_channel, asked, admin=_is_admin(interaction),
        bot_language=bot.settings.bot_language, usage=lambda texts: texts("settings_usage_discord"),
    )  # fmt: skip
    await interaction.followup.send(reply)


def _is_admin(interaction: discord.Interaction) -> bool:
    """A member who may manage the server (the permissions Discord sends with the interaction:
    the member's in this channel, administrators having them all) or one of DISCORD_ADMIN_USERS."""
    permissions = interaction.permissions
    listed = interaction.user.id in _bot(interaction).settings.discord_admin_users
    return listed or permissions.manage_guild or permissions.administrator
