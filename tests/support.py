"""Building the product's real objects against the test's local endpoint and Redis."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

from bot.config import Settings
from bot.core.engine import ChatEngine
from bot.frontend.texts import texts_for
from fakes.bedrock import LLAMA_TEXT, FakeBedrock
from fakes.openai_compatible import TEXT_MODEL, FakeOpenAI
from fakes.sagemaker import FakeSageMaker

ENDPOINT = "llama3-test"
KOREAN = texts_for("ko")  # what users are told, as the tests expect to read it


def make_settings(
    server: FakeSageMaker | FakeBedrock | FakeOpenAI, redis_url: str | None, prefix: str, **overrides: Any
) -> Settings:
    """Settings of the provider whose fake `server` is (SageMaker, Bedrock, OpenAI-compatible)."""
    values: dict[str, Any] = {
        **provider_settings(server),
        "redis_url": redis_url,
        "redis_key_prefix": prefix.rstrip(":"),
        "llm_retry_base_seconds": 0.01,
        "llm_timeout_seconds": 10.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


def provider_settings(server: FakeSageMaker | FakeBedrock | FakeOpenAI) -> dict[str, Any]:
    if isinstance(server, FakeBedrock):
        return {"llm_provider": "bedrock", "bedrock_model_id": LLAMA_TEXT, "aws_region": "us-east-1",
                "bedrock_endpoint_url": server.url}  # fmt: skip
    if isinstance(server, FakeOpenAI):
        return {"llm_provider": "openai", "openai_model": TEXT_MODEL, "openai_base_url": server.base_url}
    return {"sagemaker_endpoint_name": ENDPOINT, "aws_region": "us-east-1", "sagemaker_endpoint_url": server.url}


def make_engine(
    server: FakeSageMaker | FakeBedrock | FakeOpenAI, redis_url: str | None, prefix: str, **overrides: Any
) -> ChatEngine:
    return ChatEngine.from_settings(make_settings(server, redis_url, prefix, **overrides))


async def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def prompts(sagemaker: FakeSageMaker) -> list[str]:
    """The `inputs` strings the endpoint received, in order."""
    return [request.json["inputs"] for request in sagemaker.requests]


ROOT = Path(__file__).resolve().parents[1]


def cli_env(sagemaker: FakeSageMaker, **extra: str) -> dict[str, str]:
    """A clean environment for a `python -m bot` subprocess that reaches the fake endpoint."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_", "REDIS_"))}
    return {**env, **sagemaker.env(), "SAGEMAKER_ENDPOINT_NAME": ENDPOINT, "LLM_RETRY_BASE_SECONDS": "0.01", **extra}


def run_bot(
    *args: str, env: dict[str, str], stdin: str = "", timeout: float = 60, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    return run_module("bot", *args, env=env, stdin=stdin, timeout=timeout, cwd=cwd)


def run_module(
    module: str, *args: str, env: dict[str, str] | None = None, stdin: str = "", timeout: float = 60, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    """`python -m MODULE ARGS` to its end, its output captured (the environment is this one's
    unless `env` is given)."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        input=stdin, capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout,
    )


# A quick benchmark takes 15-45 s alone; beside another test process on two busy cores, several
# times that. Its speed is measured by `make bench`, not here: the bound only catches a hang.
QUICK_BENCH_SECONDS = 300


def quick_bench(part: str, folder: Path) -> tuple[str, dict[str, Any]]:
    """`python -m bench.<part> --quick` run to a clean end, its results written into `folder`:
    what it printed, and the results it wrote."""
    output = folder / f"{part}.json"
    finished = run_module(f"bench.{part}", "--quick", "--output", str(output), timeout=QUICK_BENCH_SECONDS)
    assert finished.returncode == 0, finished.stderr
    return finished.stdout, json.loads(output.read_text(encoding="utf-8"))


async def start_bot(*args: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    """`python -m bot ARGS` as a background process whose output the test reads at the end."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, env=env, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )


class Logs:
    """The stderr of a `start_bot` process, read line by line while a test waits on a log line
    (whatever the test has not read stays in the pipe for `finish`)."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []

    async def wait_for(self, pattern: str, timeout: float = 20, *, count: int = 1) -> re.Match[str]:
        """The first line so far or to come that matches `pattern` (a regular expression); with
        `count`, the count-th such line."""
        regex = re.compile(pattern)

        async def search() -> re.Match[str]:
            checked, seen = 0, 0
            while True:
                for line in self.lines[checked:]:
                    if (found := regex.search(line)) and (seen := seen + 1) == count:
                        return found
                checked = len(self.lines)
                assert self.process.stderr is not None
                line = await self.process.stderr.readline()
                if not line:
                    raise AssertionError(f"the output ended without {pattern!r}:\n{''.join(self.lines)}")
                self.lines.append(line.decode(errors="replace"))

        try:
            return await asyncio.wait_for(search(), timeout)
        except TimeoutError:
            raise AssertionError(f"no {pattern!r} in the log within {timeout} s:\n{''.join(self.lines)}") from None

    async def finish(self, timeout: float = 20) -> str:
        """All the output once the process and whoever shares its pipes (its children) are done."""
        stdout, stderr = await asyncio.wait_for(self.process.communicate(), timeout)
        return stdout.decode(errors="replace") + "".join(self.lines) + stderr.decode(errors="replace")


def running(pid: int) -> bool:
    """Whether process `pid` exists and has not ended (a zombie has ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"
