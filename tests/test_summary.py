"""Summaries of whole documents: every part reaches a prompt, the plan is kept, maps run at once."""

from __future__ import annotations

import re

from bot.core.summary import Summarizer
from fakes.sagemaker import Reply
from tests.support import cli_env, make_engine, run_bot


def long_document(paragraphs: int) -> str:
    return "\n\n".join(
        f"제{i}조 (표지-{i:04d}) 이 조항은 사업 예산 {i * 10}억 원의 집행 절차를 정한다. "
        "담당 부서는 분기마다 집행 실적을 보고하여야 한다. " * 3
        for i in range(paragraphs)
    )


async def test_long_document_every_chunk_reaches_a_map_prompt_concurrently(sagemaker, redis_url, redis_prefix):
    engine = make_engine(sagemaker, redis_url, redis_prefix, llm_context_tokens=2048, llm_max_new_tokens=512)
    steps: list[tuple[int, int]] = []

    async def progress(done: int, total: int) -> None:
        steps.append((done, total))

    text = long_document(120)
    summarizer = Summarizer(engine.llm, engine.budget, "ko", partial_tokens=256)
    try:
        plan = summarizer.plan(text)
        at_once = min(len(plan.chunks), 10)
        # Held until that many maps are at the endpoint together: one at a time never gets there.
        sagemaker.default = Reply("부분 요약입니다.", until=lambda: sagemaker.max_concurrent_seen >= at_once)
        summary = await summarizer.summarize(text, "예산서.hwp", progress)
    finally:
        await engine.aclose()

    assert len(plan.chunks) > 5 and len(plan.levels) >= 3  # long enough to need two combine levels
    assert summary == "부분 요약입니다."
    assert len(sagemaker.requests) == plan.total_calls
    map_prompts = [r.json["inputs"] for r in sagemaker.requests[: len(plan.chunks)]]
    seen = set()
    for prompt in map_prompts:
        seen.update(re.findall(r"표지-\d{4}", prompt))
    assert seen == {f"표지-{i:04d}" for i in range(120)}
    assert all(engine.tokens.count(p) <= 2048 - 256 for p in map_prompts)
    assert steps[0] == (0, plan.total_calls) and steps[-1] == (plan.total_calls, plan.total_calls)
    final = sagemaker.requests[-1].json["inputs"]
    assert "한 줄 요약" in final and "주요 내용" in final


async def test_short_document_is_summarized_in_one_call_with_fixed_shape(sagemaker, redis_url, redis_prefix):
    sagemaker.script("한 줄 요약: 짧은 문서입니다.")
    engine = make_engine(sagemaker, redis_url, redis_prefix)
    try:
        summary = await Summarizer(engine.llm, engine.budget).summarize("짧은 공고문입니다. 신청 기한은 3월 2일입니다.", "공고.txt")
    finally:
        await engine.aclose()
    assert summary == "한 줄 요약: 짧은 문서입니다."
    assert len(sagemaker.requests) == 1
    prompt = sagemaker.requests[0].json["inputs"]
    assert "신청 기한은 3월 2일입니다." in prompt and "주요 숫자·날짜·이름" in prompt


async def test_a_part_the_model_fails_on_twice_is_left_out_and_named(sagemaker, redis_url, redis_prefix):
    bad = "표지-0007"

    @sagemaker.responder
    def fail_on_one_part(request: dict) -> Reply | None:
        return Reply(fault="model_error") if bad in request["inputs"] and "부분입니다" in request["inputs"] else None

    sagemaker.default = Reply("부분 요약입니다.")
    engine = make_engine(sagemaker, redis_url, redis_prefix, llm_context_tokens=2048, llm_max_new_tokens=512)
    steps: list[tuple[int, int]] = []

    async def progress(done: int, total: int) -> None:
        steps.append((done, total))

    summarizer = Summarizer(engine.llm, engine.budget, "ko", partial_tokens=256)
    try:
        text = long_document(40)
        plan = summarizer.plan(text)
        summary = await summarizer.summarize(text, "예산서.hwp", progress)
    finally:
        await engine.aclose()
    failed = [i + 1 for i, chunk in enumerate(plan.chunks) if bad in chunk]
    assert summary.startswith("부분 요약입니다.") and f"{failed[0]}번째 부분은 모델 오류로 읽지 못해" in summary
    tries = [r for r in sagemaker.requests if bad in r.json["inputs"] and "부분입니다" in r.json["inputs"]]
    assert len(tries) == 2  # tried again once, then given up
    assert any("(이 부분은 읽지 못했습니다.)" in r.json["inputs"] for r in sagemaker.requests)
    assert steps[-1] == (plan.total_calls, plan.total_calls)


def test_summarize_command_says_the_document_could_not_be_summarized(sagemaker_thread, tmp_path):
    sagemaker_thread.default = Reply(fault="model_error")
    path = tmp_path / "공고.txt"
    path.write_text("짧은 공고문입니다. 신청 기한은 3월 2일입니다.", encoding="utf-8")
    result = run_bot("summarize", str(path), env=cli_env(sagemaker_thread))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == "모델이 이 문서를 요약하지 못했습니다. 잠시 후 다시 시도해 주세요."
