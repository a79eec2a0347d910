"""A local server that speaks the SageMaker runtime wire protocol (for real boto3 clients).

    async with FakeSageMaker() as fake:
        fake.script(Reply("안녕하세요", schema="tgi", part_size=4))
        client(fake).invoke_endpoint_with_response_stream(EndpointName="e", Body=b'{"stream":true}')

Only the far end of the wire is fake: requests arrive over a real socket, are recorded byte for
byte, and are answered with the framing real LMI/TGI containers use behind SageMaker.
"""

from __future__ import annotations

import asyncio
import binascii
import contextlib
import dataclasses
import json
import struct
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web

from fakes.model_server import held_until

Schema = Literal["lmi", "tgi", "messages"]
Fault = Literal[
    None, "model_error", "throttle", "not_ready", "internal", "unavailable", "validation",
    "die_midway", "drop_midway", "hang",
]

EOT = "<|eot_id|>"
EOT_ID = 128009
STREAM_CONTENT_TYPE = "application/vnd.amazon.eventstream"

# fault -> (x-amzn-errortype code, HTTP status). ThrottlingException is unmodelled in the
# sagemaker-runtime model (plain ClientError); AWS's common errors table gives it HTTP 400.
ERRORS: dict[str, tuple[str, int]] = {
    "validation": ("ValidationError", 400),
    "model_error": ("ModelError", 424),
    "not_ready": ("ModelNotReadyException", 429),
    "throttle": ("ThrottlingException", 400),
    "internal": ("InternalFailure", 500),
    "unavailable": ("ServiceUnavailable", 503),
}
_DEFAULT_MESSAGES = {
    "ValidationError": "Endpoint {endpoint} of account 123456789012 not found.",
    "ModelError": "Received server error (500) from primary with message \"{original}\". See "
    "https://us-east-1.console.aws.amazon.com/cloudwatch/home for more information.",
    "ModelNotReadyException": "Model for endpoint {endpoint} is not ready.",
    "ThrottlingException": "Rate exceeded",
    "InternalFailure": "An internal failure occurred.",
    "ServiceUnavailable": "Service is unavailable. Please try again later.",
}


# --------------------------------------------------------------------------- event-stream codec

def _header(name: str, value: str) -> bytes:
    n, v = name.encode(), value.encode()
    return struct.pack("!B", len(n)) + n + struct.pack("!BH", 7, len(v)) + v  # 7 = string


def encode_event(headers: dict[str, str], payload: bytes) -> bytes:
    """One AWS event-stream message: prelude (lengths + CRC32), string headers, payload, CRC32."""
    hdr = b"".join(_header(k, v) for k, v in headers.items())
    total = 12 + len(hdr) + len(payload) + 4
    prelude = struct.pack("!II", total, len(hdr))
    prelude += struct.pack("!I", binascii.crc32(prelude) & 0xFFFFFFFF)
    body = prelude + hdr + payload
    return body + struct.pack("!I", binascii.crc32(body) & 0xFFFFFFFF)


def payload_part(data: bytes) -> bytes:
    return encode_event(
        {":message-type": "event", ":event-type": "PayloadPart",
         ":content-type": "application/octet-stream"},
        data,
    )


def model_stream_error(message: str, error_code: str = "StreamBroken") -> bytes:
    return encode_event(
        {":message-type": "exception", ":exception-type": "ModelStreamError",
         ":content-type": "application/json"},
        json.dumps({"Message": message, "ErrorCode": error_code}).encode(),
    )


# --------------------------------------------------------------------------- scripting

