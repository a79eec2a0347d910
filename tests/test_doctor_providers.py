"""`doctor` tries the configured provider for real: a tiny Converse call to the Bedrock model
(AWS's own words when it fails), and for an OpenAI-compatible server whether the model is among
those GET /v1/models lists; each failure with what to change, in Korean and English."""

from __future__ import annotations

import os

from bot.doctor import check_llm
from fakes.bedrock import LLAMA_TEXT, FakeBedrock
from fakes.openai_compatible import TEXT_MODEL, FakeOpenAI
from fakes.sagemaker import run_in_thread
from tests.support import make_settings, run_bot


def _fix(check) -> str:
    assert check.fix is not None
    return check.fix.ko + " / " + check.fix.en


async def test_doctor_reaches_the_bedrock_model_with_one_tiny_converse_call() -> None:
    async with FakeBedrock() as bedrock:
        check = await check_llm(make_settings(bedrock, None, "t"))
    assert check.ok and check.detail == f"{LLAMA_TEXT} at {bedrock.url} answers"
    [request] = bedrock.requests
    assert request.path.endswith("/converse") and request.json["inferenceConfig"]["maxTokens"] == 1


async def test_doctor_shows_bedrocks_words_when_the_model_is_not_enabled() -> None:
    async with FakeBedrock(denied={LLAMA_TEXT}) as bedrock:
        check = await check_llm(make_settings(bedrock, None, "t"))
    assert not check.ok
    assert "AccessDeniedException: You don't have access to the model with the specified model ID." in check.detail
    assert "Model access" in _fix(check) and "bedrock:InvokeModel" in _fix(check)


async def test_doctor_names_a_bedrock_model_id_that_does_not_exist() -> None:
    async with FakeBedrock() as bedrock:
        check = await check_llm(make_settings(bedrock, None, "t", bedrock_model_id="meta.llama9-1b-v1:0"))
    assert not check.ok and "ValidationException: The provided model identifier is invalid." in check.detail
    assert "BEDROCK_MODEL_ID" in _fix(check)


async def test_doctor_finds_the_model_among_those_the_server_lists() -> None:
    async with FakeOpenAI(models={"llama3.1:latest": False, "qwen2.5:7b": False}) as server:
        ok = await check_llm(make_settings(server, None, "t", openai_model="llama3.1"))
        missing = await check_llm(make_settings(server, None, "t", openai_model="exaone3.5:7.8b"))
    assert ok.ok and ok.detail == f"llama3.1 at {server.base_url} is served"
    assert not missing.ok and "(llama3.1:latest, qwen2.5:7b)" in missing.detail
    assert "ollama pull" in _fix(missing)
    assert [r.path for r in server.requests] == ["/v1/models", "/v1/models"]  # no completion asked


async def test_doctor_says_how_to_reach_a_server_that_is_not_there() -> None:
    async with FakeOpenAI() as server:
        url = server.url
    check = await check_llm(make_settings(server, None, "t", openai_base_url=f"{url}/v1"))
    assert not check.ok and "APIConnectionError" not in check.detail and "connection" in check.detail
    assert "OPENAI_BASE_URL" in _fix(check) and "ollama serve" in _fix(check)


async def test_doctor_says_a_wrong_key_is_refused() -> None:
    async with FakeOpenAI(api_key="sk-right") as server:
        check = await check_llm(make_settings(server, None, "t", openai_api_key="sk-wrong"))
    assert not check.ok and "401" in check.detail and "OPENAI_API_KEY" in _fix(check)


def test_python_m_bot_doctor_checks_an_ollama_style_server() -> None:
    with run_in_thread(FakeOpenAI()) as server:  # type: ignore[arg-type]
        env = {"LLM_PROVIDER": "openai", "OPENAI_BASE_URL": server.base_url, "OPENAI_MODEL": TEXT_MODEL}
        result = run_bot("doctor", env={**_clean_env(), **env})
    assert f"[OK  ] LLM endpoint: {TEXT_MODEL} at {server.base_url} is served" in result.stdout


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_", "REDIS_", "SAGEMAKER_"))}
