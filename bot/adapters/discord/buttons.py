"""The buttons under an answer: "중지" while it is written, then "다시 생성", 👍 and 👎, and what
pressing each does; and the note a 👎 asks for. Their custom_ids carry all they need (the answer's id, who asked), so any
replica handles a click: discord.py's DynamicItem parses them, and no view is kept per message.

Discord: a custom_id holds at most 100 characters; a component interaction is answered within
3 s, by DEFERRED_UPDATE_MESSAGE (6), UPDATE_MESSAGE (7), a message or a modal (9)."""

from __future__ import annotations

import logging
import math
import re
from typing import TYPE_CHECKING, Any, Literal, cast

import discord

from bot.adapters.discord.events import Origin
from bot.adapters.discord.recorded import asked_by_command
from bot.adapters.discord.surface import ChannelReplies, FollowUps
from bot.core.memory.feedback import Verdict
from bot.frontend import feedback
from bot.frontend.streaming import now, sleep_until
from bot.frontend.texts import Texts

if TYPE_CHECKING:
    from bot.adapters.discord.client import DiscordBot

log = logging.getLogger(__name__)

Press = Literal["stop", "regen", "up", "down"]
NOTE_PREFIX = "answer-note:"
_NOTE_FIELD = "note"
_NOTE_CHARS = 1000
_MODAL_SECONDS = 600  # how long discord.py keeps the modal it sent; a submit reaches any replica anyway


class AnswerButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"answer:(?P<press>stop|regen|up|down):(?P<answer>[0-9a-f]{32}):(?P<asker>\d+)",
):
    def __init__(self, press: Press, answer_id: str, asker: int, texts: Texts | None = None) -> None:
        label, emoji, style = _LOOKS[press]
        super().__init__(
            discord.ui.Button(
                custom_id=f"answer:{press}:{answer_id}:{asker}", style=style, emoji=emoji,
                label=texts(label) if texts and label else None,
            )
        )  # fmt: skip
        self.press, self.answer_id, self.asker = press, answer_id, asker

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> AnswerButton:
        return cls(cast(Press, match["press"]), match["answer"], int(match["asker"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Stop and regenerate are the asker's; anyone may say 👍 or 👎."""
        bot = cast("DiscordBot", interaction.client)
        if not await bot.claimed(interaction):
            return
        if self.press in ("stop", "regen") and interaction.user.id != self.asker:
            await interaction.response.send_message(bot.texts("answer_not_yours"), ephemeral=True)
        elif self.press == "stop":
            await interaction.response.defer()  # DEFERRED_UPDATE_MESSAGE: the answer changes by itself
            await bot.stops.request(self.answer_id)
        elif self.press == "regen":
            await _regenerate(bot, interaction, self.answer_id)
        else:
            await _judge(bot, interaction, self.answer_id, "up" if self.press == "up" else "down")


async def _regenerate(bot: DiscordBot, interaction: discord.Interaction, answer_id: str) -> None:
    """The old answer loses its buttons at once (UPDATE_MESSAGE); the new one follows as a job,
    replacing the remembered answer only while `answer_id` is the last one."""
    await interaction.response.edit_message(view=None)
    where = Origin.of(interaction.user, interaction.guild_id, interaction.channel)
    payload = asked_by_command(interaction, where, "", (), "regenerate") | {"replacing": answer_id}
    await bot.accept(None, interaction.id, where, payload, FollowUps(interaction, bot.budget))


async def _judge(bot: DiscordBot, interaction: discord.Interaction, answer_id: str, verdict: Verdict) -> None:
    """Stored; a 👎 then asks what went wrong (a modal), a 👍 is thanked where only the user sees it."""
    said = await feedback.judge(bot.engine, bot.texts, answer_id, f"discord:{interaction.user.id}", verdict)
    if verdict == "down" and said == bot.texts("feedback_thanks"):
        await interaction.response.send_modal(note_modal(answer_id, bot.texts))
    else:
        await interaction.response.send_message(said, ephemeral=True)


_LOOKS: dict[Press, tuple[str | None, str | None, discord.ButtonStyle]] = {
    "stop": ("stop_button", "⏹️", discord.ButtonStyle.danger),
    "regen": ("regenerate_button", "🔄", discord.ButtonStyle.secondary),
    "up": (None, "👍", discord.ButtonStyle.secondary),
    "down": (None, "👎", discord.ButtonStyle.secondary),
}


def _view(*buttons: AnswerButton) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for button in buttons:
        view.add_item(button)
    return view


def while_writing(answer_id: str, asker: int, texts: Texts) -> discord.ui.View:
    return _view(AnswerButton("stop", answer_id, asker, texts))


def when_done(answer_id: str, asker: int, texts: Texts) -> discord.ui.View:
    return _view(*(AnswerButton(press, answer_id, asker, texts) for press in ("regen", "up", "down")))


class WithButtons:
    """A Discord surface (ChannelReplies, FollowUps) whose answer carries `first` under its first
    message while it is written; `finish` then moves the buttons under its last message (or takes
    them away). Those edits keep the answer's own pace (the style's edit interval after its last
    edit: Discord allows about 5 edits per 5 s in a channel) and spend the surface's budget."""

    def __init__(self, surface: ChannelReplies | FollowUps, first: discord.ui.View) -> None:
        self._surface = surface
        self._first: discord.ui.View | None = first
        self.handles: list[Any] = []
        self._edited = -math.inf  # when the answer was last edited (the loop's clock)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._surface, name)

    async def post(self, text: str) -> object:
        view, self._first = self._first, None
        handle = await self._surface.post(text, view=view)
        self.handles.append(handle)
        return handle

    async def edit(self, handle: object, text: str) -> None:
        await self._surface.edit(handle, text)
        self._edited = now()

    async def finish(self, last: discord.ui.View | None) -> None:
        """`last` under the last message, none under the others (None: no buttons at all)."""
        changes = ([(self.handles[0], None)] if len(self.handles) > 1 else []) + [(self.handles[-1], last)]
        try:
            for message, view in changes if self.handles else []:
                await sleep_until(self._edited + self._surface.style.edit_interval)
                await self._surface.set_view(message, view)
                self._edited = now()
        except discord.HTTPException as error:  # the answer is shown; only its buttons are off
            log.info("could not change the buttons of an answer (%s)", error.status)


def note_modal(answer_id: str, texts: Texts) -> discord.ui.Modal:
    """What went wrong, asked after a 👎 (optional: an empty note keeps the 👎 as it is)."""
    modal = discord.ui.Modal(title=texts("feedback_note_title")[:45], custom_id=f"{NOTE_PREFIX}{answer_id}",
                             timeout=_MODAL_SECONDS)  # fmt: skip
    modal.add_item(discord.ui.TextInput(
        label=texts("feedback_note_label")[:45], custom_id=_NOTE_FIELD, style=discord.TextStyle.paragraph,
        required=False, max_length=_NOTE_CHARS,
    ))  # fmt: skip
    return modal


async def on_note(bot: DiscordBot, interaction: discord.Interaction) -> None:
    """A 👎's note was sent: it joins the verdict; the user reads the thanks (only they see it)."""
    data = cast(dict[str, Any], interaction.data or {})
    answer_id = str(data.get("custom_id", ""))[len(NOTE_PREFIX):]
    fields = [item for row in data.get("components", []) for item in row.get("components", [])]
    note = next((str(item.get("value") or "") for item in fields if item.get("custom_id") == _NOTE_FIELD), "")
    said = await feedback.add_note(bot.engine, bot.texts, answer_id, f"discord:{interaction.user.id}", note)
    await interaction.response.send_message(said, ephemeral=True)
