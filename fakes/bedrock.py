"""A local server that speaks the Bedrock runtime's Converse API (for real botocore clients).

    async with FakeBedrock() as fake:
        fake.script(ModelReply("안녕하세요", token_delay=0.01))
        # AWS_ENDPOINT_URL_BEDROCK_RUNTIME=fake.url

`POST /model/{modelId}/converse` answers JSON; `.../converse-stream` answers an AWS event stream
(messageStart, contentBlockDelta per token, contentBlockStop, messageStop, metadata; errors as
exception events), encoded by the same encoder as the SageMaker fake. It refuses what Bedrock
refuses (Converse API reference and the model parameters page): an unsigned request, an unknown
model id, a conversation that does not start with the user or does not alternate, a blank text
block, an image for a text-only model or in another format or over 3.75 MB, maxTokens above the
model's limit, and a prompt longer than the context it is given."""

from __future__ import annotations

import base64
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from fakes.model_server import FakeModelServer, ModelReply, Refused, cut
from fakes.sagemaker import STREAM_CONTENT_TYPE, encode_event


@dataclass(frozen=True)
class BedrockModel:
    max_tokens: int = 2048  # Meta Llama on Bedrock: max_gen_len up to 2048
    vision: bool = False


LLAMA_TEXT = "us.meta.llama3-3-70b-instruct-v1:0"
LLAMA_VISION = "us.meta.llama3-2-11b-instruct-v1:0"
MODELS = {
    LLAMA_TEXT: BedrockModel(),
    "meta.llama3-8b-instruct-v1:0": BedrockModel(),
    LLAMA_VISION: BedrockModel(vision=True),
    "us.meta.llama3-2-90b-instruct-v1:0": BedrockModel(vision=True),
}
IMAGE_FORMATS = {"png", "jpeg", "gif", "webp"}
MAX_IMAGE_BYTES = 3_750_000
# fault -> (error code, HTTP status), from the bedrock-runtime service model.
ERRORS = {
    "throttle": ("ThrottlingException", 429),
    "unavailable": ("ServiceUnavailableException", 503),
    "internal": ("InternalServerException", 500),
    "access_denied": ("AccessDeniedException", 403),
    "not_found": ("ResourceNotFoundException", 404),
    "too_long": ("ValidationException", 400),
    "model_error": ("ModelErrorException", 424),
    "validation": ("ValidationException", 400),
    "unsigned": ("UnrecognizedClientException", 403),
}
MESSAGES = {
    "throttle": "Too many requests, please wait before trying again.",
    "unavailable": "Bedrock is unable to process your request.",
    "internal": "The server encountered an internal error while processing the request.",
    "access_denied": "You don't have access to the model with the specified model ID.",
    "not_found": "Model not found.",
    "too_long": "This model's maximum context length is 8192 tokens. Please reduce the length of the prompt.",
    "model_error": "The model failed to process the request.",
    "die_midway": "The system encountered an unexpected error during processing. Try your request again.",
}
_SIGV4 = re.compile(r"^AWS4-HMAC-SHA256 Credential=[^/]+/\d{8}/[a-z0-9-]+/bedrock/aws4_request, ")


