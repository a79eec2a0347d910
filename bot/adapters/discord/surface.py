"""Where answers appear on Discord (`bot.frontend.surface.Surface`s), and how they look there."""

from __future__ import annotations

import time
from typing import Any, cast

import discord

from bot.frontend.surface import MessageStyle

MESSAGE_CHARS = 2000
# Discord allows about 5 edits per 5 s per channel, and an answer edits one message at a time.
EDITS_PER_WINDOW, EDIT_WINDOW = 5, 5.0
EDIT_INTERVAL = 1.2
STYLE = MessageStyle(max_len=MESSAGE_CHARS, edit_interval=EDIT_INTERVAL)


# An interaction's token allows follow-ups and edits for 15 minutes; a little is kept in hand.
TOKEN_SECONDS = 15 * 60 - 20
_TOKEN_EXPIRED = 50027  # "Invalid Webhook Token"


async def _edit(message: discord.Message | discord.WebhookMessage, text: str) -> None:
    await _changed(message, content=text)


async def edit_view(message: discord.Message | discord.WebhookMessage, view: discord.ui.View | None) -> None:
    """Replace the buttons under a message (None: take them away)."""
    await _changed(message, view=view)


async def _changed(message: discord.Message | discord.WebhookMessage, **change: Any) -> None:
    if isinstance(message, discord.WebhookMessage):  # its edits leave the flags alone
        await message.edit(**change)
    else:
        # Message.edit sends `flags` every time (discord/message.py, `suppress=False` by
        # default): without this every edited answer would get its link previews back.
        await message.edit(**change, suppress=True)


class FollowUps:
    """The messages of a deferred interaction: the first follow-up replaces "thinking…", later
    ones are new messages. Past the token's 15 minutes (a long document, say) the rest goes to
    the channel as ordinary messages that mention the user, an edit included."""

    # room for the mention that a late message starts with
    style = MessageStyle(max_len=MESSAGE_CHARS - 32, edit_interval=EDIT_INTERVAL)

    def __init__(self, interaction: discord.Interaction, *, ephemeral: bool = False) -> None:
        self._ephemeral = ephemeral  # only the user who asked sees the answer
        self._webhook = interaction.followup
        self._channel = interaction.channel
        self._mention = interaction.user.mention
        self._expires = interaction.created_at.timestamp() + TOKEN_SECONDS
        self._moved: dict[int, discord.Message] = {}  # a follow-up's id → the message carrying on for it

    async def post(self, text: str, *, view: discord.ui.View | None = None) -> discord.WebhookMessage | discord.Message:
        """A new message (with `view`'s buttons under it)."""
        buttons = {"view": view} if view else {}
        if time.time() < self._expires:
            try:
                return await self._webhook.send(
                    text, wait=True, suppress_embeds=True, ephemeral=self._ephemeral, **buttons
                )
            except discord.HTTPException as error:
                if error.code != _TOKEN_EXPIRED:
                    raise
        return await self._late(text, **buttons)

    async def edit(self, handle: object, text: str) -> None:
        message = cast(discord.Message | discord.WebhookMessage, handle)
        if moved := self._moved.get(message.id):
            await _edit(moved, f"{self._mention} {text}")
            return
        if isinstance(message, discord.WebhookMessage) and time.time() < self._expires:
            try:
                await _edit(message, text)
                return
            except discord.HTTPException as error:
                if error.code != _TOKEN_EXPIRED:
                    raise
        if isinstance(message, discord.WebhookMessage):
            self._moved[message.id] = await self._late(text)
        else:
            await _edit(message, f"{self._mention} {text}")

    async def room_for_edit(self) -> bool:
        return True  # discord.py paces each route by the bucket headers Discord sends

    async def _late(self, text: str, **buttons: discord.ui.View) -> discord.Message:
        if not isinstance(self._channel, discord.abc.Messageable):
            raise RuntimeError("the interaction's channel cannot take messages")
        return await self._channel.send(
            f"{self._mention} {text}", suppress_embeds=True, allowed_mentions=discord.AllowedMentions(users=True),
            **buttons,
        )


class _Edits:
    style = STYLE

    async def edit(self, handle: object, text: str) -> None:
        await _edit(cast(discord.Message | discord.WebhookMessage, handle), text)

    async def room_for_edit(self) -> bool:
        return True  # discord.py paces each route by the bucket headers Discord sends


class ChannelReplies(_Edits):
    """Answers to a message: the first part replies to it, later parts follow in its channel."""

    def __init__(self, message: discord.Message) -> None:
        self._channel: discord.abc.Messageable = message.channel
        # a question deleted meanwhile must not make the answer fail
        self._reference: discord.MessageReference | None = message.to_reference(fail_if_not_exists=False)

    @classmethod
    def within(cls, channel: discord.abc.Messageable) -> ChannelReplies:
        """Answers in a channel of their own (a thread opened for the question): no reference."""
        replies = cls.__new__(cls)
        replies._channel, replies._reference = channel, None
        return replies

    async def post(self, text: str, *, view: discord.ui.View | None = None) -> discord.Message:
        """A new message (with `view`'s buttons under it)."""
        buttons = {"view": view} if view else {}
        sent = await self._channel.send(text, reference=self._reference, suppress_embeds=True, **buttons)  # type: ignore[arg-type]
        self._reference = None
        return sent
