"""The terminal: `python -m bot chat`, `ask` and `summarize`.

The terminal conversation is one conversation per OS user, kept in memory like any other, so it
continues across runs until `/reset`. Answers and summaries go to stdout; progress, and the
failures of one-shot commands, to stderr."""

from __future__ import annotations

import asyncio
import getpass
import shlex
import signal
import threading
import sys
from pathlib import Path
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from bot.core.conversation import ConversationKey
from bot.core.engine import ChatEngine
from bot.core.errors import BotError, FileUnreadable
from bot.frontend import flows
from bot.frontend.surface import MessageStyle, Surface
from bot.frontend.texts import Texts, texts_for

if TYPE_CHECKING:  # the document package loads the format libraries
    from bot.core.documents import ExtractionLimits

HELP = {
    "ko": "명령: /reset 대화 초기화, /file 경로 문서 첨부, /exit 종료, /help 도움말",
    "en": "Commands: /reset clear the conversation, /file PATH attach a document, /exit quit, /help",
}
T = TypeVar("T")
# A terminal takes text of any length, and a line printed anew is its only way to "edit".
_STYLE = MessageStyle(max_len=sys.maxsize, edit_interval=0.0)


class TerminalLines(Surface):
    """`bot.frontend.surface.Surface` on a text stream: every post and edit is a line of its own."""

    style = _STYLE

    def __init__(self, out: TextIO) -> None:
        self.out = out

    async def post(self, text: str) -> object:
        print(text, file=self.out, flush=True)
        return None

    async def edit(self, handle: object, text: str) -> None:
        await self.post(text)

    async def room_for_edit(self, *, first: bool = False) -> bool:
        return True

    async def room_for_message(self) -> bool:
        return True


class TerminalStream:
    """`bot.frontend.surface.GrowingMessage` on a text stream: the answer printed as it comes."""

    max_chars = None
    interval = 0.0

    def __init__(self, out: TextIO, failures: TextIO, *, waiting: str | None = None) -> None:
        self.out = out
        self.failures = failures
        # On a terminal, a line that says the bot is at work until the first text replaces it.
        self._waiting = waiting
        if waiting:
            out.write(waiting)
            out.flush()

    async def start(self, markdown: str) -> None:
        await self.append(markdown)

    async def room_for_append(self) -> bool:
        return True

    async def append(self, markdown: str) -> None:
        self._clear_waiting()
        self.out.write(markdown)
        self.out.flush()

    async def stop(self, markdown: str, *, failed: bool) -> None:
        self._clear_waiting()
        stream = self.failures if failed else self.out
        stream.write(markdown + "\n")
        stream.flush()

    def _clear_waiting(self) -> None:
        if self._waiting:
            self.out.write("\r\x1b[K")  # back to the line's start, erase it
            self._waiting = None


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
    """Read lines until /exit, Ctrl-D or Ctrl-C at the prompt; Ctrl-C while an answer is being
    written stops that answer (what was written stays, marked as cut off)."""
    texts = texts_for(engine.settings.bot_language)
    lines = LineReader(stdin, out)
    help_text = HELP[texts.language]
    print(help_text, file=out, flush=True)
    with _Interrupts() as interrupts:
        while True:
            line = await interrupts.unless_interrupted(lines.read())
            if line is None or line.strip() == "/exit":
                out.write("" if line else "\n")  # leave the shell's prompt on a line of its own
                return 0
            await interrupts.unless_interrupted(_handle(engine, texts, line.strip(), out, help_text))


async def _handle(engine: ChatEngine, texts: Texts, line: str, out: TextIO, help_text: str) -> None:
    if not line:
        return
    command, argument = _command(line)
    if command == "/reset":
        await flows.reset(engine, texts, console_key(), TerminalLines(out))
    elif command == "/file" and argument:
        await _read(engine, texts, Path(argument), result=TerminalLines(out), progress=TerminalLines(sys.stderr))
    elif command is not None:  # /help, /file without a path, and any command we do not know
        print(help_text, file=out, flush=True)
    else:
        waiting = texts("thinking") if out.isatty() else None
        await flows.answer(engine, texts, _question(line), TerminalStream(out, out, waiting=waiting))


class _Interrupts:
    """Ctrl-C as the chat understands it: it ends whatever runs in `unless_interrupted` (the
    prompt, or the answer being written), which then returns None."""

    def __init__(self) -> None:
        self._running: asyncio.Task[object] | None = None

    def __enter__(self) -> _Interrupts:
        try:
            asyncio.get_running_loop().add_signal_handler(signal.SIGINT, self._interrupt)
        except (NotImplementedError, RuntimeError):  # Windows, or not the main thread
            pass
        return self

    def __exit__(self, *_: object) -> None:
        try:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGINT)
        except (NotImplementedError, RuntimeError):
            pass

    def _interrupt(self) -> None:
        if self._running is not None:
            self._running.cancel()

    async def unless_interrupted(self, work: Coroutine[Any, Any, T]) -> T | None:
        self._running = task = asyncio.ensure_future(work)
        try:
            return await task
        except asyncio.CancelledError:
            if asyncio.current_task().cancelling():  # type: ignore[union-attr]
                raise  # cancelled from outside, not by Ctrl-C
            return None
        finally:
            self._running = None


class LineReader:
    """Lines typed at the terminal (with line editing and history where `readline` exists) or
    piped in. Each line is read on a daemon thread: a prompt left waiting never holds up exit."""

    def __init__(self, stdin: TextIO, out: TextIO) -> None:
        self.stdin = stdin
        self.out = out
        self.interactive = stdin.isatty() and stdin is sys.stdin
        if self.interactive:
            try:
                import readline  # noqa: F401  (input() gains editing and history by being imported)
            except ImportError:
                pass

    async def read(self) -> str | None:
        """The next line, None at the end of input."""
        loop = asyncio.get_running_loop()
        line: asyncio.Future[str | None] = loop.create_future()

        def deliver(value: str | None) -> None:
            if not line.done():
                line.set_result(value)

        def work() -> None:
            value = self._read_blocking()
            try:
                loop.call_soon_threadsafe(deliver, value)
            except RuntimeError:  # the loop has closed: the chat is over
                pass

        threading.Thread(target=work, name="chat-input", daemon=True).start()
        return await line

    def _read_blocking(self) -> str | None:
        if self.interactive:
            try:
                return input("> ")
            except (EOFError, OSError):
                return None
        text = self.stdin.readline()
        return text if text else None


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
