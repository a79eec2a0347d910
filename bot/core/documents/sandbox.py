"""Bounded extraction: each document is read in an extraction process that is killed when it
runs past the time limit, whose address space is capped, and whose crash is only a failed
document.

Extraction processes are fresh interpreters started with `python -c` and two pipes: unlike
multiprocessing's 'spawn', this never re-imports the bot's `__main__` in them, and unlike 'fork'
they inherit no threads, locks or sockets. They are reused: each thread of a small pool owns one
process, so a process never reads two documents at once, and a killed process is replaced by the
next document on that thread. POSIX only (pipes passed by descriptor, rlimits), like the bot's
deployment. The pool belongs to whoever made it (the engine): `close` stops every process."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import bot
from bot.core import errors
from bot.core.documents import ocr
from bot.core.documents.extract import extract_sync
from bot.core.documents.model import ExtractedDocument, ExtractionLimits
from bot.core.errors import CorruptDocument, DocumentError, ExtractionTimeout

log = logging.getLogger(__name__)

PROCESS_MEMORY_BYTES = 2 * 1024**3
# Documents read at once: parsing is CPU-bound, and the bot's own process needs a core too.
POOL_SIZE = min(2, os.cpu_count() or 1)
_START_TIMEOUT_SECONDS = 60.0
_READY = "ready"
_PROGRESS = "progress"
_INHERITED_ENV = ("PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "LC_CTYPE", "PYTHONHASHSEED")
_Job = tuple[bytes, str, ExtractionLimits]
PageProgress = Callable[[int, int], object]
# ("ok", document) or ("error", error class name, detail, params), after any number of
# ("progress", pages done, pages in all)
_Reply = tuple[Any, ...]


def serve(read_fd: int, write_fd: int, memory_bytes: int) -> None:
    """The extraction process's main loop: one job in, one reply out, until the parent hangs up."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent to handle
    _cap_address_space(memory_bytes)
    jobs, replies = Connection(read_fd, writable=False), Connection(write_fd, readable=False)
    replies.send(_READY)
    while True:
        try:
            data, filename, limits = jobs.recv()
        except EOFError:
            return
        replies.send(_reply(data, filename, limits, replies))


