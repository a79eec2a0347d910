"""Where answers appear on Discord (`bot.frontend.surface.Surface`s), and how they look there."""

from __future__ import annotations

from typing import cast

import discord

from bot.frontend.surface import MessageStyle

MESSAGE_CHARS = 2000
# Discord allows about 5 edits per 5 s per channel, and an answer edits one message at a time.
EDIT_INTERVAL = 1.2
STYLE = MessageStyle(max_len=MESSAGE_CHARS, edit_interval=EDIT_INTERVAL)


class _Edits:
    style = STYLE

    async def edit(self, handle: object, text: str) -> None:
        message = cast(discord.Message | discord.WebhookMessage, handle)
        if isinstance(message, discord.WebhookMessage):  # its edits leave the flags alone
            await message.edit(content=text)
        else:
            # Message.edit sends `flags` every time (discord/message.py, `suppress=False` by
            # default): without this every edited answer would get its link previews back.
            await message.edit(content=text, suppress=True)


class FollowUps(_Edits):
    """The messages of a deferred interaction: the first follow-up replaces "thinking…", later
    ones are new messages. The interaction's token allows this for 15 minutes."""

    def __init__(self, interaction: discord.Interaction) -> None:
        self._webhook = interaction.followup

    async def post(self, text: str) -> discord.WebhookMessage:
        return await self._webhook.send(text, wait=True, suppress_embeds=True)


class ChannelReplies(_Edits):
    """Answers to a message: the first part replies to it, later parts follow in its channel."""

    def __init__(self, message: discord.Message) -> None:
        self._channel = message.channel
        # a question deleted meanwhile must not make the answer fail
        self._reference: discord.MessageReference | None = message.to_reference(fail_if_not_exists=False)

    async def post(self, text: str) -> discord.Message:
        sent = await self._channel.send(text, reference=self._reference, suppress_embeds=True)  # type: ignore[arg-type]
        self._reference = None
        return sent
