"""A Discord question as a job records it, so that any replica can answer it: who asked what,
and where the answer goes (a reply to a message, or an interaction's follow-ups by its token,
good for 15 minutes); and, read back, the surface it is answered on and how a replica closes the
messages one that stopped had opened for it."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import discord

from bot.adapters.discord.events import Origin
from bot.adapters.discord.surface import MESSAGE_CHARS, ChannelReplies, FollowUps
from bot.frontend.pacing import CallBudget
from bot.frontend.splitting import split_message

log = logging.getLogger(__name__)

Payload = dict[str, Any]


def asked_in_message(message: discord.Message, origin: Origin, text: str) -> Payload:
    where = {"id": message.id, "channel": message.channel.id, "guild": origin.guild}
    return _payload(origin, text, message.attachments[0] if message.attachments else None, reply_to=where)


def asked_by_command(
    interaction: discord.Interaction, origin: Origin, text: str, file: discord.Attachment | None
) -> Payload:
    where = {
        "id": interaction.id, "application": interaction.application_id, "token": interaction.token,
        "channel": interaction.channel_id, "guild": interaction.guild_id,
    }  # fmt: skip
    return _payload(origin, text, file, interaction=where)


def _payload(origin: Origin, text: str, file: discord.Attachment | None, **where: dict[str, Any]) -> Payload:
    return {
        "origin": {**asdict(origin), "roles": sorted(origin.roles)},
        "text": text,
        "attachment": file.to_dict() if file else None,
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
    attachment: Payload | None
    reply_to: Payload | None  # a message's: id, channel, guild
    interaction: Payload | None  # a command's: id, application, token, channel, guild

    @classmethod
    def of(cls, payload: Payload) -> Asked:
        origin = Origin(**{**payload["origin"], "roles": frozenset(payload["origin"]["roles"])})
        return cls(origin, payload["text"], payload["attachment"], payload.get("reply_to"), payload.get("interaction"))

    def file(self, client: discord.Client) -> discord.Attachment | None:
        # discord.py builds an Attachment from its payload and the client's connection state,
        # as it does for a message it receives (Message.__init__).
        if self.attachment is None:
            return None
        return discord.Attachment(data=self.attachment, state=client._connection)  # type: ignore[arg-type]

    def surface(self, client: discord.Client, budget: CallBudget) -> ChannelReplies | FollowUps:
        if self.interaction is not None:
            return FollowUps(_Interaction.of(client, self.interaction, self.origin.user), budget)  # type: ignore[arg-type]
        assert self.reply_to is not None
        channel = client.get_partial_messageable(self.reply_to["channel"], guild_id=self.reply_to["guild"])
        # a partial message has what ChannelReplies reads of a message: its channel, a reference
        return ChannelReplies(channel.get_partial_message(self.reply_to["id"]), budget)  # type: ignore[arg-type]

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
        """Make message `handle` (one this question's answer opened) read `text`; False if
        Discord refused."""
        try:
            if self.interaction is not None:
                await _Interaction.of(client, self.interaction, self.origin.user).followup.edit_message(
                    int(handle), content=text
                )
            else:
                assert self.reply_to is not None
                channel = client.get_partial_messageable(self.reply_to["channel"], guild_id=self.reply_to["guild"])
                # PartialMessage.edit sends no flags, so the answer's SUPPRESS_EMBEDS stays
                await channel.get_partial_message(int(handle)).edit(content=text)
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
