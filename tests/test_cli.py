"""The command line as a user runs it: a real `python -m bot` process, real boto3, real Redis."""

from __future__ import annotations

import pytest

from fakes.redis_server import refusing_port
from fakes.sagemaker import Reply
from tests.support import ENDPOINT, cli_env, run_bot


@pytest.fixture
def bot_env(sagemaker_thread, redis_url, redis_prefix, tmp_path) -> dict[str, str]:
    user = f"tester-{tmp_path.name}"
    return cli_env(
        sagemaker_thread, REDIS_URL=redis_url, REDIS_KEY_PREFIX=redis_prefix.rstrip(":"), USER=user, LOGNAME=user
    )


def test_ask_answers_and_a_second_process_continues_the_conversation(sagemaker_thread, bot_env):
    sagemaker_thread.script("서울에서는 한강 공원을 추천합니다.", "부산에서는 해운대를 추천합니다.")
    first = run_bot("ask", "서울 여행하는 방법 알려줘", env=bot_env)
    assert first.returncode == 0, first.stderr
    assert first.stdout == "서울에서는 한강 공원을 추천합니다.\n"

    second = run_bot("ask", "--stream", "부산은?", env=bot_env)
    assert second.returncode == 0, second.stderr
    assert second.stdout == "부산에서는 해운대를 추천합니다.\n"
    prompt = sagemaker_thread.requests[1].json["inputs"]
    assert "서울 여행하는 방법 알려줘" in prompt and "한강 공원을 추천합니다." in prompt


def test_chat_streams_answers_and_resets_through_stdin(sagemaker_thread, bot_env):
    sagemaker_thread.script("첫 번째 답변입니다.", "초기화 후 답변입니다.")
    result = run_bot("chat", env=bot_env, stdin="안녕하세요\n/reset\n누구세요?\n/exit\n")
    assert result.returncode == 0, result.stderr
    assert "첫 번째 답변입니다." in result.stdout
    assert "대화 기록을 지웠습니다." in result.stdout
    assert "초기화 후 답변입니다." in result.stdout
    assert "안녕하세요" not in sagemaker_thread.requests[1].json["inputs"]


def test_failed_answer_prints_korean_message_and_fails(sagemaker_thread, bot_env):
    sagemaker_thread.script(Reply(fault="model_error"))
    result = run_bot("ask", "질문", env=bot_env)
    assert result.returncode == 1
    assert result.stderr.strip() == "모델이 이 요청을 처리하지 못했습니다. 질문을 바꿔 다시 시도해 주세요."
    assert "Traceback" not in result.stderr


def test_doctor_reports_dead_endpoint_and_dead_redis(bot_env):
    with refusing_port() as endpoint_port, refusing_port() as redis_port:
        dead = f"http://127.0.0.1:{endpoint_port}"
        env = {**bot_env, "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": dead, "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0"}
        result = run_bot("doctor", env=env)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert any(line.startswith("[FAIL] LLM endpoint") and ENDPOINT in line for line in lines), result.stdout
    assert any(line.startswith("[FAIL] Redis") for line in lines), result.stdout
    assert any(line.startswith("[OK  ] Llama 3 tokenizer") for line in lines), result.stdout


def test_doctor_all_green(bot_env):
    result = run_bot("doctor", env=bot_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("[OK  ]") == 4


def test_bad_setting_fails_fast_naming_the_variable(bot_env):
    result = run_bot("ask", "질문", env={**bot_env, "LLM_TEMPERATURE": "뜨겁게"})
    assert result.returncode == 2
    assert "LLM_TEMPERATURE" in result.stderr and "Traceback" not in result.stderr


def test_missing_endpoint_name_fails_fast_naming_the_variable(bot_env):
    env = {k: v for k, v in bot_env.items() if k != "SAGEMAKER_ENDPOINT_NAME"}
    result = run_bot("ask", "질문", env=env)
    assert result.returncode == 2
    assert "SAGEMAKER_ENDPOINT_NAME" in result.stderr


def test_help_lists_every_command(bot_env):
    result = run_bot("--help", env=bot_env)
    for command in ("slack", "discord", "chat", "ask", "summarize", "doctor"):
        assert command in result.stdout


def test_chat_file_command_attaches_a_document(sagemaker_thread, bot_env, tmp_path):
    path = tmp_path / "공고.txt"
    path.write_text("입찰 공고. 제출 마감은 2025년 4월 11일 오후 3시입니다.", encoding="utf-8")
    sagemaker_thread.script("한 줄 요약: 입찰 공고입니다.", "마감은 4월 11일입니다.")
    result = run_bot("chat", env=bot_env, stdin=f"/file {path}\n마감이 언제야?\n/exit\n")
    assert result.returncode == 0, result.stderr
    assert "한 줄 요약: 입찰 공고입니다." in result.stdout and "마감은 4월 11일입니다." in result.stdout
    assert "제출 마감은 2025년 4월 11일 오후 3시입니다." in sagemaker_thread.requests[1].json["inputs"]


def test_chat_takes_a_quoted_path_and_answers_unknown_commands_with_help(sagemaker_thread, bot_env, tmp_path):
    path = tmp_path / "AI 키워드 정리.txt"
    path.write_text("인공지능 키워드: 생성형 AI, 거대 언어 모델.", encoding="utf-8")
    sagemaker_thread.script("한 줄 요약: 키워드 목록입니다.")
    result = run_bot("chat", env=bot_env, stdin=f"/file '{path}'\n/file\n/foo\n/exit\n")
    assert result.returncode == 0, result.stderr
    assert "한 줄 요약: 키워드 목록입니다." in result.stdout
    assert result.stdout.count("/reset") == 3  # the help at start, after `/file` alone and after `/foo`
    assert len(sagemaker_thread.requests) == 1  # neither `/file` alone nor `/foo` reached the model
