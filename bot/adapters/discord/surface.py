"""Where answers appear on Discord (`bot.frontend.surface.Surface`s), and how they look there;
the calls they make outside the interaction endpoints paced to the bot's global limit."""

from __future__ import annotations

import time
from typing import Any, cast

import discord

from bot.config import Settings
from bot.core.memory.quota import Quotas
from bot.frontend.pacing import CallBudget, PacedMessages
from bot.frontend.surface import MessageStyle, Surface

MESSAGE_CHARS = 2000
# Discord allows about 5 edits per 5 s per channel, and an answer edits one message at a time.
EDIT_INTERVAL = 1.2
STYLE = MessageStyle(max_len=MESSAGE_CHARS, edit_interval=EDIT_INTERVAL)


# An interaction's token allows follow-ups and edits for 15 minutes; a little is kept in hand.
TOKEN_SECONDS = 15 * 60 - 20
_TOKEN_EXPIRED = 50027  # "Invalid Webhook Token"

# Discord counts every REST call of a bot against one global limit a second, except the
# interaction endpoints (callback, follow-ups, their edits), which "are not bound to the bot's
# Global Rate Limit" (discord.com/developers/docs/topics/rate-limits). discord.py waits out each
# route's bucket and a global 429 after the fact; this budget keeps answers from provoking one.
REST = "rest"


def rest_budget(settings: Settings, quotas: Quotas, bot_id: int) -> CallBudget:
    """The bot's global limit, shared by every process and replica answering as it."""
    return CallBudget(quotas, f"discord:{bot_id}", {REST: settings.discord_requests_per_second}, window=1.0)


# Discord also limits new messages and edits per channel: 5 of each per 5 s is what its headers
# are observed to say (fakes/discord.py cites where). discord.py waits on those headers, but each
# process only for itself: replicas answering in one busy channel would each spend the same 5
# and meet 429s, so a channel's messages and edits are counted for all of them, in a window half
# a second longer than Discord's (which starts when its first request arrives, after the
# request's travel). Edits that only show an answer growing then thin out in a busy channel.
CHANNEL_CALLS, CHANNEL_WINDOW = 5, 5.5
_POSTS, _EDITS = "post", "edit"


def channel_budget(budget: CallBudget, channel_id: int) -> CallBudget:
    """New messages and edits in one channel, for every process and replica of the bot `budget`
    is of."""
    limits = {_POSTS: CHANNEL_CALLS, _EDITS: CHANNEL_CALLS}
    return CallBudget(budget.quotas, f"{budget.scope}:channel:{channel_id}", limits, window=CHANNEL_WINDOW)


class _Paced:
    """An answer's calls in a channel, spent from its channel's budget and the bot's global one
    (`PacedMessages` of each: an edit goes only with room in both)."""

    def __init__(self, budget: CallBudget, channel_id: int | None) -> None:
        self._each = [PacedMessages(budget, posts=REST, edits=REST)]
        if channel_id is not None:
            self._each.insert(0, PacedMessages(channel_budget(budget, channel_id), posts=_POSTS, edits=_EDITS))

    async def post(self) -> None:
        for paced in self._each:
            await paced.post()

    async def room_for_edit(self, *, first: bool = False) -> bool:
        for paced in self._each:
            if not await paced.room_for_edit(first=first):
                return False
        return True

    async def edit(self) -> None:
        for paced in self._each:
            await paced.edit()


async def _edit(message: discord.Message | discord.WebhookMessage, text: str) -> None:
    await _changed(message, content=text)


async def _changed(message: discord.Message | discord.WebhookMessage, **change: Any) -> None:
    if isinstance(message, discord.WebhookMessage):  # its edits leave the flags alone
        await message.edit(**change)
    else:
        # Message.edit sends `flags` every time (discord/message.py, `suppress=False` by
        # default): without this every edited answer would get its link previews back.
        await message.edit(**change, suppress=True)


