"""`python -m bot chat` in a real pseudo-terminal, as a person types at it: Ctrl-C stops the
answer being written and the chat goes on; Ctrl-C at the prompt leaves at once."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import subprocess
import sys
import termios
import time

from fakes.sagemaker import Reply
from tests.support import KOREAN, ROOT, cli_env


def _own_terminal() -> None:
    """In the child: a session whose controlling terminal is the pty, so Ctrl-C is SIGINT."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    def __init__(self, env: dict[str, str]) -> None:
        self.master, child = pty.openpty()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "chat"], stdin=child, stdout=child, stderr=child, env=env, cwd=ROOT,
            preexec_fn=_own_terminal,
        )
        os.close(child)
        self.screen = ""

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def wait_for(self, text: str, timeout: float = 20.0, *, since: int = 0) -> None:
        """Until `text` shows on the screen (after its first `since` characters)."""
        deadline = time.monotonic() + timeout
        while text not in self.screen[since:]:
            left = deadline - time.monotonic()
            assert left > 0, f"{text!r} never appeared; the screen:\n{self.screen}"
            if select.select([self.master], [], [], left)[0]:
                try:
                    self.screen += os.read(self.master, 65536).decode(errors="replace")
                except OSError:  # the child closed the terminal
                    pass

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        os.close(self.master)


def test_ctrl_c_stops_the_answer_then_leaves_at_the_prompt(sagemaker_thread, redis_url, redis_prefix, tmp_path):
    slow = "천천히 쓰는 답변입니다. " * 40
    sagemaker_thread.script(Reply(slow, token_delay=0.05), Reply("두 번째 답변입니다."))
    user = f"tester-{tmp_path.name}"
    env = cli_env(sagemaker_thread, REDIS_URL=redis_url, REDIS_KEY_PREFIX=redis_prefix.rstrip(":"), USER=user,
                  LOGNAME=user, TERM="dumb", LANG="C.UTF-8")  # fmt: skip
    terminal = Terminal(env)
    try:
        terminal.wait_for("> ")
        terminal.type("천천히 답해 줘\r")
        terminal.wait_for("천천히 쓰는 답변입니다. 천천히")
        terminal.type("\x03")  # Ctrl-C while the answer is being written
        terminal.wait_for(KOREAN("llm_stream_cut"))
        terminal.type("다음 질문\r")  # the chat goes on
        terminal.wait_for("두 번째 답변입니다.")
        assert terminal.process.poll() is None
        terminal.wait_for("> ", since=terminal.screen.index("두 번째 답변입니다."))
        terminal.type("\x03")  # Ctrl-C at the prompt leaves, without waiting for Enter
        assert terminal.process.wait(timeout=10) == 0
        assert "Traceback" not in terminal.screen and "Event loop is closed" not in terminal.screen
    finally:
        terminal.close()
    assert len(sagemaker_thread.requests) == 2
