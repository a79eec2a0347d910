"""Slack's AI-app surface: the assistant threads of its AI container (bolt-python's `Assistant`
middleware: a greeting and suggested prompts when one opens, the channel the user is viewing),
the status shown while the model works (`assistant.threads.setStatus`, which `chat:write` allows in
any thread since March 2026), the thread's title from its first question, and the agent session
whose "processing" status gives users Slack's own stop button (`agents.sessions.setStatus`; the
click arrives as `agent_session_stopped`).

Every call here is a courtesy: a workspace or app that refuses one (not an agent app, an older
plan) gets the answer all the same, and is not asked again for that kind of call."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAssistant
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.surface import Place
from bot.core.conversation import ConversationKey
from bot.core.engine import ChatEngine
from bot.core.memory import Memory
from bot.frontend.texts import Texts

log = logging.getLogger(__name__)

TITLE_CHARS = 60  # a title is read at a glance in the thread list
_NO_CONTEXT = "-"
_PROMPTS = ("document", "channel", "missed", "help")  # up to four, Slack's limit


class AssistantThreads:
    def __init__(self, client: AsyncWebClient, memory: Memory, ttl_seconds: int) -> None:
        self.client = client
        self.memory = memory
        self.ttl = ttl_seconds
        self._refused: set[str] = set()  # methods this app may not call

    def _mark(self, channel: str, thread_ts: str) -> str:
        return f"slack-assistant:{channel}:{thread_ts}"

    async def started(self, thread: dict[str, Any], texts: Texts) -> None:
        """A user opened an assistant thread: greet them, suggest prompts, remember which
        channel they were viewing (for "이 채널 요약")."""
        channel, thread_ts = thread["channel_id"], thread["thread_ts"]
        await self.viewing(thread)
        await self.client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=texts("slack_greeting"))
        prompts = [{"title": texts(f"slack_prompt_{p}"), "message": texts(f"slack_prompt_{p}_message")} for p in _PROMPTS]
        # No thread_ts: an agent app's call with one silently does nothing; without it the prompts
        # go to the newest thread, which this one is (docs.slack.dev, setSuggestedPrompts).
        await self._call("assistant_threads_setSuggestedPrompts", channel_id=channel, prompts=prompts,
                         title=texts("slack_prompts_title"))  # fmt: skip

    async def viewing(self, thread: dict[str, Any]) -> None:
        """Remember the channel the user views beside the assistant thread (its context)."""
        viewed = (thread.get("context") or {}).get("channel_id") or _NO_CONTEXT
        await self.memory.mark(self._mark(thread["channel_id"], thread["thread_ts"]), self.ttl, viewed)

    async def viewed_channel(self, place: Place) -> str | None:
        viewed = await self.memory.marked(self._mark(place.channel, place.thread_ts or ""))
        return viewed if viewed and viewed != _NO_CONTEXT else None

    async def working(
        self, place: Place, status: str, *, title: str | None, key: ConversationKey, engine: ChatEngine
    ) -> None:
        """The status while the model works; an assistant thread's title from its first question."""
        if not place.thread_ts:
            return
        await self._call("assistant_threads_setStatus", channel_id=place.channel, thread_ts=place.thread_ts, status=status)
        if title and await self.memory.is_marked(self._mark(place.channel, place.thread_ts)):
            if not (await engine.memory.context(key)).history:
                await self._call("assistant_threads_setTitle", channel_id=place.channel, thread_ts=place.thread_ts,
                                 title=_title(title))  # fmt: skip

    async def processing(self, place: Place, title: str) -> None:
        """The thread's agent session is processing: Slack shows its stop button until the
        answer's stream stops (chat.stopStream moves the session on)."""
        if place.thread_ts:
            await self._call("agents_sessions_setStatus", channel_id=place.channel, thread_ts=place.thread_ts,
                             status="processing", title=_title(title) if title else None)  # fmt: skip

    async def done(self, place: Place) -> None:
        """The answer is over: its thread's session leaves processing, and Slack's stop button
        goes. An answer's native stream does this with its chat.stopStream; one written in plain
        messages says so here ("The session status does not update automatically":
        docs.slack.dev/reference/events/agent_session_stopped)."""
        if place.thread_ts:
            await self._call("agents_sessions_setStatus", channel_id=place.channel, thread_ts=place.thread_ts,
                             status="active")  # fmt: skip

    async def _call(self, method: str, **args: Any) -> None:
        if method in self._refused:
            return
        try:
            await getattr(self.client, method)(**{k: v for k, v in args.items() if v is not None})
        except SlackApiError as error:
            code = error.response.get("error")
            if code in ("unknown_method", "not_allowed", "missing_scope", "not_allowed_token_type", "feature_not_enabled"):
                self._refused.add(method)
            log.info("%s refused (%s): answering without it", method, code)


def _title(question: str) -> str:
    line = " ".join(question.split())
    return line if len(line) <= TITLE_CHARS else f"{line[: TITLE_CHARS - 1]}…"


def assistant_middleware(threads: AssistantThreads, texts: Texts, engine: ChatEngine) -> AsyncAssistant:
    """bolt's Assistant: its thread-started and context-changed events. User messages in the
    thread are not taken here: they reach the app's message listener, as every DM does."""
    assistant = AsyncAssistant()

    @assistant.thread_started
    async def started(body: dict[str, Any], payload: dict[str, Any]) -> None:
        # Slack redelivers an event it thinks was missed, to any replica: one greeting only.
        if await engine.claim_event(f"slack:{body['event_id']}"):
            await threads.started(payload["assistant_thread"], texts)

    @assistant.thread_context_changed
    async def context_changed(payload: dict[str, Any]) -> None:
        await threads.viewing(payload["assistant_thread"])

    return assistant
