"""Self-tests of the fake SageMaker runtime, through a real boto3 client."""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor

import botocore.exceptions
import pytest
from botocore.eventstream import EventStreamBuffer, ChecksumMismatch

from fakes.sagemaker import (
    FakeSageMaker, Reply, client, encode_event, model_stream_error, payload_part, run_in_thread,
)

KO = "안녕하세요! 저는 한국어 챗봇입니다. 무엇을 도와드릴까요?"


def stream_body(fake_or_client, body: dict | None = None, **kw):
    c = fake_or_client if not isinstance(fake_or_client, FakeSageMaker) else client(
        fake_or_client, retries={"total_max_attempts": 1})
    return c.invoke_endpoint_with_response_stream(
        EndpointName="llama3", Body=json.dumps(body or {"inputs": "hi", "stream": True}), **kw)


def parts(resp) -> list[bytes]:
    return [ev["PayloadPart"]["Bytes"] for ev in resp["Body"]]


def text_from_stream(raw: bytes, schema: str) -> str:
    """Reference client-side parse: split bytes on newlines, then decode (as the product must)."""
    out = []
    for line in raw.split(b"\n"):
        line = line.strip()
        if not line:
            continue
        s = line.decode()
        if s.startswith("data:"):
            s = s[5:].strip()
        if s == "[DONE]":
            continue
        obj = json.loads(s)
        if schema == "messages":
            out.append(obj["choices"][0]["delta"].get("content", ""))
        elif not obj["token"].get("special"):
            out.append(obj["token"]["text"])
    return "".join(out)


# ------------------------------------------------------------------ event-stream encoding

def test_encoder_is_decoded_by_botocore():
    buf = EventStreamBuffer()
    buf.add_data(payload_part("한글".encode()) + model_stream_error("boom", "StreamBroken"))
    msgs = list(buf)
    assert msgs[0].headers == {":message-type": "event", ":event-type": "PayloadPart",
                               ":content-type": "application/octet-stream"}
    assert msgs[0].payload == "한글".encode()
    assert msgs[1].headers[":message-type"] == "exception"
    assert msgs[1].headers[":exception-type"] == "ModelStreamError"
    assert json.loads(msgs[1].payload) == {"Message": "boom", "ErrorCode": "StreamBroken"}


def test_encoder_checksum_is_real():
    raw = bytearray(encode_event({":message-type": "event"}, b"abc"))
    raw[-5] ^= 1  # flip a payload bit
    buf = EventStreamBuffer()
    buf.add_data(bytes(raw))
    with pytest.raises(ChecksumMismatch):
        list(buf)


# ------------------------------------------------------------------ faults through boto3

FAULTS = [
    ("validation", "ValidationError", 400, True),
    ("model_error", "ModelError", 424, True),
    ("not_ready", "ModelNotReadyException", 429, True),
    ("throttle", "ThrottlingException", 400, False),  # unmodelled: plain ClientError
    ("internal", "InternalFailure", 500, True),
    ("unavailable", "ServiceUnavailable", 503, True),
]


@pytest.mark.parametrize("streaming", [False, True])
@pytest.mark.parametrize("fault,code,status,modelled", FAULTS)
def test_fault_surfaces_as_botocore_error(sagemaker_thread, fault, code, status, modelled,
                                          streaming):
    c = client(sagemaker_thread, retries={"total_max_attempts": 1})
    sagemaker_thread.script(Reply(fault=fault))
    call = c.invoke_endpoint_with_response_stream if streaming else c.invoke_endpoint
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        call(EndpointName="llama3", Body=b'{"inputs": "x", "stream": true}')
    err = ei.value
    assert err.response["Error"]["Code"] == code
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert err.response["Error"]["Message"]
    if modelled:
        assert isinstance(err, getattr(c.exceptions, code))
    else:
        assert type(err) is botocore.exceptions.ClientError
    if fault == "model_error":
        assert err.response["OriginalStatusCode"] == 500
        assert err.response["OriginalMessage"] == "CUDA out of memory"


def test_scripted_replies_are_consumed_in_order_then_default(sagemaker_thread):
    c = client(sagemaker_thread)  # botocore's own retry: throttle, then success
    sagemaker_thread.script(Reply(fault="throttle"), "두번째")
    out = c.invoke_endpoint(EndpointName="e", Body=b"{}")
    assert json.loads(out["Body"].read()) == {"generated_text": "두번째"}
    assert len(sagemaker_thread.requests) == 2
    out = c.invoke_endpoint(EndpointName="e", Body=b"{}")
    assert json.loads(out["Body"].read()) == {"generated_text": Reply().text}


