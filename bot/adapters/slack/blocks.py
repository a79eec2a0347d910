"""The Block Kit the bot sends: the footer under every answer (👍/👎 as Slack's feedback buttons,
and "다시 생성"), the modal asking what went wrong after a 👎, and the App Home.

References: docs.slack.dev/reference/block-kit (context_actions holds feedback_buttons; a
section's text is at most 3,000 characters; modal titles at most 24)."""

from __future__ import annotations

from typing import Any

from bot.frontend.splitting import split_message
from bot.frontend.texts import Texts

FEEDBACK_ACTION = "answer_feedback"
REGENERATE_ACTION = "answer_regenerate"
STOP_ACTION = "answer_stop"
NOTE_VIEW = "feedback_note"
NOTE_BLOCK, NOTE_INPUT = "note", "note_input"
SECTION_CHARS = 3_000
_UP, _DOWN = "up", "down"

Block = dict[str, Any]


def _plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def footer(answer_id: str, texts: Texts) -> list[Block]:
    """👍/👎 and "다시 생성" under the answer `answer_id` (the values carry it back)."""
    feedback = {
        "type": "feedback_buttons",
        "action_id": FEEDBACK_ACTION,
        "positive_button": {"text": _plain("👍"), "value": f"{_UP}:{answer_id}", "accessibility_label": "good"},
        "negative_button": {"text": _plain("👎"), "value": f"{_DOWN}:{answer_id}", "accessibility_label": "bad"},
    }
    regenerate = {"type": "button", "action_id": REGENERATE_ACTION, "text": _plain(texts("regenerate_button")),
                  "value": answer_id}  # fmt: skip
    return [
        {"type": "context_actions", "block_id": f"feedback-{answer_id}", "elements": [feedback]},
        {"type": "actions", "block_id": f"regenerate-{answer_id}", "elements": [regenerate]},
    ]


def stop_button(answer_id: str, texts: Texts) -> list[Block]:
    """The stop button under an answer being written where Slack has no stop of its own."""
    stop = {"type": "button", "action_id": STOP_ACTION, "text": _plain(texts("stop_button")), "value": answer_id,
            "style": "danger"}  # fmt: skip
    return [{"type": "actions", "block_id": f"stop-{answer_id}", "elements": [stop]}]


def verdict(value: str) -> tuple[str, str]:
    """(verdict, answer id) from a feedback button's value."""
    side, _, answer_id = value.partition(":")
    return ("up" if side == _UP else "down"), answer_id


def with_text(mrkdwn: str, blocks: list[Block]) -> list[Block]:
    """`blocks` after the message's own text: once a message has blocks Slack shows them, not its
    text, so the text goes first as sections."""
    parts = split_message(mrkdwn, SECTION_CHARS) if mrkdwn.strip() else []
    return [{"type": "section", "text": {"type": "mrkdwn", "text": part}} for part in parts] + blocks


def note_modal(answer_id: str, texts: Texts) -> Block:
    return {
        "type": "modal",
        "callback_id": NOTE_VIEW,
        "private_metadata": answer_id,
        "title": _plain(texts("feedback_note_title")[:24]),
        "submit": _plain(texts("feedback_note_submit")[:24]),
        "blocks": [
            {
                "type": "input",
                "block_id": NOTE_BLOCK,
                "optional": True,
                "label": _plain(texts("feedback_note_label")),
                "element": {"type": "plain_text_input", "action_id": NOTE_INPUT, "multiline": True, "max_length": 3000},
            }
        ],
    }


def note_of(view: Block) -> str:
    value = view.get("state", {}).get("values", {}).get(NOTE_BLOCK, {}).get(NOTE_INPUT, {}).get("value")
    return str(value or "")


def home(texts: Texts, usage: str) -> Block:
    return {
        "type": "home",
        "blocks": [
            {"type": "header", "text": _plain(texts("slack_home_title"))},
            {"type": "section", "text": {"type": "mrkdwn", "text": texts("slack_home_howto")}},
            {"type": "divider"},
            {"type": "section", "text": {"type": "mrkdwn", "text": usage}},
        ],
    }
