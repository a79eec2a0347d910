"""The terminal: `python -m bot chat`, `ask` and `summarize`.

The terminal conversation is one conversation per OS user, kept in memory like any other, so it
continues across runs until `/reset`. Answers and summaries go to stdout; progress, and the
failures of one-shot commands, to stderr."""

from __future__ import annotations

import asyncio
import getpass
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot.core.conversation import ConversationKey
from bot.core.engine import ChatEngine
from bot.core.errors import BotError, FileUnreadable
from bot.frontend import flows
from bot.frontend.surface import MessageStyle
from bot.frontend.texts import Texts, texts_for

if TYPE_CHECKING:  # the document package loads the format libraries
    from bot.core.documents import ExtractionLimits

HELP = {
    "ko": "명령: /reset 대화 초기화, /file 경로 문서 첨부, /exit 종료, /help 도움말",
    "en": "Commands: /reset clear the conversation, /file PATH attach a document, /exit quit, /help",
}
# A terminal takes text of any length, and a line printed anew is its only way to "edit".
_STYLE = MessageStyle(max_len=sys.maxsize, edit_interval=0.0)


class TerminalLines:
    """`bot.frontend.surface.Surface` on a text stream: every post and edit is a line of its own."""

    style = _STYLE

    def __init__(self, out: TextIO) -> None:
        self.out = out

    async def post(self, text: str) -> object:
        print(text, file=self.out, flush=True)
        return None

    async def edit(self, handle: object, text: str) -> None:
        await self.post(text)


class TerminalStream:
    """`bot.frontend.surface.GrowingMessage` on a text stream: the answer printed as it comes."""

    max_chars = None
    interval = 0.0

    def __init__(self, out: TextIO, failures: TextIO) -> None:
        self.out = out
        self.failures = failures

    async def start(self, markdown: str) -> None:
        await self.append(markdown)

    async def append(self, markdown: str) -> None:
        self.out.write(markdown)
        self.out.flush()

    async def stop(self, markdown: str, *, failed: bool) -> None:
        stream = self.failures if failed else self.out
        stream.write(markdown + "\n")
        stream.flush()


class FileOnDisk:
    """A local file, as the document flow fetches it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = path.name
        try:
            self.declared_size: int | None = path.stat().st_size
        except OSError:
            self.declared_size = None  # fetching it will say what is wrong

    async def fetch(self, limits: ExtractionLimits) -> bytes:
        try:
            data = await asyncio.to_thread(self.path.read_bytes)
        except OSError:
            raise FileUnreadable(name=str(self.path)) from None
        limits.check_size(data)
        return data


def console_key() -> ConversationKey:
    return ConversationKey("console", (getpass.getuser(),))


def _question(text: str) -> flows.Question:
    return flows.Question(console_key(), text)


async def ask(engine: ChatEngine, question: str, *, stream: bool, out: TextIO = sys.stdout) -> int:
    """Answer once; the exit status is 0 on an answer, 1 on a failure (message on stderr)."""
    texts = texts_for(engine.settings.bot_language)
    if stream:
        answered = await flows.answer(engine, texts, _question(question), TerminalStream(out, sys.stderr))
        return 0 if answered else 1
    try:
        print(await engine.reply(console_key(), question), file=out, flush=True)
    except BotError as error:
        print(texts.for_error(error), file=sys.stderr, flush=True)
        return 1
    return 0


async def summarize(engine: ChatEngine, path: Path, *, out: TextIO = sys.stdout) -> int:
    """Summary on `out`, progress and failures on stderr; the document joins the terminal
    conversation."""
    texts = texts_for(engine.settings.bot_language)
    done = await _read(engine, texts, path, result=TerminalLines(out), progress=TerminalLines(sys.stderr))
    return 0 if done else 1


async def _read(engine: ChatEngine, texts: Texts, path: Path, *, result: TerminalLines, progress: TerminalLines) -> bool:
    source = FileOnDisk(path.expanduser())
    return await flows.read_document(engine, texts, _question(""), source, result, progress_on=progress)


async def chat(engine: ChatEngine, stdin: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    texts = texts_for(engine.settings.bot_language)
    interactive = stdin.isatty()
    help_text = HELP[texts.language]
    print(help_text, file=out, flush=True)
    while True:
        line = await asyncio.to_thread(_read_line, stdin, "> " if interactive else "", out)
        if line is None or line.strip() == "/exit":
            return 0
        line = line.strip()
        if not line:
            continue
        command, argument = _command(line)
        if command == "/reset":
            await flows.reset(engine, texts, console_key(), TerminalLines(out))
        elif command == "/file" and argument:
            await _read(engine, texts, Path(argument), result=TerminalLines(out), progress=TerminalLines(sys.stderr))
        elif command is not None:  # /help, /file without a path, and any command we do not know
            print(help_text, file=out, flush=True)
        else:
            await flows.answer(engine, texts, _question(line), TerminalStream(out, out))


def _command(line: str) -> tuple[str | None, str]:
    """A slash command and its argument (a path may be quoted, as a shell would take it);
    (None, "") for a line meant for the model."""
    if not line.startswith("/") or line.startswith("//"):
        return None, ""
    name, _, rest = line.partition(" ")
    try:
        words = shlex.split(rest)
    except ValueError:  # an unclosed quote: take the rest as it is
        words = [rest.strip().strip("'\"")]
    return name, " ".join(words)


def _read_line(stdin: TextIO, prompt: str, out: TextIO) -> str | None:
    if prompt:
        out.write(prompt)
        out.flush()
    line = stdin.readline()
    return line if line else None