@dataclass
class Reply:
    """One scripted response. Framing defaults follow the real containers (see `framed_events`)."""

    text: str = "안녕하세요"
    schema: Schema = "lmi"
    sse: bool | None = None          # stream framing; None: tgi/messages SSE, lmi JSON lines
    sse_space: bool | None = None    # "data: " vs "data:"; None: tgi without, others with
    first_token_delay: float = 0.0
    token_delay: float = 0.0
    tokens: list[str] | None = None  # how text is cut into tokens; None: 2 characters each
    part_size: int | None = None     # re-cut the byte stream into PayloadParts of N bytes
    fault: Fault = None
    die_after_tokens: int = 3        # for die_midway / drop_midway
    delay: float = 0.0               # whole-response latency (non-streaming)
    error_message: str | None = None
    original_status: int = 500       # ModelError's OriginalStatusCode
    content_type: str = "application/json"
    # answer only once this holds: a test holds the model until the bot has shown something
    until: Callable[[], bool] | None = None

    def token_list(self) -> list[str]:
        if self.tokens is not None:
            assert "".join(self.tokens) == self.text, "tokens must join to text"
            return list(self.tokens)
        return [self.text[i:i + 2] for i in range(0, len(self.text), 2)] or [""]

    def body(self) -> bytes:
        """The non-streaming response body."""
        if self.schema == "lmi":
            obj: Any = {"generated_text": self.text}
        elif self.schema == "tgi":
            obj = [{"generated_text": self.text}]
        else:
            obj = {
                "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
                "model": "llama3", "choices": [{
                    "index": 0, "message": {"role": "assistant", "content": self.text},
                    "logprobs": None, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": len(self.token_list()),
                          "total_tokens": 1 + len(self.token_list())},
            }
        return json.dumps(obj, ensure_ascii=False).encode()

    def framed_events(self) -> list[bytes]:
        """The stream as the container writes it: one framed event per token (+ trailers)."""
        toks = self.token_list()
        sse = self.sse if self.sse is not None else self.schema != "lmi"
        space = self.sse_space if self.sse_space is not None else self.schema != "tgi"
        objs: list[Any] = []
        if self.schema == "lmi":
            for i, t in enumerate(toks):
                o: dict[str, Any] = {"token": {"id": 1000 + i, "text": t, "log_prob": -0.1}}
                if i == len(toks) - 1:
                    o["generated_text"] = self.text
                objs.append(o)
        elif self.schema == "tgi":
            for i, t in enumerate(toks):
                objs.append({"index": i, "token": {"id": 1000 + i, "text": t, "logprob": -0.1,
                             "special": False}, "generated_text": None, "details": None})
            objs.append({"index": len(toks), "token": {"id": EOT_ID, "text": EOT, "logprob": 0.0,
                         "special": True}, "generated_text": self.text, "details": None})
        else:
            base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk",
                    "created": int(time.time()), "model": "llama3"}
            for i, t in enumerate(toks):
                delta = {"role": "assistant", "content": t} if i == 0 else {"content": t}
                objs.append({**base, "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                                  "finish_reason": None}]})
            objs.append({**base, "choices": [{"index": 0, "delta": {}, "logprobs": None,
                                              "finish_reason": "stop"}]})
        lines = [json.dumps(o, ensure_ascii=False) for o in objs]
        if sse and self.schema == "messages":
            lines.append("[DONE]")
        prefix = ("data: " if space else "data:") if sse else ""
        end = "\n\n" if sse else "\n"
        return [(prefix + ln + end).encode() for ln in lines]


@dataclass
class RecordedRequest:
    method: str
    path: str
    endpoint: str
    headers: dict[str, str]          # lower-cased names
    body: bytes
    json: Any                        # parsed body, None when not JSON
    streaming: bool                  # True for invocations-response-stream
    received_at: float               # time.monotonic()

    @property
    def custom_attributes(self) -> str | None:
        return self.headers.get("x-amzn-sagemaker-custom-attributes")


# --------------------------------------------------------------------------- server

class FakeSageMaker:
    """SageMaker runtime on 127.0.0.1:<free port>. Replies: `script()` queue, then
    `responder`, then `default`. Use `async with`, or `run_in_thread()` for sync callers.

    `require_stream_flag` (default True) mimics TGI/LMI: on the streaming API a body without
    `"stream": true` gets the whole non-streaming JSON as a single PayloadPart.
    """

    def __init__(self, default: Reply | None = None, *, known_endpoints: set[str] | None = None,
                 require_stream_flag: bool = True) -> None:
        self.default = default or Reply()
        self.known_endpoints = known_endpoints   # others answer ValidationError when set
        self.require_stream_flag = require_stream_flag
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0
        self.max_concurrent_seen = 0
        self.closed_by_client = 0  # streams the client closed before their end (a stopped answer)
        self.url = ""
        self._queue: deque[Reply] = deque()
        self._responder: Callable[[Any], Reply | str | None] | None = None
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None
        self._lock = threading.Lock()

    # -- scripting
    def script(self, *replies: Reply | str) -> None:
        """Queue replies, consumed one per request in order (a str means Reply(text=...))."""
        self._queue.extend(self._as_reply(r) for r in replies)

    def responder(self, fn: Callable[[Any], Reply | str | None] | None):
        """Set fn(request_json) -> Reply | str | None (None: use `default`); usable as decorator."""
        self._responder = fn
        return fn

    def _as_reply(self, r: Reply | str) -> Reply:
        return dataclasses.replace(self.default, text=r) if isinstance(r, str) else r

    def _next_reply(self, parsed: Any) -> Reply:
        with contextlib.suppress(IndexError):
            return self._queue.popleft()
        if self._responder is not None:
            r = self._responder(parsed)
            if r is not None:
                return self._as_reply(r)
        return self.default

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def env(self) -> dict[str, str]:
        """Environment for a subprocess whose boto3 should reach this fake."""
        return {"AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": self.url, "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
                "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}

    # -- lifecycle
    async def start(self) -> FakeSageMaker:
        self._stopping = asyncio.Event()
        app = web.Application(client_max_size=32 * 1024 * 1024)  # SageMaker accepts 25 MB
        app.router.add_post("/endpoints/{name}/invocations", self._handle)
        app.router.add_post("/endpoints/{name}/invocations-response-stream", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._stopping is not None:
            self._stopping.set()  # releases "hang" handlers
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSageMaker:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- request handling
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        streaming = request.path.endswith("-response-stream")
        name = request.match_info["name"]
        self.requests.append(RecordedRequest(
            request.method, request.path, name, {k.lower(): v for k, v in request.headers.items()},
            body, parsed, streaming, time.monotonic()))
        with self._lock:
            self.in_flight += 1
            self.max_concurrent_seen = max(self.max_concurrent_seen, self.in_flight)
        try:
            reply = self._next_reply(parsed)
            if self.known_endpoints is not None and name not in self.known_endpoints:
                reply = dataclasses.replace(reply, fault="validation")
            return await self._respond(request, reply, name, parsed, streaming)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _error(self, fault: str, reply: Reply, endpoint: str) -> web.Response:
        code, status = ERRORS[fault]
        original = "CUDA out of memory" if reply.error_message is None else reply.error_message
        msg = reply.error_message or _DEFAULT_MESSAGES[code].format(endpoint=endpoint,
                                                                   original=original)
        obj: dict[str, Any] = {"message": msg}
        if code == "ModelError":
            obj.update(OriginalStatusCode=reply.original_status, OriginalMessage=original,
                       LogStreamArn="arn:aws:logs:us-east-1:123456789012:log-group:"
                                    f"/aws/sagemaker/Endpoints/{endpoint}")
        return web.Response(status=status, body=json.dumps(obj).encode(), headers={
            # real form: "Code:http://internal.amazon.com/coral/..."; botocore keeps the part before ':'
            "x-amzn-errortype": f"{code}:http://internal.amazon.com/coral/com.amazon.sagemaker/",
            "x-amzn-RequestId": str(uuid.uuid4()), "Content-Type": "application/json"})

    async def _hang(self, request: web.Request) -> web.Response:
        # Never answer: wait until the client goes away or the server stops.
        assert self._stopping is not None
        while not self._stopping.is_set():
            tr = request.transport
            if tr is None or tr.is_closing():
                break
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), 0.05)
        return self._drop(request)  # no response at all

    async def _respond(self, request: web.Request, reply: Reply, endpoint: str, parsed: Any,
                       streaming: bool) -> web.StreamResponse:
        if reply.until is not None:
            assert self._stopping is not None
            await held_until(reply.until, self._stopping)
        if reply.fault in ERRORS:
            if reply.delay:
                await asyncio.sleep(reply.delay)
            return self._error(reply.fault, reply, endpoint)
        if reply.fault == "hang":
            return await self._hang(request)
        headers = {"x-Amzn-Invoked-Production-Variant": "AllTraffic",
                   "x-amzn-RequestId": str(uuid.uuid4())}
        wants_stream = not self.require_stream_flag or (
            isinstance(parsed, dict) and parsed.get("stream") is True)

        if not streaming:
            await asyncio.sleep(reply.delay)
            if reply.fault in ("die_midway", "drop_midway"):
                return self._drop(request)
            return web.Response(body=reply.body(), headers={
                **headers, "Content-Type": reply.content_type})

        framed = reply.sse is True or (reply.sse is None and reply.schema != "lmi")
        resp = web.StreamResponse(headers={
            **headers, "Content-Type": STREAM_CONTENT_TYPE,
            "X-Amzn-SageMaker-Content-Type":
                "text/event-stream" if wants_stream and framed else reply.content_type})
        resp.enable_chunked_encoding()
        try:
            await resp.prepare(request)
            if wants_stream:
                await self._stream(request, resp, reply, reply.framed_events(),
                                   len(reply.token_list()), reply.die_after_tokens)
            else:  # container ignored streaming: the whole JSON body in one go
                await self._stream(request, resp, reply, [reply.body()], 1, 0)
            await resp.write_eof()
        except ConnectionError:  # the client went away; nothing to tell it
            self.closed_by_client += 1
        return resp

    @staticmethod
    def _drop(request: web.Request) -> web.StreamResponse:
        # Cut the TCP connection without a (complete) response; aiohttp then writes nothing.
        if request.transport is not None:
            request.transport.abort()
        return web.Response()

    async def _stream(self, request: web.Request, resp: web.StreamResponse, reply: Reply,
                      events: list[bytes], n_tokens: int, die_at: int) -> None:
        dying = reply.fault in ("die_midway", "drop_midway")
        await asyncio.sleep(reply.first_token_delay)
        buf = b""
        # A dying stream sends its first min(die_at, n_tokens) token events, never the trailer.
        for i, ev in enumerate(events[:min(die_at, n_tokens)] if dying else events):
            if 0 < i < n_tokens:
                await asyncio.sleep(reply.token_delay)
            if reply.part_size:
                buf += ev
                while len(buf) >= reply.part_size:
                    await resp.write(payload_part(buf[:reply.part_size]))
                    buf = buf[reply.part_size:]
            else:
                await resp.write(payload_part(ev))
        if buf:
            await resp.write(payload_part(buf))
        if reply.fault == "drop_midway":
            self._drop(request)
        elif reply.fault == "die_midway":
            await resp.write(model_stream_error(
                reply.error_message or "Model stream ended unexpectedly."))


# --------------------------------------------------------------------------- helpers

@contextlib.contextmanager
def run_in_thread(fake: FakeSageMaker | None = None) -> Iterator[FakeSageMaker]:
    """Run a FakeSageMaker on its own event loop in a daemon thread (for sync/subprocess tests)."""
    fake = fake or FakeSageMaker()
    loop = asyncio.new_event_loop()
    t = threading.Thread(target=loop.run_forever, name="fake-sagemaker", daemon=True)
    t.start()
    try:
        asyncio.run_coroutine_threadsafe(fake.start(), loop).result(10)
        yield fake
    finally:
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        t.join(10)
        loop.close()


_session_lock = threading.Lock()
_session: Any = None


def client(fake: FakeSageMaker | str, **config: Any):
    """A real boto3 sagemaker-runtime client pointed at the fake; `config` goes to botocore Config
    (e.g. retries={"total_max_attempts": 1}, max_pool_connections=50, read_timeout=2)."""
    import boto3
    from botocore.config import Config

    global _session
    url = fake if isinstance(fake, str) else fake.url
    with _session_lock:  # one shared session: loading the service model costs ~0.1 s each time
        _session = _session or boto3.session.Session()
        return _session.client(
            "sagemaker-runtime", endpoint_url=url, region_name="us-east-1",
            aws_access_key_id="testing", aws_secret_access_key="testing",
            config=Config(**config) if config else None)
