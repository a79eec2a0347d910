"""A SageMaker-protocol endpoint with a set latency and token rate, in its own process.

    python -m bench.endpoint --ttft 0.5 --tps 20 --tokens 31   # prints "READY <url>" (a free port), then serves
    python -m bench.endpoint --protocol bedrock                # the same as a Bedrock runtime (or openai)

It is fakes/sagemaker.FakeSageMaker (fakes/bedrock.FakeBedrock, fakes/openai_compatible.FakeOpenAI
with `--protocol`), run in a separate process so that its event loop and
its share of the GIL are not charged to the bot being measured. The parent steers it with JSON
lines on stdin (`{"cmd": "profile", ...}`, `{"cmd": "stats"}`) and reads one JSON line back for
each; closing stdin stops it.

Streaming answers take `ttft` seconds to the first token, then one token every 1/`tps` seconds:
the endpoint's own time is ttft + (tokens - 1) / tps. A non-streaming call answers after that
same time, all at once."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

from bench.common import spread, start_serving
from bot import eventloop

# Questions may carry a tag like "[q12-3]" (conversation 12, exchange 3); CLOCK_MONOTONIC is
# shared by every process on the machine, so times recorded here compare with the parent's.
TAG = re.compile(r"\[q\d+-\d+\]")

# A Korean answer cut into two-syllable "tokens" (Llama 3 spends about 1.3 tokens on two Hangul
# syllables, so this slightly under-counts the text a real token stream would carry).
_ANSWER = (
    "서울은 한강을 따라 산책하기 좋은 도시입니다 경복궁과 북촌 한옥마을을 함께 둘러보시고 "
    "저녁에는 남산에 올라 야경을 보시기를 추천드립니다 "
)


@dataclass(frozen=True)
class Profile:
    """How the endpoint answers: seconds to the first token, tokens per second, answer length."""

    ttft: float = 0.5
    tps: float = 20.0
    tokens: int = 31

    @property
    def seconds(self) -> float:
        """The endpoint's own time for one answer (the ideal the bot is measured against)."""
        return self.ttft + (self.tokens - 1) / self.tps

    def token_list(self) -> list[str]:
        text = _ANSWER * (self.tokens * 2 // len(_ANSWER) + 2)
        return [text[2 * i : 2 * i + 2] for i in range(self.tokens)]

    def describe(self) -> str:
        return f"ttft {self.ttft:g} s, {self.tps:g} tok/s, {self.tokens} tokens = {self.seconds:.2f} s"

    def recorded(self) -> dict[str, float]:
        """The profile as the results file keeps it, its own time included."""
        return asdict(self) | {"seconds": self.seconds}


# The "2 s endpoint" of the targets: half a second to the first token, then 31 tokens at 20/s.
FULL_PROFILE = Profile(ttft=0.5, tps=20.0, tokens=31)
QUICK_PROFILE = Profile(ttft=0.05, tps=200.0, tokens=5)


def _reply(profile: Profile) -> Any:
    from fakes.sagemaker import Reply

    tokens = profile.token_list()
    return Reply(
        "".join(tokens),
        schema="lmi",
        tokens=tokens,
        first_token_delay=profile.ttft,
        token_delay=1 / profile.tps,
        delay=profile.seconds,
    )


PROTOCOLS = ("sagemaker", "bedrock", "openai")


def provider_settings(protocol: str, url: str) -> dict[str, Any]:
    """What points the bot at this endpoint speaking `protocol`, besides the SageMaker settings
    (bench.common.bot_settings): a Llama 3 model on each, counted and sized alike."""
    if protocol == "bedrock":
        return {"llm_provider": "bedrock", "bedrock_model_id": "us.meta.llama3-3-70b-instruct-v1:0", "bedrock_endpoint_url": url}
    if protocol == "openai":
        return {"llm_provider": "openai", "openai_model": "llama3.1:8b", "openai_base_url": f"{url}/v1"}
    return {}


def _model_reply(profile: Profile) -> Any:
    from fakes.model_server import ModelReply

    tokens = profile.token_list()
    return ModelReply("".join(tokens), tokens=tokens, first_token_delay=profile.ttft, token_delay=1 / profile.tps)


def _timed_model_server(protocol: str, profile: Profile) -> Any:
    """The Bedrock or OpenAI-compatible fake, timed as TimedFake below times the SageMaker one."""
    from fakes.bedrock import FakeBedrock
    from fakes.openai_compatible import FakeOpenAI

    base = FakeBedrock if protocol == "bedrock" else FakeOpenAI

    class TimedModelServer(base):  # type: ignore[valid-type,misc]
        def __init__(self) -> None:
            super().__init__(_model_reply(profile))
            self.profile = profile
            self.service: list[float] = []
            self.timeline: dict[str, tuple[float, float | None, float]] = {}

        def set_profile(self, new: Profile) -> None:
            self.profile, self.default = new, _model_reply(new)

        async def answer(self, request: Any, answer: Any) -> Any:
            request["received"] = time.monotonic()  # before the body is read: all of it is ours
            return await super().answer(request, answer)

        @contextlib.contextmanager
        def recorded(self, request: Any, parsed: Any) -> Any:
            tags = TAG.findall(json.dumps(parsed, ensure_ascii=False))
            started = request.get("received", time.monotonic())
            try:
                with super().recorded(request, parsed):
                    yield
            finally:
                finished = time.monotonic()
                self.service.append(finished - started)
                if tags:  # the last tag is the question being answered, as for SageMaker
                    self.timeline[tags[-1]] = (started, request.get("first"), finished)

        async def tokens(self, request: Any, reply: Any) -> Any:
            """On an absolute schedule, as TimedFake._stream; the first token's time is taken
            once it has been written."""
            loop = asyncio.get_running_loop()
            start = loop.time() + reply.first_token_delay
            for i, token in enumerate(reply.streamed_tokens()):
                wait = start + i * reply.token_delay - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                yield token
                if i == 0:
                    request["first"] = time.monotonic()

    return TimedModelServer()


# ------------------------------------------------------------------ the server process

def _serve(profile: Profile, protocol: str = "sagemaker") -> None:
    """Serve on 127.0.0.1:<free port> until stdin closes."""
    from fakes.sagemaker import FakeSageMaker

    class TimedFake(FakeSageMaker):
        """Records how long each answer really took here, so lateness of this process (it is
        Python too) can be told apart from the bot's overhead."""

        def __init__(self) -> None:
            super().__init__(_reply(profile))
            self.profile = profile
            self.service: list[float] = []
            self.timeline: dict[str, tuple[float, float | None, float]] = {}  # tag -> (received, first token, done)

        async def _stream(self, request: Any, resp: Any, reply: Any, events: list[bytes], n_tokens: int, die_at: int) -> None:
            """Tokens on an absolute schedule (ttft + i / tps from the request), not one relative
            sleep after another: under load each sleep wakes a little late, and the fake's own
            lateness would add up token after token and be charged to the bot."""
            if reply.fault or reply.part_size:
                return await super()._stream(request, resp, reply, events, n_tokens, die_at)
            loop = asyncio.get_running_loop()
            start = loop.time() + reply.first_token_delay
            for i, event in enumerate(events):
                wait = start + min(i, n_tokens - 1) * reply.token_delay - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                await resp.write(_encoded(event))
                if i == 0:
                    request["first"] = time.monotonic()

        async def _handle(self, request: Any) -> Any:
            request["received"] = time.monotonic()  # before the body is read: all of it is ours
            return await super()._handle(request)

        async def _respond(self, request: Any, reply: Any, endpoint: str, parsed: Any, streaming: bool) -> Any:
            started = request.get("received", time.monotonic())
            # The last question tag in the prompt names the exchange being answered (bench.slack
            # matches the endpoint's first token with the first text shown in Slack).
            tags = TAG.findall(str((parsed or {}).get("inputs", ""))) if isinstance(parsed, dict) else []
            if tags:
                request["tag"] = tags[-1]
            try:
                return await super()._respond(request, reply, endpoint, parsed, streaming)
            finally:
                finished = time.monotonic()
                self.service.append(finished - started)
                if request.get("tag"):
                    self.timeline[request["tag"]] = (started, request.get("first"), finished)

        def set_profile(self, new: Profile) -> None:
            self.profile, self.default = new, _reply(new)

    async def main() -> None:
        fake = TimedFake() if protocol == "sagemaker" else _timed_model_server(protocol, profile)
        await fake.start()
        loop = asyncio.get_running_loop()
        done = asyncio.Event()

        def command(line: str) -> dict[str, Any]:
            message = json.loads(line)
            if message["cmd"] == "profile":
                fake.set_profile(Profile(**message["profile"]))
                return {"ok": True}
            if message["cmd"] == "stats":
                nominal = fake.profile.seconds
                stats = {
                    "requests": len(fake.requests),
                    "streaming": sum(1 for r in fake.requests if r.streaming),
                    "max_concurrent": fake.max_concurrent_seen,
                    "prompt_chars": spread([_prompt_chars(r.json) for r in fake.requests]),
                    "lateness_ms": spread([(s - nominal) * 1000 for s in fake.service]),
                }
                if message.get("reset", True):
                    fake.requests.clear()
                    fake.service.clear()
                    fake.max_concurrent_seen = fake.in_flight
                return stats
            if message["cmd"] == "timeline":
                times, fake.timeline = fake.timeline, {}
                return times
            raise ValueError(message["cmd"])

        def read_stdin() -> None:
            for line in sys.stdin:
                if not line.strip():
                    continue
                future = asyncio.run_coroutine_threadsafe(_call(command, line), loop)
                print(json.dumps(future.result()), flush=True)
            loop.call_soon_threadsafe(done.set)

        threading.Thread(target=read_stdin, daemon=True).start()
        print(f"READY {fake.url}", flush=True)
        await done.wait()
        await fake.stop()

    # The endpoint stands in for another machine: every cycle it spends is one the bot under
    # measurement does not get, so it runs on uvloop and encodes each distinct event once.
    eventloop.run(main())


def _prompt_chars(body: Any) -> int:
    """The length of a SageMaker `inputs` prompt, or of a Converse or chat completion request."""
    if isinstance(body, dict) and "inputs" in body:
        return len(body["inputs"])
    return len(json.dumps(body, ensure_ascii=False)) if body else 0


@functools.lru_cache(maxsize=4096)
def _encoded(event: bytes) -> bytes:
    from fakes.sagemaker import payload_part

    return payload_part(event)


async def _call(command: Any, line: str) -> Any:
    return command(line)


# ------------------------------------------------------------------ the parent's handle

class EndpointProcess:
    """Starts `python -m bench.endpoint` and steers it. Use as a context manager."""

    def __init__(self, profile: Profile, protocol: str = "sagemaker") -> None:
        self.profile = profile
        self.protocol = protocol
        self.url = ""
        self._proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> "EndpointProcess":
        args = ["--ttft", str(self.profile.ttft), "--tps", str(self.profile.tps), "--tokens", str(self.profile.tokens),
                "--protocol", self.protocol]  # fmt: skip
        self._proc, self.url = start_serving("bench.endpoint", args, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        return self

    def _ask(self, message: dict[str, Any]) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(json.dumps(message) + "\n")
        self._proc.stdin.flush()
        return json.loads(self._proc.stdout.readline())

    def set_profile(self, profile: Profile) -> None:
        self._ask({"cmd": "profile", "profile": asdict(profile)})
        self.profile = profile

    def timeline(self) -> dict[str, list[float]]:
        """{question tag: [request arrived, first token written, last byte written]}
        (time.monotonic()) since the last call: the endpoint's own time for that exchange, as this
        process really spent it (its first token is None for a non-streaming call)."""
        return self._ask({"cmd": "timeline"})

    def stats(self, reset: bool = True) -> dict[str, Any]:
        """What the endpoint saw since the last reset: requests, peak concurrency, prompt sizes,
        and how late its own answers were against the profile."""
        return self._ask({"cmd": "stats", "reset": reset})

    def close(self) -> None:
        if self._proc is None:
            return
        try:
            if self._proc.stdin:
                self._proc.stdin.close()
            self._proc.wait(10)
        except (subprocess.TimeoutExpired, OSError):
            self._proc.kill()
            self._proc.wait(5)
        self._proc = None

    def __exit__(self, *exc: object) -> None:
        self.close()



def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.endpoint", description=__doc__.split("\n")[0])
    parser.add_argument("--ttft", type=float, default=Profile.ttft, help="seconds to the first token")
    parser.add_argument("--tps", type=float, default=Profile.tps, help="tokens per second after it")
    parser.add_argument("--tokens", type=int, default=Profile.tokens, help="answer length in tokens")
    parser.add_argument("--protocol", choices=PROTOCOLS, default="sagemaker", help="which provider's wire protocol")
    args = parser.parse_args(argv)
    _serve(Profile(args.ttft, args.tps, args.tokens), args.protocol)
    return 0


if __name__ == "__main__":
    sys.exit(main())