def _cap_address_space(memory_bytes: int) -> None:
    """A MemoryError in the extraction process instead of the whole machine swapping."""
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = memory_bytes if hard == resource.RLIM_INFINITY else min(memory_bytes, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _reply(data: bytes, filename: str, limits: ExtractionLimits, replies: Connection) -> _Reply:
    # Pages read by OCR are reported as they are done, ahead of the reply.
    reporting = ocr.progress.set(lambda done, total: replies.send((_PROGRESS, done, total)))
    try:
        return ("ok", extract_sync(data, filename, limits))
    except DocumentError as error:
        # Sent by name: BotError's keyword parameters do not survive pickling.
        return ("error", type(error).__name__, str(error), error.params)
    except MemoryError:
        error = limits.too_large()
        return ("error", type(error).__name__, str(error), error.params)
    finally:
        ocr.progress.reset(reporting)


def _raise_reply(reply: _Reply) -> ExtractedDocument:
    if reply[0] == "ok":
        return reply[1]
    _, name, detail, params = reply
    error_class = getattr(errors, name, None)
    if not (isinstance(error_class, type) and issubclass(error_class, DocumentError)):
        error_class = CorruptDocument
    raise error_class(detail, **params)


class _ExtractionProcess:
    def __init__(self, memory_bytes: int) -> None:
        job_read, job_write = os.pipe()
        reply_read, reply_write = os.pipe()
        try:
            self._process = subprocess.Popen(
                _process_command(job_read, reply_write, memory_bytes),
                pass_fds=(job_read, reply_write), stdin=subprocess.DEVNULL, env=_process_env(),
            )
        finally:
            os.close(job_read)
            os.close(reply_write)
        self._jobs = Connection(job_write, readable=False)
        self._replies = Connection(reply_read, writable=False)
        try:
            ready = self._replies.poll(_START_TIMEOUT_SECONDS) and self._replies.recv()
        except (EOFError, OSError):
            ready = False
        if ready != _READY:
            self.kill()
            raise DocumentError("extraction process failed to start")

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def run(self, job: _Job, timeout: float, progress: PageProgress | None) -> ExtractedDocument:
        deadline = time.monotonic() + timeout
        try:
            self._jobs.send(job)
            while True:
                if not self._replies.poll(max(0.0, deadline - time.monotonic())):
                    self.kill()
                    raise ExtractionTimeout()
                reply = self._replies.recv()
                if reply[0] != _PROGRESS:
                    break
                if progress is not None:
                    progress(reply[1], reply[2])
        except (EOFError, OSError) as error:
            self.kill()
            # Killed by the kernel (the OOM killer) or crashed inside a C parser.
            exit_code = self._process.returncode
            raise CorruptDocument(f"extraction process died (exit {exit_code})") from error
        return _raise_reply(reply)

    def kill(self) -> None:
        """Only where no other thread runs this process: it also closes the pipes."""
        self._process.kill()
        self._process.wait()
        self._jobs.close()
        self._replies.close()

    def interrupt(self) -> None:
        """From any thread: the running `run` then sees the pipe close and cleans up."""
        self._process.kill()


def _process_command(read_fd: int, write_fd: int, memory_bytes: int) -> list[str]:
    code = f"from {__name__} import serve; serve({read_fd}, {write_fd}, {memory_bytes})"
    return [sys.executable, "-c", code]


def _process_env() -> dict[str, str]:
    """What the interpreter needs and no more: the extraction process parses hostile files, so it
    gets none of the bot's tokens and keys. This source tree is importable even when not installed."""
    env = {key: os.environ[key] for key in _INHERITED_ENV if key in os.environ}
    source_root = str(Path(bot.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [source_root, os.environ.get("PYTHONPATH")]))
    return env


class ExtractionPool:
    """At most `size` documents at once, each in its own extraction process."""

    def __init__(self, size: int = POOL_SIZE, memory_bytes: int = PROCESS_MEMORY_BYTES) -> None:
        self._memory_bytes = memory_bytes
        self._threads = ThreadPoolExecutor(max_workers=size, thread_name_prefix="document")
        self._local = threading.local()
        self._lock = threading.Lock()
        self._processes: set[_ExtractionProcess] = set()
        self._closed = False

    async def extract(
        self, data: bytes, filename: str, limits: ExtractionLimits = ExtractionLimits(),
        progress: PageProgress | None = None,
    ) -> ExtractedDocument:
        """Extract in an extraction process, within `limits.timeout_seconds`, without blocking
        the loop. `progress(done, total)` is called on the loop for each page read by OCR.
        Raises only DocumentError subclasses."""
        limits.check_size(data)
        loop = asyncio.get_running_loop()
        on_loop = None
        if progress is not None:
            on_loop = functools.partial(loop.call_soon_threadsafe, progress)
        task = _Task((data, filename, limits), limits.timeout_seconds, on_loop)
        try:
            return await loop.run_in_executor(self._threads, self._run, task)
        except asyncio.CancelledError:
            task.cancel()
            raise

    def close(self) -> None:
        """Stop every extraction process and the threads that drive them, and wait for both: a
        document still being read fails, and no process outlives the pool."""
        with self._lock:
            self._closed = True
            running = set(self._processes)
        self._threads.shutdown(wait=False, cancel_futures=True)
        for process in running:
            process.interrupt()
        self._threads.shutdown(wait=True)
        with self._lock:
            processes, self._processes = self._processes, set()
        for process in processes:
            process.kill()

    def _run(self, task: _Task) -> ExtractedDocument:
        try:
            process = self._thread_process()
            if not task.assign(process):
                raise ExtractionTimeout("cancelled before it started")
            return process.run(task.job, task.timeout, task.progress)
        except DocumentError:
            raise
        except Exception as error:  # noqa: BLE001 - no fd, no fork, unpicklable reply...
            log.exception("extraction process failure")
            raise DocumentError(f"extraction process failure: {error}") from error

    def _thread_process(self) -> _ExtractionProcess:
        process: _ExtractionProcess | None = getattr(self._local, "process", None)
        if process is None or not process.alive:
            process = _ExtractionProcess(self._memory_bytes)
            with self._lock:
                closed = self._closed
                if not closed:
                    self._processes = {known for known in self._processes if known.alive} | {process}
            if closed:  # `close` ran while this process was starting
                process.kill()
                raise DocumentError("extraction pool closed")
            self._local.process = process
        return process


class _Task:
    """A job and the process it runs on, so that a cancelled caller can kill that process."""

    def __init__(self, job: _Job, timeout: float, progress: PageProgress | None) -> None:
        self.job = job
        self.timeout = timeout
        self.progress = progress
        self._lock = threading.Lock()
        self._process: _ExtractionProcess | None = None
        self._cancelled = False

    def assign(self, process: _ExtractionProcess) -> bool:
        with self._lock:
            self._process = process
            return not self._cancelled

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            process = self._process
        if process is not None:
            process.interrupt()