class FollowUps(Surface):
    """The messages of a deferred interaction: the first follow-up replaces "thinking…", later
    ones are new messages. Past the token's 15 minutes (a long document, say) the rest goes to
    the channel as ordinary messages that mention the user, an edit included."""

    # room for the mention that a late message starts with
    style = MessageStyle(max_len=MESSAGE_CHARS - 32, edit_interval=EDIT_INTERVAL)

    def __init__(self, interaction: discord.Interaction, budget: CallBudget, *, ephemeral: bool = False) -> None:
        # for the channel's messages only (late ones: follow-ups are not counted)
        self._paced = _Paced(budget, getattr(interaction.channel, "id", None))
        self._ephemeral = ephemeral  # only the user who asked sees the answer
        self._webhook = interaction.followup
        self._channel = interaction.channel
        self._mention = interaction.user.mention
        self.editable_until = interaction.created_at.timestamp() + TOKEN_SECONDS
        self._moved: dict[int, discord.Message] = {}  # a follow-up's id → the message carrying on for it

    async def post(self, text: str, *, view: discord.ui.View | None = None) -> discord.WebhookMessage | discord.Message:
        """A new message (with `view`'s buttons under it)."""
        buttons = {"view": view} if view else {}
        if time.time() < self.editable_until:
            try:
                return await self._webhook.send(
                    text, wait=True, suppress_embeds=True, ephemeral=self._ephemeral, **buttons
                )
            except discord.HTTPException as error:
                if error.code != _TOKEN_EXPIRED:
                    raise
        return await self._late(text, **buttons)

    async def set_view(self, handle: object, view: discord.ui.View | None) -> None:
        """Replace the buttons under message `handle` (None: take them away)."""
        message = self._moved.get(cast(discord.Message, handle).id) or cast(discord.Message | discord.WebhookMessage, handle)
        if not isinstance(message, discord.WebhookMessage):
            await self._paced.edit()
        await _changed(message, view=view)

    async def edit(self, handle: object, text: str) -> None:
        message = cast(discord.Message | discord.WebhookMessage, handle)
        if moved := self._moved.get(message.id):
            await self._paced.edit()
            await _edit(moved, f"{self._mention} {text}")
            return
        if isinstance(message, discord.WebhookMessage) and time.time() < self.editable_until:
            try:
                await _edit(message, text)
                return
            except discord.HTTPException as error:
                if error.code != _TOKEN_EXPIRED:
                    raise
        if isinstance(message, discord.WebhookMessage):
            self._moved[message.id] = await self._late(text)
        else:
            await self._paced.edit()
            await _edit(message, f"{self._mention} {text}")

    async def room_for_edit(self, *, first: bool = False) -> bool:
        if self._counted():
            return await self._paced.room_for_edit(first=first)
        return True

    async def room_for_message(self) -> bool:
        return True  # see ChannelReplies.room_for_message

    def _counted(self) -> bool:
        # Follow-ups are not counted globally, and discord.py paces each route by the bucket
        # headers Discord sends; the channel's messages, past the token's time, are.
        return bool(self._moved) or time.time() >= self.editable_until

    async def _late(self, text: str, **buttons: discord.ui.View) -> discord.Message:
        if not isinstance(self._channel, discord.abc.Messageable):
            raise RuntimeError("the interaction's channel cannot take messages")
        await self._paced.post()
        return await self._channel.send(
            f"{self._mention} {text}", suppress_embeds=True, allowed_mentions=discord.AllowedMentions(users=True),
            **buttons,
        )


class ChannelReplies(Surface):
    """Answers to a message: the first part replies to it, later parts follow in its channel."""

    style = STYLE

    def __init__(self, message: discord.Message, budget: CallBudget) -> None:
        self._paced = _Paced(budget, message.channel.id)
        self._channel: discord.abc.Messageable = message.channel
        # a question deleted meanwhile must not make the answer fail
        self._reference: discord.MessageReference | None = message.to_reference(fail_if_not_exists=False)

    @classmethod
    def within(cls, channel: discord.abc.Messageable, budget: CallBudget) -> ChannelReplies:
        """Answers in a channel of their own (a thread opened for the question): no reference."""
        replies = cls.__new__(cls)
        channel_id = getattr(channel, "id", None)  # every channel a thread is opened as has one
        replies._paced, replies._channel, replies._reference = _Paced(budget, channel_id), channel, None
        return replies

    async def edit(self, handle: object, text: str) -> None:
        await self._paced.edit()
        await _edit(cast(discord.Message | discord.WebhookMessage, handle), text)

    async def room_for_edit(self, *, first: bool = False) -> bool:
        return await self._paced.room_for_edit(first=first)

    async def room_for_message(self) -> bool:
        # Discord's limits count a second (or five) at a time: a final edit waits a moment for
        # room at most, where room taken now, seconds before the edit, would let the edits of
        # answers ending together go out in one burst past the global limit.
        return True

    async def post(self, text: str, *, view: discord.ui.View | None = None) -> discord.Message:
        """A new message (with `view`'s buttons under it)."""
        buttons = {"view": view} if view else {}
        await self._paced.post()
        sent = await self._channel.send(text, reference=self._reference, suppress_embeds=True, **buttons)  # type: ignore[arg-type]
        self._reference = None
        return sent

    async def set_view(self, handle: object, view: discord.ui.View | None) -> None:
        """Replace the buttons under message `handle` (None: take them away)."""
        await self._paced.edit()
        await _changed(cast(discord.Message, handle), view=view)
