"""Settings as a newcomer writes them: `.env` reaches every library (the AWS credential chain
first), `.env.example` reads the same for python-dotenv and `docker --env-file`, and a bad or
missing setting is named with the value it got (secrets masked)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from dotenv import dotenv_values

from bot.cli import main
from bot.config import Settings, load_settings, variable_name
from bot.core.errors import ConfigError
from tests.support import ROOT, ENDPOINT, cli_env, run_bot

DOTENV_KEY = "AKIADOTENVDOTENVKEY1"


def _without(env: dict[str, str], *names: str) -> dict[str, str]:
    return {key: value for key, value in env.items() if key not in names}


def _clone_env(sagemaker, tmp_path: Path, **extra: str) -> dict[str, str]:
    """A `python -m bot` run in a folder of its own (where a .env may be), reading .env as a user's
    run does: python-dotenv's off switch removed, no AWS keys in the environment."""
    env = _without(cli_env(sagemaker, **extra), "PYTHON_DOTENV_DISABLED", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    return {**env, "PYTHONPATH": str(ROOT), "USER": f"tester-{tmp_path.name}", "LOGNAME": f"tester-{tmp_path.name}"}


def _signing_key(request) -> str:
    # SigV4: "AWS4-HMAC-SHA256 Credential=<key id>/<date>/<region>/sagemaker/aws4_request, ..."
    return re.search(r"Credential=([^/]+)/", request.headers["authorization"]).group(1)


def test_aws_keys_in_dotenv_reach_botocore(sagemaker_thread, tmp_path):
    sagemaker_thread.script("답입니다.")
    (tmp_path / ".env").write_text(f"AWS_ACCESS_KEY_ID={DOTENV_KEY}\nAWS_SECRET_ACCESS_KEY=secret-from-dotenv\n")
    result = run_bot("ask", "질문", env=_clone_env(sagemaker_thread, tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert _signing_key(sagemaker_thread.requests[0]) == DOTENV_KEY


def test_the_real_environment_wins_over_dotenv(sagemaker_thread, tmp_path):
    sagemaker_thread.script("답입니다.")
    (tmp_path / ".env").write_text(f"AWS_ACCESS_KEY_ID={DOTENV_KEY}\nAWS_SECRET_ACCESS_KEY=secret-from-dotenv\n")
    env = {**_clone_env(sagemaker_thread, tmp_path), "AWS_ACCESS_KEY_ID": "AKIAREALENVIRONMENT1", "AWS_SECRET_ACCESS_KEY": "x"}
    result = run_bot("ask", "질문", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert _signing_key(sagemaker_thread.requests[0]) == "AKIAREALENVIRONMENT1"


def test_missing_aws_credentials_say_so_and_where_to_put_them(sagemaker_thread, tmp_path):
    result = run_bot("ask", "질문", env=_clone_env(sagemaker_thread, tmp_path), cwd=tmp_path)
    assert result.returncode == 1
    assert "AWS 자격 증명이 없어" in result.stderr and "AWS_ACCESS_KEY_ID" in result.stderr and ".env" in result.stderr
    assert "잠시 후 다시 시도" not in result.stderr  # not a passing outage
    assert sagemaker_thread.requests == []


def test_without_a_dotenv_the_message_says_to_copy_the_example(sagemaker_thread, tmp_path):
    env = _without(_clone_env(sagemaker_thread, tmp_path), "SAGEMAKER_ENDPOINT_NAME")
    result = run_bot("ask", "질문", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "SAGEMAKER_ENDPOINT_NAME" in result.stderr and "cp .env.example .env" in result.stderr


def _docker_env_file(path: Path) -> dict[str, str]:
    """What `docker run --env-file` reads (docker/cli opts/file.go, parseKeyValueFile): lines
    trimmed on the left; empty and `#` lines skipped; the name is what comes before the first
    `=`; the value is everything after it, kept as is (quotes, spaces and `# ...` included)."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.lstrip()
        if not line or line.startswith("#"):
            continue
        name, found, value = line.partition("=")
        assert found and not re.search(r"\s", name), f"docker would refuse the line {line!r}"
        values[name] = value
    return values


def test_env_example_reads_the_same_for_python_dotenv_and_docker():
    example = ROOT / ".env.example"
    docker = _docker_env_file(example)
    assert dict(dotenv_values(example, interpolate=False)) == docker
    settings = Settings(**{name.lower(): value for name, value in docker.items() if value})
    assert settings.sagemaker_payload_schema == "inputs" and settings.llm_context_tokens == 8192


def test_env_example_names_every_setting():
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), flags=re.MULTILINE))
    missing = {variable_name(field) for field in Settings.model_fields} - listed
    assert not missing


def test_an_inline_comment_is_refused_naming_the_variable_and_the_value(bot_env):
    result = run_bot("ask", "질문", env={**bot_env, "SAGEMAKER_PAYLOAD_SCHEMA": "inputs   # LMI/TGI"})
    assert result.returncode == 2
    assert "SAGEMAKER_PAYLOAD_SCHEMA='inputs   # LMI/TGI'" in result.stderr
    assert "own line" in result.stderr and "Traceback" not in result.stderr


def test_a_bad_value_is_shown_but_a_secret_is_masked():
    token = "xoxb-1234567890-very-secret-value"
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None, llm_temperature="뜨겁게", slack_bot_token=f"{token}  # bot token")
    message = str(caught.value)
    assert "LLM_TEMPERATURE='뜨겁게'" in message
    assert "SLACK_BOT_TOKEN='xoxb-…' (" in message and "very-secret" not in message


@pytest.fixture
def bot_env(sagemaker_thread, tmp_path) -> dict[str, str]:
    return cli_env(sagemaker_thread, USER=f"tester-{tmp_path.name}", LOGNAME=f"tester-{tmp_path.name}")


@pytest.mark.parametrize(
    ("configured", "named"),
    [({}, ("SLACK_BOT_TOKEN", "DISCORD_TOKEN")), ({"SLACK_BOT_TOKEN": "xoxb-1-only-a-bot-token"}, ("SLACK_APP_TOKEN",))],
    ids=["nothing", "only-a-bot-token"],
)
def test_nothing_to_serve_without_a_terminal_fails_naming_what_to_set(bot_env, configured, named):
    result = run_bot(env={**bot_env, **configured}, stdin="")
    assert result.returncode == 2
    assert all(name in result.stderr for name in named), result.stderr
    assert "Traceback" not in result.stderr


def test_version(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert re.fullmatch(r"python -m bot \d+\.\d+\.\d+\n", capsys.readouterr().out)


def test_an_empty_question_is_refused_without_calling_the_endpoint(sagemaker_thread, bot_env):
    result = run_bot("ask", "  ", env=bot_env)
    assert result.returncode == 2
    assert result.stderr.strip() == "질문이 비어 있습니다. 물어볼 내용을 적어 주세요."
    assert sagemaker_thread.requests == []


def test_test_runs_never_read_a_dotenv(sagemaker_thread, bot_env, tmp_path):
    # A developer's filled-in .env where the bot starts: the tests' own settings must hold.
    (tmp_path / ".env").write_text("LLM_TEMPERATURE=hot\nSAGEMAKER_ENDPOINT_NAME=someone-elses\n")
    sagemaker_thread.script("답입니다.")
    result = run_bot("ask", "질문", env={**bot_env, "PYTHONPATH": str(ROOT)}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sagemaker_thread.requests[0].endpoint == ENDPOINT
