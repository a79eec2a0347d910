"""`python -m bot [command]`: the bot's command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import signal
import sys
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Awaitable, Callable

from bot import eventloop, usage_report
from bot.config import Settings, env_file_disabled, load_env_file, load_settings
from bot.core.errors import ConfigError
from bot.core.metrics import start_at_zero
from bot.core.memory import feedback
from bot.frontend.texts import texts_for
from bot.health import beating
from bot.logs import setup_logging
from bot.monitoring import exporting
from bot.startup import Unreachable
from bot.workers import Worker, supervise, supervisor_gone

if TYPE_CHECKING:  # the engine pulls in LangChain and botocore (~2 s): not for --help or --version
    from bot.core.engine import ChatEngine

NO_ENV_FILE = (
    "(.env 파일이 없습니다: cp .env.example .env 후 값을 채우세요. / "
    "No .env file here: run cp .env.example .env and fill it in.)"
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Korean-first Llama 3 chatbot for Slack and Discord. "
        "With no command, every adapter whose credentials are configured is started.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version('bot')}")
    commands = parser.add_subparsers(dest="command", metavar="command")
    commands.add_parser("slack", help="run the Slack bot (Socket Mode or HTTP)")
    commands.add_parser("discord", help="run the Discord bot")
    commands.add_parser("chat", help="chat in the terminal (/reset, /file PATH, /exit)")
    ask = commands.add_parser("ask", help="answer one question in the terminal conversation")
    ask.add_argument("text", help="the question")
    ask.add_argument("--stream", action="store_true", help="print the answer as it is generated")
    summarize = commands.add_parser("summarize", help="summarize a document (PDF, HWP, Word, ...)")
    summarize.add_argument("file", type=Path)
    commands.add_parser("doctor", help="check configuration, LLM endpoint, Redis and tokenizer")
    verdicts = commands.add_parser("feedback", help="what users said of answers")
    verdicts.add_argument("action", choices=["export"], help="export: JSON lines (question, answer, verdict, note)")
    verdicts.add_argument("--out", type=Path, help="write to this file instead of standard output")
    usage_report.add_parser(commands)
    # Set by the supervisor of WORKERS > 1 (bot.workers) on each process it starts.
    parser.add_argument("--worker", type=Worker.parse, default=Worker(), help=argparse.SUPPRESS)
    return parser


async def _with_engine(settings: Settings, run: Callable[[ChatEngine], Awaitable[int]]) -> int:
    from bot.core.engine import ChatEngine

    engine = ChatEngine.from_settings(settings)
    try:
        return await run(engine)
    finally:
        await engine.aclose()


async def _export_feedback(engine: ChatEngine, path: Path | None) -> int:
    with path.open("w", encoding="utf-8") if path else contextlib.nullcontext(sys.stdout) as out:
        count = await feedback.export(engine.feedback, out)
    print(f"{count} feedback rows exported", file=sys.stderr)
    return 0


def configured_adapters(settings: Settings) -> list[str]:
    adapters = []
    if settings.slack_bot_token and (settings.slack_app_token or settings.slack_signing_secret):
        adapters.append("slack")
    if settings.discord_token:
        adapters.append("discord")
    return adapters


def _serving(args: argparse.Namespace, settings: Settings) -> list[str]:
    """The adapters the command serves: none for the terminal commands."""
    if args.command in ("slack", "discord"):
        return [args.command]
    return configured_adapters(settings) if args.command is None else []


def _require_something_to_serve(settings: Settings) -> None:
    """`python -m bot` with nothing to serve: the terminal chat when a person is at a terminal,
    otherwise (a container, a service) a failure naming what to configure, not a silent exit 0."""
    if settings.slack_bot_token and not (settings.slack_app_token or settings.slack_signing_secret):
        raise ConfigError(
            "SLACK_BOT_TOKEN is set, but Slack also needs SLACK_APP_TOKEN (Socket Mode, xapp-…) or "
            "SLACK_SIGNING_SECRET (HTTP mode)."
        )
    if (settings.slack_app_token or settings.slack_signing_secret) and not settings.slack_bot_token:
        raise ConfigError("Slack needs SLACK_BOT_TOKEN (xoxb-…) too.")
    if not sys.stdin.isatty():
        raise ConfigError(
            "nothing to run: set SLACK_BOT_TOKEN with SLACK_APP_TOKEN (or SLACK_SIGNING_SECRET) for Slack, "
            "or DISCORD_TOKEN for Discord; `python -m bot chat` talks in a terminal."
        )


async def _serve(settings: Settings, names: list[str], worker: Worker) -> int:
    """Run the adapters until SIGTERM or Ctrl-C. Either one stops them the same graceful way:
    adapters stop taking events (another replica gets them), answers in flight finish within
    SHUTDOWN_GRACE_SECONDS, then the process exits."""
    from bot.adapters import serve_adapters

    serving = asyncio.current_task()
    assert serving is not None

    reasons: list[str] = []

    def terminate(reason: str) -> None:
        reasons.append(reason)
        serving.cancel()

    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, terminate, "by SIGTERM")
    orphaned = asyncio.create_task(supervisor_gone()) if worker.shared else None
    if orphaned:
        orphaned.add_done_callback(lambda done: done.cancelled() or terminate(": the supervisor has gone"))

    async def serve(engine: ChatEngine) -> int:
        settle_heap()
        start_at_zero()
        collector = asyncio.create_task(collect_garbage())
        try:
            return await serve_adapters(names, settings, engine, worker)
        finally:
            collector.cancel()

    try:
        return await _with_engine(settings, serve)
    except asyncio.CancelledError:
        if not reasons:
            raise  # Ctrl-C: asyncio.run turns it into KeyboardInterrupt
        logging.getLogger(__name__).info("stopped %s", reasons[0])
        return 0
    finally:
        if orphaned:
            orphaned.cancel()


def settle_heap() -> None:
    """For a serving process, once start-up is done. Garbage collection took a fifth of the bot's
    CPU at 1,000 conversations at once (BENCHMARKS.md). What start-up loaded (LangChain, botocore,
    pydantic models, the engine) lives as long as the process: frozen, full collections stop
    walking it. And every answer in flight holds a few thousand objects for seconds, so the
    default thresholds (700, 10, 10) had the collector walk them again and again; these collect
    about 14 times less often for a few MB more heap."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 50, 100)


