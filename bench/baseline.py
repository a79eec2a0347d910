"""The original design's way of answering, measured against the same endpoint.

    python -m bench.baseline [--quick]

The original was one AWS Lambda: per request, a prompt built from a template and the user's last
exchanges (kept in a Python dict, window k=4), and a synchronous LangChain chain over
`langchain_aws.SagemakerEndpoint`, invoked without streaming; one request at a time per instance.
This reproduces exactly that in a fresh process (a warm Lambda: the chain is built once, the prompt
every time), with boto3's default client, so every other benchmark can report its figures as a
ratio to it. Its users see nothing until the whole answer is back, so its time to first text is
its whole latency; it keeps no Redis state."""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict
from typing import Any

from bench.common import (
    RssSampler, ms, part_main, run_in_bot_process, script_arguments, send_result, spread, table, wait_for_quiet,
    write_results,
)
from bench.endpoint import FULL_PROFILE, QUICK_PROFILE, EndpointProcess, Profile

# The original's template, reconstructed from its description: the user text quoted and indented.
_TEMPLATE = """The following is a friendly conversation between a human and an AI. The AI is talkative and \
provides lots of specific details from its context. If the AI does not know the answer to a question, \
it truthfully says it does not know.

Current conversation:
{history}
Human: "{input}"
AI:"""


def _chain(endpoint_url: str) -> Any:
    import boto3
    from langchain_aws import SagemakerEndpoint
    from langchain_aws.llms.sagemaker_endpoint import LLMContentHandler
    from langchain_core.prompts import PromptTemplate

    class ContentHandler(LLMContentHandler):
        content_type = "application/json"
        accepts = "application/json"

        def transform_input(self, prompt: str, model_kwargs: dict[str, Any]) -> bytes:
            return json.dumps({"inputs": prompt, "parameters": model_kwargs}).encode("utf-8")

        def transform_output(self, output: Any) -> str:
            return json.loads(output.read().decode("utf-8"))["generated_text"]

    client = boto3.client("sagemaker-runtime", region_name="us-east-1", endpoint_url=endpoint_url)
    llm = SagemakerEndpoint(
        client=client,
        endpoint_name="bench",
        content_handler=ContentHandler(),
        model_kwargs={"max_new_tokens": 1024, "top_p": 0.9, "temperature": 0.1},
        endpoint_kwargs={"CustomAttributes": "accept_eula=true"},
    )
    return PromptTemplate.from_template(_TEMPLATE) | llm


def _answer(chain: Any, memory: dict[str, list[tuple[str, str]]], user: str, text: str) -> str:
    """One Lambda invocation: window the user's history (k=4), build the prompt, call the chain."""
    history = memory.setdefault(user, [])[-4:]
    lines = "\n".join(f"Human: {q}\nAI: {a}" for q, a in history)
    answer = chain.invoke({"history": lines, "input": "\n".join("    " + line for line in text.splitlines())})
    memory[user].append((text, answer))
    return answer


def child_main(payload: str) -> int:
    job = json.loads(payload)
    profile = Profile(**job["profile"])
    chain = _chain(job["endpoint"])
    memory: dict[str, list[tuple[str, str]]] = {}
    text = "이번 분기 팀 회의에서 정리한 일정과 담당자를 다시 알려주실 수 있나요?"
    _answer(chain, memory, "warm-up", text)
    latencies: list[float] = []
    records: list[tuple[str, float, float]] = []
    cpu_before = os.times()
    with RssSampler() as rss:
        for i in range(job["requests"]):
            tag = f"[q{i // 5}-{i % 5}]"  # the endpoint process reports its own time per tag
            started = time.monotonic()
            _answer(chain, memory, f"user-{i // 5}", f"{tag} {text}")  # five exchanges per user
            records.append((tag, started, time.monotonic()))
            latencies.append(records[-1][2] - started)
    cpu = os.times()
    cpu_seconds = (cpu.user - cpu_before.user) + (cpu.system - cpu_before.system)
    result = {
        "profile": profile.recorded(),
        "requests": len(latencies),
        "latency_s": latencies,
        "latency_mean_s": sum(latencies) / len(latencies),
        "records": records,
        "overhead_nominal_ms": [ms(t - profile.seconds) for t in latencies],
        # Nothing is shown before the whole answer: first text comes with the last token.
        "first_text_ms": [ms(t - profile.ttft) for t in latencies],
        "peak_rss_mb": rss.peak_mb,
        "cpu_ms_per_request": ms(cpu_seconds / len(latencies)),
        "redis_commands_per_exchange": 0.0,
        "replies_per_second": len(latencies) / sum(latencies),
    }
    send_result(result)
    return 0


def measure(endpoint: EndpointProcess, redis_url: str | None, profile: Profile, requests: int = 10) -> dict[str, Any]:
    """The original design's figures for `profile`, from `requests` sequential requests in a fresh
    process. `redis_url` is unused (the original kept memory in the Lambda); it is accepted so every
    part calls this the same way."""
    endpoint.set_profile(profile)
    endpoint.timeline()
    result = run_in_bot_process("bench.baseline", {"endpoint": endpoint.url, "profile": asdict(profile), "requests": requests})
    # Overhead against the endpoint's measured own time for each request, as for the bot.
    timeline = endpoint.timeline()
    result["overhead_ms"] = [
        ms((end - start) - (timeline[tag][2] - timeline[tag][0])) for tag, start, end in result["records"] if tag in timeline
    ]
    over = spread(result["overhead_ms"])
    result["summary"] = (
        f"{result['requests']} requests, latency {result['latency_mean_s']:.3f} s mean, "
        f"overhead p50 {over['p50']:.1f} ms, {result['replies_per_second']:.3f} replies/s"
    )
    return result


def rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    over, first = spread(result["overhead_ms"]), spread(result["first_text_ms"])
    return [{
        "requests": result["requests"], "endpoint_s": result["profile"]["seconds"],
        "latency": result["latency_mean_s"], "over_p50": over["p50"], "over_p99": over["p99"],
        "first_p50": first["p50"], "rate": result["replies_per_second"],
        "rss": result["peak_rss_mb"], "cpu": result["cpu_ms_per_request"],
    }]


COLUMNS = [
    ("requests", "requests", "d"), ("endpoint_s", "endpoint s", ".2f"), ("latency", "latency s", ".3f"),
    ("over_p50", "overhead p50 ms", ".1f"), ("over_p99", "p99", ".1f"),
    ("first_p50", "1st text-TTFT p50 ms", ".0f"), ("rate", "replies/s", ".3f"),
    ("rss", "peak RSS MB", ".0f"), ("cpu", "CPU ms/req", ".2f"),
]


def run(quick: bool, output: Any = None, profile: Profile | None = None) -> dict[str, Any]:
    profile = profile or (QUICK_PROFILE if quick else FULL_PROFILE)
    load = None if quick else wait_for_quiet()
    with EndpointProcess(profile) as endpoint:
        result = measure(endpoint, None, profile, requests=3 if quick else 20)
    print(f"original design (synchronous LangChain chain, one request at a time); endpoint: {profile.describe()}")
    print(table(rows(result), COLUMNS))
    write_results("baseline", {"quick": quick, "load_at_start": load, **result}, output)
    return result


def main(argv: list[str] | None = None) -> int:
    return part_main(script_arguments("python -m bench.baseline", __doc__), argv, run, child_main)


if __name__ == "__main__":
    sys.exit(main())
