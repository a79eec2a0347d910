"""The terminal: `python -m bot chat` and `python -m bot ask`.

The terminal conversation is one conversation per OS user, kept in memory like any other, so it
continues across runs until `/reset`."""

from __future__ import annotations

import asyncio
import getpass
import sys
from contextlib import aclosing
from typing import TextIO

from bot.core.conversation import ConversationKey
from bot.core.engine import ChatEngine
from bot.core.errors import BotError
from bot.core.messages import text as say
from bot.core.messages import user_message

HELP = {
    "ko": "명령: /reset 대화 초기화, /file 경로 문서 첨부, /exit 종료, /help 도움말",
    "en": "Commands: /reset clear the conversation, /file PATH attach a document, /exit quit, /help",
}


def console_key() -> ConversationKey:
    return ConversationKey("console", (getpass.getuser(),))


async def ask(engine: ChatEngine, question: str, *, stream: bool, out: TextIO = sys.stdout) -> int:
    """Answer once; the exit status is 0 on an answer, 1 on a failure (message on stderr)."""
    lang = engine.settings.bot_language
    try:
        if stream:
            await _stream_answer(engine, question, out)
        else:
            print(await engine.reply(console_key(), question), file=out, flush=True)
    except BotError as error:
        print(user_message(error, lang), file=sys.stderr, flush=True)
        return 1
    return 0


async def _stream_answer(engine: ChatEngine, question: str, out: TextIO) -> None:
    started = False
    try:
        async with aclosing(engine.stream_reply(console_key(), question)) as deltas:
            async for delta in deltas:
                out.write(delta.lstrip() if not started else delta)
                started = started or bool(delta.strip())
                out.flush()
    finally:
        if started:
            out.write("\n")
            out.flush()


async def chat(engine: ChatEngine, stdin: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    lang = engine.settings.bot_language
    interactive = stdin.isatty()
    print(HELP[lang], file=out, flush=True)
    while True:
        line = await asyncio.to_thread(_read_line, stdin, "> " if interactive else "", out)
        if line is None or line.strip() == "/exit":
            return 0
        line = line.strip()
        if not line:
            continue
        if line == "/reset":
            await engine.reset(console_key())
            print(say("reset_done", lang), file=out, flush=True)
        elif line == "/help":
            print(HELP[lang], file=out, flush=True)
        else:
            try:
                await _stream_answer(engine, line, out)
            except BotError as error:
                print(user_message(error, lang), file=out, flush=True)


def _read_line(stdin: TextIO, prompt: str, out: TextIO) -> str | None:
    if prompt:
        out.write(prompt)
        out.flush()
    line = stdin.readline()
    return line if line else None