# How long garbage in reference cycles may wait for a full collection in a serving process.
FULL_COLLECTION_SECONDS = 60.0


async def collect_garbage(every: float = FULL_COLLECTION_SECONDS) -> None:
    """The thresholds of `settle_heap` count net allocations, and a steady bot allocates almost as
    much as it frees: at 50 conversations the older generations came round every 20 minutes and
    about 35 hours. Meanwhile each answer left cycles the young collections had seen alive (the
    SDKs' response parsers, exceptions with their frames) to pile up: RSS rose by about a MB a
    minute, and a full collection found it all garbage (BENCHMARKS.md, the soak). So a full
    collection comes every `every` seconds whatever the load; it walks only what is not frozen
    (about 65 ms of CPU at that load)."""
    while True:
        await asyncio.sleep(every)
        gc.collect()


async def _main(args: argparse.Namespace, settings: Settings) -> int:
    from bot.adapters import console

    from bot.doctor import require_redis, run_doctor

    command = args.command
    if command == "doctor":
        return await run_doctor(settings)
    await require_redis(settings)
    if command == "usage":
        return await usage_report.run_report(settings, usage_report.ReportRequest.from_args(args))
    if command == "ask" and not args.text.strip():
        print(texts_for(settings.bot_language)("empty_question"), file=sys.stderr)
        return 2
    if command == "ask":
        return await _with_engine(settings, lambda e: console.ask(e, args.text, stream=args.stream))
    if command == "summarize":
        return await _with_engine(settings, lambda e: console.summarize(e, args.file))
    if command == "feedback":
        return await _with_engine(settings, lambda e: _export_feedback(e, args.out))
    if serving := _serving(args, settings):
        # One heartbeat per container: the supervisor's when there are several workers.
        async with beating(None if args.worker.shared else settings.health_file), exporting(settings, args.worker):
            if settings.workers > 1 and not args.worker.shared:
                return await supervise(settings, [command] if command else [])
            return await _serve(settings, serving, args.worker)
    if command is None:
        _require_something_to_serve(settings)
    return await _with_engine(settings, console.chat)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    env_file_read = load_env_file()
    try:
        settings = load_settings()
        # Terminal commands stay quiet; serving adapters (also `python -m bot` when some are
        # configured, as in the Docker image) logs at INFO like `python -m bot slack`.
        quiet = not _serving(args, settings)
        setup_logging(settings, logging.WARNING if quiet else logging.INFO, args.worker)
        return eventloop.run(_main(args, settings))
    except ConfigError as error:
        print(f"설정 오류 / configuration error: {error}", file=sys.stderr)
        if not env_file_read and not env_file_disabled():
            print(NO_ENV_FILE, file=sys.stderr)
        return 2
    except Unreachable as error:
        print(f"연결 실패 / cannot connect: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
