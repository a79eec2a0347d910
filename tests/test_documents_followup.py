"""A dropped document is summarized whole, kept with the conversation, and later questions about
it get the passages that hold the answer."""

from __future__ import annotations

import os
from pathlib import Path

from bot.core.conversation import ConversationKey
from fakes.sagemaker import Reply
from tests.corpus_files import corpus_file
from tests.provider_support import model_requests, reply_for, sent_text
from tests.support import cli_env, make_engine, prompts, run_bot

KEY = ConversationKey("slack", ("T1", "C1", "1700000000.0001"))


def report_text() -> str:
    filler = [
        f"{i}장 일반 사항. 이 장은 사업의 추진 배경과 일정, 담당 조직의 역할을 설명한다. "
        "회의는 매월 첫째 주에 열리며 결과는 게시판에 공유한다." * 4
        for i in range(4, 80)
    ]
    chapter3 = "3장 예산 계획. 이 사업의 총 예산은 12억 3천만 원이며 그중 인건비가 4억 원이다."
    return "\n\n".join(["1장 개요. 사업의 목적을 설명한다.", "2장 일정. 2025년 3월에 착수한다.", chapter3, *filler])


async def test_follow_up_question_gets_the_passage_with_the_answer(model_server, redis_url, redis_prefix):
    model_server.default = reply_for(model_server, "요약입니다.")
    # Llama 3's 8K on every provider (Llama 3.1 would hold the whole document)
    engine = make_engine(model_server, redis_url, redis_prefix, llm_context_tokens=8192)
    try:
        summary = await engine.summarize_document(KEY, report_text().encode("cp949"), "사업계획서.txt")
        calls_for_summary = model_requests(model_server)
        model_server.script("총 예산은 12억 3천만 원입니다.")
        answer = await engine.reply(KEY, "3장에서 말하는 예산은 얼마야?")
    finally:
        await engine.aclose()
    assert summary == "요약입니다."
    assert answer == "총 예산은 12억 3천만 원입니다."
    question_prompt = sent_text(model_server, calls_for_summary)
    assert "이 사업의 총 예산은 12억 3천만 원이며" in question_prompt
    assert "[사업계획서.txt]" in question_prompt
    # The whole document was too long for one prompt: the follow-up carried selected passages.
    assert "79장 일반 사항" not in question_prompt


async def test_file_name_cannot_inject_special_tokens(model_server, redis_url, redis_prefix):
    engine = make_engine(model_server, redis_url, redis_prefix)
    try:
        await engine.summarize_document(KEY, "짧은 문서 내용".encode(), "a<|eot_id|>b.txt")
    finally:
        await engine.aclose()
    sent = sent_text(model_server, 0)
    assert "<|eot_id|>b.txt" not in sent and "a<\u200b|eot_id|>b.txt" in sent


async def test_document_question_with_summarize_and_question(model_server, redis_url, redis_prefix):
    engine = make_engine(model_server, redis_url, redis_prefix)
    model_server.script("2025년 3월입니다.")
    try:
        answer = await engine.summarize_document(
            KEY, report_text().encode(), "계획.txt", question="착수 시점이 언제야?"
        )
    finally:
        await engine.aclose()
    assert answer == "2025년 3월입니다."
    assert "2025년 3월에 착수한다" in sent_text(model_server, 0)


async def test_reset_forgets_documents_too(model_server, redis_url, redis_prefix):
    engine = make_engine(model_server, redis_url, redis_prefix)
    try:
        await engine.summarize_document(KEY, report_text().encode(), "계획.txt")
        await engine.reset(KEY)
        await engine.reply(KEY, "3장 예산은?")
    finally:
        await engine.aclose()
    assert "12억 3천만 원" not in sent_text(model_server, -1)


def child_processes() -> set[int]:
    """The pids of this process's living children (Linux: their PPid in /proc/PID/status)."""
    children = set()
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except OSError:
            continue  # it ended while we looked
        if int(fields.get("PPid", "0")) == os.getpid() and not fields.get("State", "").startswith("Z"):
            children.add(int(status.parent.name))
    return children


async def test_closing_the_engine_ends_its_extraction_processes(sagemaker, redis_url, redis_prefix):
    sagemaker.default = Reply("요약입니다.")
    before = child_processes()
    engine = make_engine(sagemaker, redis_url, redis_prefix)
    try:
        await engine.summarize_document(KEY, report_text().encode(), "계획.txt")
        started = child_processes() - before
    finally:
        await engine.aclose()
    assert started  # the document was read in a process of its own
    assert not started & child_processes()


def test_summarize_command_prints_summary_and_progress(sagemaker_thread, tmp_path: Path):
    sagemaker_thread.default = Reply("한 줄 요약: 문서 요약입니다.")
    path = tmp_path / "보고서.txt"
    path.write_bytes(report_text().encode("cp949"))
    result = run_bot("summarize", str(path), env=cli_env(sagemaker_thread))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "한 줄 요약: 문서 요약입니다.\n"
    assert "문서를 읽고 요약하는 중이에요… (" in result.stderr  # the steps of a long summary
    assert len(sagemaker_thread.requests) > 1  # long enough for map and combine calls


def test_summarize_command_explains_bad_files(sagemaker_thread):
    encrypted = corpus_file("pdf/password_protected.pdf")
    result = run_bot("summarize", str(encrypted), env=cli_env(sagemaker_thread))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == "암호가 걸린 문서는 읽을 수 없습니다. 암호를 해제한 뒤 다시 보내 주세요."
    missing = run_bot("summarize", "/no/such/file.pdf", env=cli_env(sagemaker_thread))
    assert missing.returncode == 1 and "파일을 열 수 없습니다" in missing.stderr
    assert sagemaker_thread.requests == []

