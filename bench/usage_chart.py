"""`python -m bench.usage_chart`: the usage chart the README shows (docs/usage-chart.png), made
from a real run, and the admins' per-day report printed beside it.

A team of eight people asks questions and drops documents on each of the last 14 days (more on
weekdays). Every answer goes through the real engine to the fake SageMaker endpoint with a real
Redis, so its tokens are the Llama 3 tokenizer's count of the real prompt and answer. A run
cannot wait two weeks: each answer's usage, as the engine's usage hook hands it over, is filed
again by the same ledger under its simulated day (under a key prefix of its own), and
`python -m bot usage --by day --plot` reads that back.

    python -m bench.usage_chart                      # writes docs/usage-chart.png
    python -m bench.usage_chart --quick --output /tmp/chart.png"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from bench.common import ROOT, bot_settings, redis_for_bench
from bot.core.conversation import ConversationKey
from bot.core.engine import ChatEngine
from bot.core.memory.connection import connect
from bot.core.memory.health import RedisHealth
from bot.core.memory.ledger import Layout, RedisLedger
from bot.core.usage import AnswerUsage, Asker
from bot.usage_report import ReportRequest, run_report
from fakes.sagemaker import FakeSageMaker

PEOPLE = [f"U{n:04d}" for n in range(1, 9)]
CHANNELS = ["C-general", "C-dev", "C-sales"]
QUESTIONS = [
    "다음 주 회의 안건을 정리해 줘.", "이 오류 메시지가 무슨 뜻이야?", "고객에게 보낼 사과 메일 초안을 써 줘.",
    "파이썬에서 비동기 함수를 테스트하는 방법은?", "분기 매출 보고서의 핵심을 세 줄로 요약해 줘.",
    "Explain the difference between a process and a thread.", "신규 입사자 교육 일정을 짜 줘.",
]
DOCUMENT = "\n".join(f"[p. {page}]\n2026년 사업 계획 {page}쪽: 예산은 {page * 3}억 원, 담당 부서는 기획팀입니다." for page in range(1, 6))


def _answer(rng: random.Random) -> str:
    """A reply of a length people see: a few sentences to a few paragraphs."""
    return " ".join("답변 문장입니다. 필요한 내용을 정리했습니다." for _ in range(rng.randint(2, 30)))


async def _run(days: int, per_weekday: int, output: Path) -> int:
    rng = random.Random(18)
    with redis_for_bench() as redis_url:
        async with FakeSageMaker() as endpoint:
            endpoint.responder(lambda _: _answer(rng))
            os.environ.update(endpoint.env())  # fake credentials, for this script's own process
            live = bot_settings(endpoint.url, redis_url, "usage-chart-live", 16)
            engine = ChatEngine.from_settings(live)
            seen: list[AnswerUsage] = []
            engine.usage_observers.append(seen.append)
            client = connect(redis_url, max_connections=4, timeout_seconds=5)
            filed = RedisLedger(client, Layout("usage-chart", engine.calendar), 3600, RedisHealth())
            if stale := [key async for key in client.scan_iter(match="usage-chart*")]:
                await client.delete(*stale)
            try:
                for day in engine.calendar.last_days(days, time.time()):
                    noon = datetime.fromisoformat(day).replace(hour=12, tzinfo=engine.calendar.zone).timestamp()
                    weekday = datetime.fromisoformat(day).weekday() < 5
                    count = rng.randint(per_weekday // 2, per_weekday) if weekday else rng.randint(1, max(2, per_weekday // 6))
                    seen.clear()
                    await _one_day(engine, rng, count, documents=rng.randint(1, 3) if weekday else 0)
                    for usage in seen:
                        await filed.record(replace(usage, at=noon))
            finally:
                await engine.aclose()
                await client.aclose()
            report = bot_settings(endpoint.url, redis_url, "usage-chart", 16)
            return await run_report(report, ReportRequest(days, None, "day", False, output))


async def _one_day(engine: ChatEngine, rng: random.Random, answers: int, documents: int) -> None:
    for n in range(answers):
        person, channel = rng.choice(PEOPLE), rng.choice(CHANNELS)
        asker = Asker("slack", "T-bench", person, channel)
        key = ConversationKey("slack", ("T-bench", channel, f"{time.time()}.{n}"))
        await engine.reply(key, rng.choice(QUESTIONS), asker=asker)
    for n in range(documents):
        asker = Asker("slack", "T-bench", rng.choice(PEOPLE), rng.choice(CHANNELS))
        key = ConversationKey("slack", ("T-bench", asker.channel, f"doc.{time.time()}.{n}"))
        await engine.summarize_document(key, DOCUMENT.encode(), "사업계획.txt", asker=asker)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.usage_chart", description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "usage-chart.png")
    parser.add_argument("--quick", action="store_true", help="3 days, a few answers: proves it runs")
    args = parser.parse_args(argv)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    days, per_weekday = (3, 4) if args.quick else (14, 40)
    return asyncio.run(_run(days, per_weekday, args.output))


if __name__ == "__main__":
    sys.exit(main())