class FakeBedrock(FakeModelServer):
    def __init__(
        self,
        default: ModelReply | None = None,
        *,
        models: dict[str, BedrockModel] | None = None,
        denied: set[str] = frozenset(),  # model ids without access
        max_prompt_bytes: int | None = None,  # past it, the prompt is "too long" for the context
    ) -> None:
        super().__init__(default)
        self.models = dict(MODELS if models is None else models)
        self.denied = set(denied)
        self.max_prompt_bytes = max_prompt_bytes

    def env(self) -> dict[str, str]:
        """Environment for a subprocess whose botocore should reach this fake."""
        return {"AWS_ENDPOINT_URL_BEDROCK_RUNTIME": self.url, "AWS_REGION": "us-east-1"}

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/model/{model}/converse", self._converse)
        app.router.add_post("/model/{model}/converse-stream", self._converse_stream)

    def conversation(self, index: int = -1) -> list[tuple[str, Any]]:
        """Request `index` as (role, content) pairs, the system prompt first."""
        body = self.requests[index].json
        system = [("system", block["text"]) for block in body.get("system", [])]
        return system + [(m["role"], _plain(m["content"])) for m in body["messages"]]

    # -- request handling
    async def _converse(self, request: web.Request) -> web.StreamResponse:
        return await self.answer(request, self._whole)

    async def _converse_stream(self, request: web.Request) -> web.StreamResponse:
        return await self.answer(request, self._stream)

    def refusal(self, reply: ModelReply, body: Any) -> Refused | None:
        if reply.fault not in ERRORS:
            return None
        return Refused(reply.fault, reply.error_message or MESSAGES[reply.fault])

    def refuse(self, refused: Refused) -> web.Response:
        return _error(refused)

    async def _whole(self, request: web.Request, reply: ModelReply, body: Any) -> web.StreamResponse:
        await self.pause(3600 if reply.fault == "hang" else reply.first_token_delay)
        if reply.fault == "drop_midway":
            return cut(request)
        return _json_response(_converse_answer(reply.text, body))

    def check(self, request: web.Request, body: Any) -> None:
        if not _SIGV4.match(request.headers.get("Authorization", "")):
            raise Refused("unsigned", "The security token included in the request is invalid.")
        model_id = request.match_info["model"]
        model = self.models.get(model_id)
        if model is None:
            raise Refused("validation", "The provided model identifier is invalid.")
        if model_id in self.denied:
            raise Refused("access_denied", MESSAGES["access_denied"])
        if not isinstance(body, dict) or not body.get("messages"):
            raise Refused("validation", "1 validation error detected: Value at 'messages' failed to satisfy constraint")
        _check_messages(body["messages"], model)
        max_tokens = (body.get("inferenceConfig") or {}).get("maxTokens")
        if max_tokens is not None and not 1 <= max_tokens <= model.max_tokens:
            raise Refused(
                "validation",
                f"The maximum tokens you requested exceeds the model limit of {model.max_tokens}. "
                f"Try again with a maximum tokens value that is lower than {model.max_tokens}.",
            )
        if self.max_prompt_bytes is not None and _prompt_bytes(body) > self.max_prompt_bytes:
            raise Refused("too_long", MESSAGES["too_long"])

    async def _stream(self, request: web.Request, reply: ModelReply, body: Any) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": STREAM_CONTENT_TYPE, "x-amzn-RequestId": str(uuid.uuid4())})
        response.enable_chunked_encoding()
        try:
            await response.prepare(request)
            await response.write(_event("messageStart", {"role": "assistant"}))
            count = 0
            async for token in self.tokens(request, reply):
                count += 1
                await response.write(_event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": token}}))
            if reply.fault == "drop_midway":
                return cut(request)
            if reply.fault == "die_midway":
                await response.write(_exception("modelStreamErrorException", reply.error_message or MESSAGES["die_midway"]))
                return response
            await response.write(_event("contentBlockStop", {"contentBlockIndex": 0}))
            await response.write(_event("messageStop", {"stopReason": "end_turn"}))
            usage = {"inputTokens": 10, "outputTokens": count, "totalTokens": 10 + count}
            await response.write(_event("metadata", {"usage": usage, "metrics": {"latencyMs": 100}}))
            await response.write_eof()
        except ConnectionError:
            pass  # the client went away
        return response


def _check_messages(messages: list[dict[str, Any]], model: BedrockModel) -> None:
    if messages[0].get("role") != "user":
        raise Refused("validation", "A conversation must start with a user message. Try again with a conversation that starts with a user message.")
    for i, message in enumerate(messages):
        if i and message.get("role") == messages[i - 1].get("role"):
            raise Refused("validation", "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.")
        for j, block in enumerate(message.get("content") or [None]):
            _check_block(block, f"messages.{i}.content.{j}", model)


def _check_block(block: Any, where: str, model: BedrockModel) -> None:
    if not isinstance(block, dict) or len(block) != 1:
        raise Refused("validation", f"The content block at {where} must hold exactly one member.")
    if "text" in block:
        if not block["text"].strip():
            raise Refused("validation", f"The text field in the ContentBlock object at {where} is blank. Add text to the text field, and try again.")
        return
    image = block.get("image")
    if image is None:
        raise Refused("validation", f"The content block at {where} is not supported by this model.")
    if not model.vision:
        raise Refused("validation", "This model doesn't support the image content block that you provided. Try again with a supported content block.")
    if image.get("format") not in IMAGE_FORMATS:
        raise Refused("validation", f"The format of the image at {where} is not supported.")
    if len(base64.b64decode(image["source"]["bytes"])) > MAX_IMAGE_BYTES:
        raise Refused("validation", f"The image at {where} is larger than 3.75 MB.")


def _plain(content: list[dict[str, Any]]) -> Any:
    """A content list as its text when it is only text, else as it is."""
    if all("text" in block for block in content):
        return "".join(block["text"] for block in content)
    return content


def _prompt_bytes(body: dict[str, Any]) -> int:
    texts = [block.get("text", "") for block in body.get("system", [])]
    texts += [block.get("text", "") for message in body["messages"] for block in message["content"]]
    return sum(len(text.encode()) for text in texts)


def _converse_answer(text: str, body: dict[str, Any]) -> dict[str, Any]:
    usage = {"inputTokens": _prompt_bytes(body) // 3, "outputTokens": len(text), "totalTokens": 0}
    usage["totalTokens"] = usage["inputTokens"] + usage["outputTokens"]
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": usage,
        "metrics": {"latencyMs": 100},
    }


def _event(kind: str, payload: dict[str, Any]) -> bytes:
    # Bedrock pads every event with a "p" member of random length, so sizes do not give tokens away.
    padded = {**payload, "p": "abcdefghijklmnopqrstuvwxyzABCDEFGH"[: len(kind)]}
    headers = {":message-type": "event", ":event-type": kind, ":content-type": "application/json"}
    return encode_event(headers, json.dumps(padded, ensure_ascii=False).encode())


def _exception(kind: str, message: str) -> bytes:
    headers = {":message-type": "exception", ":exception-type": kind, ":content-type": "application/json"}
    return encode_event(headers, json.dumps({"message": message}).encode())


def _error(refused: Refused) -> web.Response:
    code, status = ERRORS[refused.fault or "validation"]
    return web.Response(
        status=status,
        body=json.dumps({"message": refused.message}).encode(),
        headers={
            "x-amzn-ErrorType": f"{code}:http://internal.amazon.com/coral/com.amazon.bedrock/",
            "x-amzn-RequestId": str(uuid.uuid4()),
            "Content-Type": "application/json",
        },
    )


def _json_response(body: dict[str, Any]) -> web.Response:
    return web.Response(
        body=json.dumps(body, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json", "x-amzn-RequestId": str(uuid.uuid4())},
    )
