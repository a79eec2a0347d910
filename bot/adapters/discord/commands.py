"""The slash commands: /ask, /summarize, /reset, /usage, /help."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import discord
from discord import app_commands

from bot.adapters.discord.events import Origin
from bot.adapters.discord.recorded import asked_by_command
from bot.adapters.discord.surface import FollowUps
from bot.frontend import flows

if TYPE_CHECKING:
    from bot.adapters.discord.client import DiscordBot


class CommandTree(app_commands.CommandTree["DiscordBot"]):
    def __init__(self, bot: DiscordBot) -> None:
        super().__init__(bot)
        for command in (ask, summarize, reset, usage, help_):
            self.add_command(command)

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """Every replica sees every interaction: only the one that claims it answers."""
        bot = self.client
        if not bot.jobs.accepting or not await bot.engine.claim_event(f"discord:{interaction.id}"):
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


async def _deferred(interaction: discord.Interaction, text: str, file: discord.Attachment | None = None) -> None:
    """Deferred at once (Discord's 3 seconds never run out, the answer has 15 minutes), then
    recorded as a job any replica may answer (claimed already: `interaction_check`)."""
    await interaction.response.defer(thinking=True)
    bot, where = _bot(interaction), origin(interaction)
    payload = asked_by_command(interaction, where, text, file)
    await bot.accept(None, interaction.id, where, payload, FollowUps(interaction, bot.budget))


@app_commands.command(name="ask", description="질문에 답합니다. 이어서 물으면 앞의 대화를 기억합니다.")
@app_commands.rename(question="질문")
@app_commands.describe(question="물어볼 내용")
async def ask(interaction: discord.Interaction, question: str) -> None:
    await _deferred(interaction, question)


@app_commands.command(name="summarize", description="첨부한 문서를 요약하거나, 문서에 대한 질문에 답합니다.")
@app_commands.rename(file="파일", question="질문")
@app_commands.describe(
    file="PDF, 한글, Word, PowerPoint, Excel, OpenDocument, 텍스트, 사진·스캔 문서", question="문서에 대해 물어볼 내용 (비우면 요약)"
)
async def summarize(interaction: discord.Interaction, file: discord.Attachment, question: str | None = None) -> None:
    await _deferred(interaction, question or "", file)


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
    await interaction.response.send_message(_bot(interaction).help_text(), ephemeral=True)
