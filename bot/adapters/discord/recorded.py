"""A Discord question as a job records it, so that any replica can answer it: who asked what,
and where the answer goes (a reply to a message, or an interaction's follow-ups by its token,
good for 15 minutes); and, read back, the surface it is answered on and how a replica closes the
messages one that stopped had opened for it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any, Literal

import discord

from bot.adapters.discord.events import Origin
from bot.adapters.discord.surface import MESSAGE_CHARS, ChannelReplies, FollowUps
from bot.frontend.pacing import CallBudget
from bot.frontend.splitting import split_message

log = logging.getLogger(__name__)

_THREAD_EXISTS = 160004  # "A thread has already been created for this message"

Payload = dict[str, Any]


# What a question asks for: an answer (with files: each read, the text a question about it), a
# summary (of its files, else of its text), a translation of its text, a new answer to the
# conversation's last question, a summary of the thread or the channel's last hours.
Action = Literal["answer", "summarize", "translate", "regenerate", "summarize_chat"]


def asked_in_message(message: discord.Message, origin: Origin, text: str, *, thread: bool = False) -> Payload:
    """`thread`: answered in a thread opened on the message (whose id the thread shares)."""
    where = {"id": message.id, "channel": message.channel.id, "guild": origin.guild, "thread": thread}
    return _payload(origin, text, message.attachments, "answer", reply_to=where)


def asked_by_command(
    interaction: discord.Interaction, origin: Origin, text: str, files: Sequence[discord.Attachment],
    action: Action, *, ephemeral: bool = False,
) -> Payload:  # fmt: skip
    where = {
        "id": interaction.id, "application": interaction.application_id, "token": interaction.token,
        "channel": interaction.channel_id, "guild": interaction.guild_id, "ephemeral": ephemeral,
    }  # fmt: skip
    return _payload(origin, text, files, action, interaction=where)


def _payload(
    origin: Origin, text: str, files: Sequence[discord.Attachment], action: Action, **where: dict[str, Any]
) -> Payload:
    return {
        "origin": {**asdict(origin), "roles": sorted(origin.roles)},
        "text": text,
        "attachments": [file.to_dict() for file in files],
        "action": action,
        **where,
    }


def asked_at(snowflake: int) -> float:
    """When Discord got the message or interaction: the time in its id (to the millisecond)."""
    return discord.utils.snowflake_time(snowflake).timestamp()


@dataclass(frozen=True)
class Asked:
    """A recorded question, read back."""

    origin: Origin
    text: str
    attachments: list[Payload]
    action: Action
    reply_to: Payload | None  # a message's: id, channel, guild
    interaction: Payload | None  # a command's: id, application, token, channel, guild, ephemeral
    answer_id: str  # what stop and feedback name the answer by
    hours: int | None = None  # a channel summary's: how far back (None: a whole thread)
    replacing: str = ""  # a regenerate's: the id of the answer whose button was pressed

    @classmethod
    def of(cls, payload: Payload) -> Asked:
        origin = Origin(**{**payload["origin"], "roles": frozenset(payload["origin"]["roles"])})
        # a job recorded by the previous release (one file, no action) is still answered
        files = payload["attachments"] if "attachments" in payload else [f for f in [payload["attachment"]] if f]
        action = payload.get("action", "answer")
        return cls(
            origin, payload["text"], files, action, payload.get("reply_to"), payload.get("interaction"),
            payload.get("answer_id", ""), payload.get("hours"), payload.get("replacing", ""),
        )

    def files(self, client: discord.Client) -> list[discord.Attachment]:
        # discord.py builds an Attachment from its payload and the client's connection state,
        # as it does for a message it receives (Message.__init__).
        return [discord.Attachment(data=file, state=client._connection) for file in self.attachments]  # type: ignore[arg-type]

    @property
    def in_thread(self) -> bool:
        """Whether it is answered in a thread opened on its message."""
        return bool(self.reply_to and self.reply_to.get("thread"))

    def surface(self, client: discord.Client, budget: CallBudget) -> ChannelReplies | FollowUps:
        if self.interaction is not None:
            ephemeral = bool(self.interaction.get("ephemeral"))
            return FollowUps(_Interaction.of(client, self.interaction, self.origin.user), budget, ephemeral=ephemeral)  # type: ignore[arg-type]
        assert self.reply_to is not None
        if self.in_thread:
            thread = client.get_partial_messageable(self.reply_to["id"], guild_id=self.reply_to["guild"])
            return ChannelReplies.within(thread, budget)
        channel = client.get_partial_messageable(self.reply_to["channel"], guild_id=self.reply_to["guild"])
        # a partial message has what ChannelReplies reads of a message: its channel, a reference
        return ChannelReplies(channel.get_partial_message(self.reply_to["id"]), budget)  # type: ignore[arg-type]

    async def open_thread(self, client: discord.Client, name: str) -> Asked:
        """Open the thread it is to be answered in (a replica that stopped may have opened it
        already); the question answered in its channel instead when Discord refuses."""
        assert self.reply_to is not None
        channel = client.get_partial_messageable(self.reply_to["channel"], guild_id=self.reply_to["guild"])
        try:
            await channel.get_partial_message(self.reply_to["id"]).create_thread(name=name, auto_archive_duration=1440)
        except discord.HTTPException as error:
            if error.code != _THREAD_EXISTS:
                log.info("could not open a thread on message %s (%s): answering in the channel", self.reply_to["id"], error.status)
                return self.in_channel()
        return self

    def in_channel(self) -> Asked:
        """Answered by a reply in its message's channel, not in a thread."""
        return replace(self, reply_to={**self.reply_to, "thread": False}) if self.reply_to else self

    async def close(self, client: discord.Client, opened: tuple[str, ...], note: str) -> None:
        """Replace the messages a replica that stopped had opened for this question (its
        placeholder, or its partial answer) with `note`."""
        for handle in opened:
            await self.replace(client, handle, note)

    async def show_answered(
        self, client: discord.Client, budget: CallBudget, opened: tuple[str, ...], answer: str, note: str
    ) -> None:
        """A replica that stopped had the whole answer (it is in the conversation's memory): its
        one message becomes the answer; failing that, the note closes what it opened and the
        answer follows."""
        if len(opened) == 1 and len(answer) <= MESSAGE_CHARS and await self.replace(client, opened[0], answer):
            return
        await self.close(client, opened, note)
        surface = self.surface(client, budget)
        for part in split_message(answer, surface.style.max_len, surface.style.formatted_len):
            await surface.post(surface.style.format(part))

    async def replace(self, client: discord.Client, handle: str, text: str) -> bool:
        """Make message `handle` (one this question's answer opened) read `text`, without the
        buttons the answer had while it was written (its stop: a note or an answer shown by
        another replica has nothing left to stop); False if Discord refused."""
        try:
            if self.interaction is not None:
                await _Interaction.of(client, self.interaction, self.origin.user).followup.edit_message(
                    int(handle), content=text, view=None
                )
            else:
                assert self.reply_to is not None
                channel = client.get_partial_messageable(self.reply_to["channel"], guild_id=self.reply_to["guild"])
                # PartialMessage.edit sends no flags, so the answer's SUPPRESS_EMBEDS stays
                await channel.get_partial_message(int(handle)).edit(content=text, view=None)
        except discord.HTTPException as error:
            log.info("could not change message %s of a job taken over (%s)", handle, error.status)
            return False
        return True


def message_id(message: discord.Message | discord.WebhookMessage) -> str:
    """A posted message as a job notes it."""
    return str(message.id)


@dataclass(frozen=True)
class _User:
    id: int

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"


@dataclass(frozen=True)
class _Interaction:
    """What FollowUps reads of an interaction, rebuilt from its record on any replica: the
    follow-up webhook (application id and token, as discord.py's Interaction.followup builds it),
    its channel, its user, when it was made."""

    id: int
    followup: discord.Webhook
    channel: discord.PartialMessageable
    user: _User
    created_at: datetime

    @classmethod
    def of(cls, client: discord.Client, record: Payload, user: int) -> _Interaction:
        state = client._connection
        token = {"id": record["application"], "type": 3, "token": record["token"]}
        webhook = discord.Webhook.from_state(data=token, state=state)  # type: ignore[arg-type]
        channel = client.get_partial_messageable(record["channel"], guild_id=record["guild"])
        return cls(record["id"], webhook, channel, _User(user), discord.utils.snowflake_time(record["id"]))
