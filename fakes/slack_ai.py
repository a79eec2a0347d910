"""The fake Slack's AI-app and interactivity surfaces (mixed into fakes.slack.FakeSlack): the
assistant / agent-session methods, views (modals, App Home), permalinks, Block Kit checks, and
the payloads Slack sends for them (assistant_thread_started, agent_session_stopped,
app_home_opened, block_actions, view_submission, message shortcuts).

As strict as Slack's reference pages (docs.slack.dev/reference/...), where they say:

* ``assistant.threads.setStatus``: ``channel_id``, ``thread_ts`` and ``status`` required (an empty
  status clears it); at most 10 ``loading_messages``. Rate: "special" (not tiered here).
* ``assistant.threads.setSuggestedPrompts``: ``channel_id`` and ``prompts`` required, at most four,
  each with ``title`` and ``message``; ``thread_ts`` optional (agent apps must omit it: the call
  then silently does nothing, which the fake records as ``ignored``). Tier 4.
* ``assistant.threads.setTitle``: ``channel_id``, ``thread_ts``, ``title`` required. Tier 4.
* ``agents.sessions.setStatus``: ``channel_id`` and ``status`` (processing, active, suspended,
  closed) required; ``thread_ts``, ``title`` optional. Tier 3. While the session of a thread is
  processing, the user has a native stop button (``press_stop``: the ``agent_session_stopped``
  event, whose ``streaming_message_ts`` lists the streams Slack stopped). Its ``chat.stopStream``
  moves the session out of processing.
* ``views.open`` (``trigger_id`` + ``view``; a trigger is valid for 3 seconds and once),
  ``views.publish`` (``user_id`` + a ``home`` view). Tier 4. Views: at most 100 blocks, a
  modal's ``title`` at most 24 characters, ``submit`` / ``close`` 24.
* ``chat.getPermalink``: ``channel`` + ``message_ts``. Tier "special" (not tiered).
* Blocks (``blocks`` of chat.postMessage / chat.update / chat.stopStream, views): at most 50 in a
  message; known types only; ``section`` text at most 3,000 characters; ``actions`` at most 25
  elements; ``context_actions`` 1-5 ``feedback_buttons`` / ``icon_button`` elements; button texts
  at most 75 characters, values 2,000, action_id 255, style primary or danger. Anything else:
  ``invalid_blocks``.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

AI_RATE_TIERS = {
    "assistant.threads.setSuggestedPrompts": 100,
    "assistant.threads.setTitle": 100,
    "agents.sessions.setStatus": 50,
    "views.open": 100,
    "views.publish": 100,
    # Tier 3 for internal apps like this one (the Tier 1 limit of May 2025 is for new
    # non-Marketplace apps distributed to other workspaces).
    "conversations.history": 50,
    "conversations.replies": 50,
    "users.info": 100,
}
SESSION_STATUSES = frozenset({"processing", "active", "suspended", "closed"})
TRIGGER_SECONDS = 3.0
_BLOCK_TYPES = frozenset(
    {"section", "actions", "context", "context_actions", "divider", "header", "markdown", "rich_text", "input",
     "image"}
)  # fmt: skip


class SlackError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


@dataclass
class Session:
    """An agent session (a thread the bot works in), as Slack keeps it."""

    channel: str
    thread_ts: str
    status: str
    title: str = ""
    statuses: list[str] = field(default_factory=list)


def check_blocks(blocks: Any, *, limit: int = 50) -> None:
    if not isinstance(blocks, list) or len(blocks) > limit:
        raise SlackError("invalid_blocks")
    for block in blocks:
        if not isinstance(block, dict) or block.get("type") not in _BLOCK_TYPES:
            raise SlackError("invalid_blocks")
        _check_block(block)


def _check_block(block: dict[str, Any]) -> None:
    kind = block["type"]
    if kind == "section":
        text = block.get("text") or {}
        if not block.get("text") and not block.get("fields"):
            raise SlackError("invalid_blocks")
        if len(str(text.get("text", ""))) > 3000 or text.get("type", "mrkdwn") not in ("mrkdwn", "plain_text"):
            raise SlackError("invalid_blocks")
    elif kind == "actions":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 25:
            raise SlackError("invalid_blocks")
        for element in elements:
            if element.get("type") != "button":
                continue
            _check_button(element)
    elif kind == "context_actions":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 5:
            raise SlackError("invalid_blocks")
        for element in elements:
            if element.get("type") == "feedback_buttons":
                for side in ("positive_button", "negative_button"):
                    _check_button({**(element.get(side) or {}), "action_id": element.get("action_id", "x")})
            elif element.get("type") != "icon_button":
                raise SlackError("invalid_blocks")
    elif kind == "header" and len(str((block.get("text") or {}).get("text", ""))) > 150:
        raise SlackError("invalid_blocks")
    elif kind == "input" and not (block.get("label") and block.get("element")):
        raise SlackError("invalid_blocks")


def _check_button(button: dict[str, Any]) -> None:
    text = button.get("text") or {}
    if text.get("type") != "plain_text" or not 0 < len(str(text.get("text", ""))) <= 75:
        raise SlackError("invalid_blocks")
    if len(str(button.get("value", ""))) > 2000 or len(str(button.get("action_id", ""))) > 255:
        raise SlackError("invalid_blocks")
    if button.get("style") not in (None, "primary", "danger"):
        raise SlackError("invalid_blocks")


def check_view(view: Any, kind: str) -> None:
    if not isinstance(view, dict) or view.get("type") != kind:
        raise SlackError("invalid_arguments")
    if kind == "modal":
        for key in ("title", "submit", "close"):
            text = view.get(key)
            if text is not None and (text.get("type") != "plain_text" or len(str(text.get("text", ""))) > 24):
                raise SlackError("invalid_arguments")
        if not view.get("title"):
            raise SlackError("invalid_arguments")
    check_blocks(view.get("blocks") or [], limit=100)


def new_trigger() -> tuple[str, float]:
    return f"{int(time.time())}.{uuid.uuid4().hex[:12]}", time.monotonic()