def test_stream_dies_midway_with_model_stream_error(sagemaker_thread):
    sagemaker_thread.script(Reply(KO, fault="die_midway", die_after_tokens=3))
    got = []
    with pytest.raises(botocore.exceptions.EventStreamError) as ei:
        for ev in stream_body(sagemaker_thread)["Body"]:
            got.append(ev["PayloadPart"]["Bytes"])
    assert ei.value.response["Error"]["Code"] == "ModelStreamError"
    assert text_from_stream(b"".join(got), "lmi") == KO[:6]


def test_stream_dropped_midway_raises_after_partial_text(sagemaker_thread):
    sagemaker_thread.script(Reply(KO, fault="drop_midway", die_after_tokens=2))
    got = []
    with pytest.raises(Exception) as ei:
        for ev in stream_body(sagemaker_thread)["Body"]:
            got.append(ev["PayloadPart"]["Bytes"])
    assert not isinstance(ei.value, AssertionError)
    assert text_from_stream(b"".join(got), "lmi") == KO[:4]


def test_hang_times_out_and_is_released_when_client_leaves(sagemaker_thread):
    c = client(sagemaker_thread, retries={"total_max_attempts": 1}, read_timeout=0.5)
    sagemaker_thread.script(Reply(fault="hang"))
    t0 = time.monotonic()
    with pytest.raises(botocore.exceptions.ReadTimeoutError):
        c.invoke_endpoint(EndpointName="e", Body=b"{}")
    assert time.monotonic() - t0 < 3
    c.close()  # drop the pooled socket so the server sees the disconnect
    deadline = time.monotonic() + 5
    while sagemaker_thread.in_flight and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sagemaker_thread.in_flight == 0


def test_stop_releases_a_hanging_stream():
    with run_in_thread() as fake:
        fake.default = Reply(fault="hang")
        pool = ThreadPoolExecutor(1)
        fut = pool.submit(stream_body, client(fake, retries={"total_max_attempts": 1},
                                              read_timeout=30))
        deadline = time.monotonic() + 5
        while not fake.in_flight and time.monotonic() < deadline:
            time.sleep(0.01)
        t0 = time.monotonic()
    with pytest.raises(Exception):
        fut.result(10)
    assert time.monotonic() - t0 < 5
    pool.shutdown()


# ------------------------------------------------------------------ payload schemas & framing

@pytest.mark.parametrize("part_size", [None, 1, 2, 4, 5, 7, 64])
@pytest.mark.parametrize("schema,sse,sse_space", [
    ("lmi", None, None), ("lmi", True, True),
    ("tgi", None, None), ("tgi", True, True), ("tgi", False, None),
    ("messages", None, None), ("messages", True, False),
])
def test_parts_cut_inside_hangul_reassemble_exactly(sagemaker_thread, schema, sse, sse_space,
                                                    part_size):
    sagemaker_thread.script(Reply(KO, schema=schema, sse=sse, sse_space=sse_space,
                                  part_size=part_size))
    got = parts(stream_body(sagemaker_thread))
    raw = b"".join(got)
    assert text_from_stream(raw, schema) == KO
    if part_size:
        assert all(len(p) == part_size for p in got[:-1])
    if part_size in (1, 2, 4, 5, 7):  # some part must end inside a 3-byte character
        with pytest.raises(UnicodeDecodeError):
            for p in got:
                p.decode()
    framed = sse if sse is not None else schema != "lmi"
    if framed:
        space = sse_space if sse_space is not None else schema != "tgi"
        assert raw.startswith(b"data: " if space else b"data:{")
        assert raw.endswith(b"\n\n")


def test_tgi_stream_ends_with_eot_and_generated_text(sagemaker_thread):
    sagemaker_thread.script(Reply(KO, schema="tgi", tokens=[KO[:10], KO[10:]]))
    events = [json.loads(p[len(b"data:"):]) for p in parts(stream_body(sagemaker_thread))]
    assert [e["token"]["text"] for e in events] == [KO[:10], KO[10:], "<|eot_id|>"]
    assert events[-1]["token"]["special"] is True and events[-1]["generated_text"] == KO
    assert all(e["generated_text"] is None for e in events[:-1])


def test_lmi_stream_generated_text_only_on_last_line(sagemaker_thread):
    sagemaker_thread.script(Reply(KO))
    lines = [json.loads(p) for p in parts(stream_body(sagemaker_thread))]
    assert "generated_text" not in lines[0] and lines[-1]["generated_text"] == KO


def test_messages_stream_ends_with_done(sagemaker_thread):
    sagemaker_thread.script(Reply(KO, schema="messages"))
    got = parts(stream_body(sagemaker_thread, {"messages": [], "stream": True}))
    assert got[-1] == b"data: [DONE]\n\n"
    assert json.loads(got[0][6:])["object"] == "chat.completion.chunk"
    assert json.loads(got[-2][6:])["choices"][0]["finish_reason"] == "stop"


