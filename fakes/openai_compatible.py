"""A local server that speaks OpenAI's Chat Completions as vLLM and Ollama serve it.

    async with FakeOpenAI() as fake:
        fake.script(ModelReply("안녕하세요"))
        # OPENAI_BASE_URL=f"{fake.url}/v1"

`POST /v1/chat/completions` answers a `chat.completion`, or with `"stream": true` server-sent
events (`data: {chat.completion.chunk}` per token, a last chunk with `finish_reason`, then
`data: [DONE]`); `GET /v1/models` lists the models. It refuses what those servers refuse: a
wrong key when one is set (401), an unknown model (404, Ollama's words), a malformed message
list, a picture for a text-only model, a prompt over the context (400, vLLM's words); errors are
OpenAI's `{"error": {...}}` bodies."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from aiohttp import web

from fakes.model_server import FakeModelServer, ModelReply, Refused, cut

TEXT_MODEL = "llama3.1:8b"
VISION_MODEL = "llama3.2-vision:11b"
ROLES = {"system", "user", "assistant"}
# fault -> (HTTP status, OpenAI error type)
ERRORS = {
    "throttle": (429, "rate_limit_error"),
    "unavailable": (503, "server_error"),
    "internal": (500, "server_error"),
    "access_denied": (401, "invalid_request_error"),
    "not_found": (404, "not_found_error"),
    "too_long": (400, "BadRequestError"),
    "model_error": (400, "invalid_request_error"),
    "validation": (400, "invalid_request_error"),
}
MESSAGES = {
    "throttle": "Rate limit reached, please try again later.",
    "unavailable": "server busy, please try again. maximum pending requests exceeded",
    "internal": "Internal server error",
    "access_denied": "Incorrect API key provided.",
    "not_found": "model \"{model}\" not found, try pulling it first",
    "too_long": "This model's maximum context length is 8192 tokens. However, you requested 9000 tokens. "
    "Please reduce the length of the messages or completion.",
    "model_error": "The model failed to process the request.",
    "die_midway": "the model runner stopped unexpectedly",
}


class FakeOpenAI(FakeModelServer):
    def __init__(
        self,
        default: ModelReply | None = None,
        *,
        models: dict[str, bool] | None = None,  # name -> sees pictures
        api_key: str | None = None,  # required when set
        max_prompt_bytes: int | None = None,  # past it, the prompt is "too long" for the context
    ) -> None:
        super().__init__(default)
        self.models = {TEXT_MODEL: False, VISION_MODEL: True} if models is None else dict(models)
        self.api_key = api_key
        self.max_prompt_bytes = max_prompt_bytes

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/chat/completions", self._completions)
        app.router.add_get("/v1/models", self._models)

    def completions(self) -> list[dict[str, Any]]:
        """The bodies of the chat completion requests, in order."""
        return [r.json for r in self.requests if r.path.endswith("/chat/completions")]

    def conversation(self, index: int = -1) -> list[tuple[str, Any]]:
        """Completion request `index` as (role, content) pairs."""
        return [(m["role"], m["content"]) for m in self.completions()[index]["messages"]]

    async def _models(self, request: web.Request) -> web.Response:
        with self.recorded(request, None):
            try:
                self._check_key(request)
            except Refused as refused:
                return _error(refused)
            data = [{"id": name, "object": "model", "created": 1700000000, "owned_by": "library"} for name in self.models]
            return web.json_response({"object": "list", "data": data}, content_type="application/json")

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        return await self.answer(request, self._respond)

    def refusal(self, reply: ModelReply, body: Any) -> Refused | None:
        if reply.fault not in ERRORS:
            return None
        return Refused(reply.fault, reply.error_message or MESSAGES[reply.fault].format(model=body["model"]))

    def refuse(self, refused: Refused) -> web.Response:
        return _error(refused)

    async def _respond(self, request: web.Request, reply: ModelReply, body: Any) -> web.StreamResponse:
        if body.get("stream") is True:
            return await self._stream(request, reply, body["model"])
        await self.pause(3600 if reply.fault == "hang" else reply.first_token_delay)
        return web.json_response(_completion(reply.text, body["model"]), content_type="application/json")

    def _check_key(self, request: web.Request) -> None:
        if self.api_key is not None and request.headers.get("Authorization") != f"Bearer {self.api_key}":
            raise Refused("access_denied", MESSAGES["access_denied"])

    def check(self, request: web.Request, body: Any) -> None:
        self._check_key(request)
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list) or not body["messages"]:
            raise Refused("validation", "messages: field required")
        if body.get("model") not in self.models:
            raise Refused("not_found", MESSAGES["not_found"].format(model=body.get("model")))
        for message in body["messages"]:
            if message.get("role") not in ROLES:
                raise Refused("validation", f"invalid role: {message.get('role')!r}")
            _check_content(message.get("content"), sees_pictures=self.models[body["model"]])
        tokens = body.get("max_tokens")
        if tokens is not None and (not isinstance(tokens, int) or tokens < 1):
            raise Refused("validation", "max_tokens must be at least 1")
        if self.max_prompt_bytes is not None and _prompt_bytes(body) > self.max_prompt_bytes:
            raise Refused("too_long", MESSAGES["too_long"])

    async def _stream(self, request: web.Request, reply: ModelReply, model: str) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        chunk_id = f"chatcmpl-{uuid.uuid4().hex[:12]}"
        try:
            await response.prepare(request)
            first = True
            async for token in self.tokens(request, reply):
                delta = {"role": "assistant", "content": token} if first else {"content": token}
                first = False
                await response.write(_sse(_chunk(chunk_id, model, delta, None)))
            if reply.fault == "drop_midway":
                return cut(request)
            if reply.fault == "die_midway":
                error = {"error": {"message": reply.error_message or MESSAGES["die_midway"], "type": "server_error"}}
                await response.write(_sse(error))
                return response
            await response.write(_sse(_chunk(chunk_id, model, {}, "stop")))
            await response.write(b"data: [DONE]\n\n")
            await response.write_eof()
        except ConnectionError:
            pass  # the client went away
        return response


def _check_content(content: Any, *, sees_pictures: bool) -> None:
    if isinstance(content, str):
        return
    if not isinstance(content, list) or not content:
        raise Refused("validation", "content must be a string or a non-empty list of parts")
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            continue
        if kind != "image_url":
            raise Refused("validation", f"unknown content part type: {kind!r}")
        if not sees_pictures:
            raise Refused("validation", "this model does not support images")
        if not str((part.get("image_url") or {}).get("url", "")).startswith("data:image/"):
            raise Refused("validation", "image_url must be a data: URL")


def _prompt_bytes(body: dict[str, Any]) -> int:
    total = 0
    for message in body["messages"]:
        content = message["content"]
        parts = [content] if isinstance(content, str) else [p.get("text", "") for p in content]
        total += sum(len(part.encode()) for part in parts)
    return total


def _chunk(chunk_id: str, model: str, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        "id": chunk_id, "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
        "system_fingerprint": "fp_fake",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }  # fmt: skip


def _completion(text: str, model: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion", "created": int(time.time()),
        "model": model, "system_fingerprint": "fp_fake",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "logprobs": None,
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": len(text), "total_tokens": 10 + len(text)},
    }  # fmt: skip


def _sse(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n".encode()


def _error(refused: Refused) -> web.Response:
    status, kind = ERRORS[refused.fault or "validation"]
    body = {"error": {"message": refused.message, "type": kind, "param": None, "code": status}}
    return web.json_response(body, status=status, content_type="application/json")
