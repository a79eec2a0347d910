"""The terminal: `python -m bot chat` and `python -m bot ask`.

The terminal conversation is one conversation per OS user, kept in memory like any other, so it
continues across runs until `/reset`."""

from __future__ import annotations

import asyncio
import getpass
import sys
from contextlib import aclosing
from pathlib import Path
from typing import TextIO

from bot.core.conversation import ConversationKey
from bot.core.engine import ChatEngine
from bot.core.errors import BotError, DocumentTooLarge, FileUnreadable
from bot.frontend.texts import text as say
from bot.frontend.texts import user_message

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


PROGRESS = {"ko": "문서 요약 중… {done}/{total}", "en": "Summarizing… {done}/{total}"}


async def summarize(engine: ChatEngine, path: Path, *, out: TextIO = sys.stdout) -> int:
    """Summary on `out`, progress on stderr; the document joins the terminal conversation."""
    lang = engine.settings.bot_language
    try:
        print(await _summarize(engine, path), file=out, flush=True)
    except BotError as error:
        print(user_message(error, lang), file=sys.stderr, flush=True)
        return 1
    return 0


async def _summarize(engine: ChatEngine, path: Path) -> str:
    lang = engine.settings.bot_language
    limit = engine.limits.max_bytes
    try:
        if path.stat().st_size > limit:
            raise DocumentTooLarge(limit_mb=limit // (1024 * 1024))
        data = await asyncio.to_thread(path.read_bytes)
    except OSError:
        raise FileUnreadable(name=str(path)) from None

    async def progress(done: int, total: int) -> None:
        print(PROGRESS[lang].format(done=done, total=total), file=sys.stderr, flush=True)

    return await engine.summarize_document(console_key(), data, path.name, progress=progress)


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
        elif line.startswith("/file "):
            try:
                print(await _summarize(engine, Path(line[6:].strip()).expanduser()), file=out, flush=True)
            except BotError as error:
                print(user_message(error, lang), file=out, flush=True)
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