@pytest.mark.parametrize("schema,expected", [
    ("lmi", {"generated_text": KO}),
    ("tgi", [{"generated_text": KO}]),
])
def test_non_streaming_schemas(sagemaker_thread, schema, expected):
    sagemaker_thread.script(Reply(KO, schema=schema))
    out = client(sagemaker_thread).invoke_endpoint(EndpointName="e", Body=b"{}")
    assert out["ContentType"] == "application/json"
    assert json.loads(out["Body"].read()) == expected


def test_non_streaming_messages(sagemaker_thread):
    sagemaker_thread.script(Reply(KO, schema="messages"))
    out = client(sagemaker_thread).invoke_endpoint(EndpointName="e", Body=b'{"messages":[]}')
    choice = json.loads(out["Body"].read())["choices"][0]
    assert choice["message"] == {"role": "assistant", "content": KO}


def test_stream_without_stream_flag_gets_whole_json_at_once(sagemaker_thread):
    sagemaker_thread.script(Reply(KO, schema="tgi"))
    raw = b"".join(parts(stream_body(sagemaker_thread, {"inputs": "hi"})))
    assert json.loads(raw) == [{"generated_text": KO}]


# ------------------------------------------------------------------ recording & scripting

def test_records_exact_body_and_custom_attributes(sagemaker_thread):
    body = json.dumps({"inputs": "<|begin_of_text|>안녕", "stream": True},
                      ensure_ascii=False).encode()
    c = client(sagemaker_thread)
    parts(c.invoke_endpoint_with_response_stream(
        EndpointName="my-llama", Body=body, ContentType="application/json",
        CustomAttributes="accept_eula=true"))
    c.invoke_endpoint(EndpointName="other", Body=b'{"inputs": "x"}')
    r0, r1 = sagemaker_thread.requests
    assert (r0.method, r0.endpoint, r0.streaming, r0.body) == ("POST", "my-llama", True, body)
    assert r0.path == "/endpoints/my-llama/invocations-response-stream"
    assert r0.json["inputs"] == "<|begin_of_text|>안녕"
    assert r0.custom_attributes == "accept_eula=true"
    assert r0.headers["content-type"] == "application/json"
    assert (r1.endpoint, r1.streaming, r1.custom_attributes) == ("other", False, None)
    assert r0.received_at <= r1.received_at


def test_responder_answers_by_content(sagemaker_thread):
    sagemaker_thread.responder(lambda req: f"echo:{req['inputs']}")
    c = client(sagemaker_thread)
    out = c.invoke_endpoint(EndpointName="e", Body=b'{"inputs": "\xec\x95\x88"}')
    assert json.loads(out["Body"].read()) == {"generated_text": "echo:안"}


def test_unknown_endpoint_is_validation_error():
    with run_in_thread(FakeSageMaker(known_endpoints={"llama3"})) as fake:
        c = client(fake, retries={"total_max_attempts": 1})
        c.invoke_endpoint(EndpointName="llama3", Body=b"{}")
        with pytest.raises(c.exceptions.ValidationError, match="nope"):
            c.invoke_endpoint(EndpointName="nope", Body=b"{}")


# ------------------------------------------------------------------ timing & concurrency

async def test_in_loop_fixture_honours_stream_delays(sagemaker):
    sagemaker.script(Reply("가나다라", tokens=["가", "나", "다", "라"],
                           first_token_delay=0.3, token_delay=0.1))

    def consume():
        t0 = time.monotonic()
        return [time.monotonic() - t0 for _ in stream_body(sagemaker)["Body"]]

    times = await asyncio.to_thread(consume)
    assert len(times) == 4
    assert 0.25 < times[0] < 1.5
    assert all(b - a > 0.07 for a, b in zip(times, times[1:]))


def test_non_streaming_delay(sagemaker_thread):
    sagemaker_thread.script(Reply(delay=0.3))
    t0 = time.monotonic()
    client(sagemaker_thread).invoke_endpoint(EndpointName="e", Body=b"{}")
    assert time.monotonic() - t0 >= 0.3


def test_fifty_concurrent_slow_requests(sagemaker_thread):
    # Each held until all 50 are in: the fake serves them at once, or they never finish.
    sagemaker_thread.default = Reply(KO, until=lambda: sagemaker_thread.max_concurrent_seen == 50)
    c = client(sagemaker_thread, max_pool_connections=50, read_timeout=10, retries={"total_max_attempts": 1})
    with ThreadPoolExecutor(50) as pool:
        outs = list(pool.map(
            lambda i: json.loads(c.invoke_endpoint(EndpointName="e", Body=b"{}")["Body"].read()),
            range(50)))
    assert outs == [{"generated_text": KO}] * 50
