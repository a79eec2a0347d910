"""How the endpoint's JSON looks, for both payload schemas, as LangChain content handlers.

`inputs` (LMI / TGI generate): request `{"inputs", "parameters", "stream"}`; answers are LMI's
`{"generated_text"}` or TGI's `[{"generated_text"}]`; streams are LMI JSON lines
`{"token": {"text"}}` or TGI SSE `data:{"token": {...}}`. `messages` (OpenAI-style Messages API):
`choices[0].message.content`, streamed as `chat.completion.chunk` deltas. Stop sequences travel
in the request parameters: LangChain's own `stop=` splits on a regex and would cut at any `<`."""

from __future__ import annotations

import json
from typing import Any

from langchain_aws.chat_models.sagemaker_endpoint import ChatModelContentHandler
from langchain_aws.llms.sagemaker_endpoint import LLMContentHandler
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage

STOP_SEQUENCES = ("<|eot_id|>", "<|end_of_text|>")


def _read(output: Any) -> bytes:
    """A whole response body (botocore StreamingBody) or one stream line (bytes)."""
    return output if isinstance(output, bytes) else output.read()


def _stream_json(line: bytes) -> Any | None:
    """One event of a stream: JSON lines or SSE `data:` lines (with or without a space)."""
    text = line.decode("utf-8").strip()
    if text.startswith("data:"):
        text = text[5:].strip()
    if not text or text == "[DONE]" or not text.startswith(("{", "[")):
        return None
    return json.loads(text)


def _strip_stops(text: str) -> str:
    for stop in STOP_SEQUENCES:
        text = text.replace(stop, "")
    return text


class GenerateHandler(LLMContentHandler):
    """LMI / TGI `inputs` schema."""

    content_type = "application/json"
    accepts = "application/json"

    def transform_input(self, prompt: str, model_kwargs: dict[str, Any]) -> bytes:
        parameters = dict(model_kwargs)
        stream = bool(parameters.pop("stream", False))
        body: dict[str, Any] = {"inputs": prompt, "parameters": parameters}
        if stream:
            body["stream"] = True
        return json.dumps(body, ensure_ascii=False).encode("utf-8")

    def transform_output(self, output: Any) -> str:
        if isinstance(output, bytes):
            return self._stream_text(output)
        data = json.loads(_read(output))
        if isinstance(data, list):
            data = data[0] if data else {}
        return _strip_stops(str(data.get("generated_text", "")))

    @staticmethod
    def _stream_text(line: bytes) -> str:
        event = _stream_json(line)
        if not isinstance(event, dict):
            return ""
        token = event.get("token") or {}
        if token.get("special"):
            return ""
        return _strip_stops(str(token.get("text") or ""))


class MessagesHandler(ChatModelContentHandler):
    """OpenAI-style Messages API schema, accepted by both LMI and TGI containers."""

    content_type = "application/json"
    accepts = "application/json"

    def transform_input(self, prompt: list[dict[str, Any]], model_kwargs: dict[str, Any]) -> bytes:
        parameters = dict(model_kwargs)
        body = {
            "messages": prompt,
            "max_tokens": parameters.pop("max_new_tokens", None),
            **parameters,
        }
        return json.dumps(body, ensure_ascii=False).encode("utf-8")

    def transform_output(self, output: Any) -> BaseMessage:
        if isinstance(output, bytes):
            event = _stream_json(output)
            delta = ""
            if isinstance(event, dict) and event.get("choices"):
                delta = (event["choices"][0].get("delta") or {}).get("content") or ""
            return AIMessageChunk(content=_strip_stops(delta))
        data = json.loads(_read(output))
        content = data["choices"][0]["message"].get("content") or ""
        return AIMessage(content=_strip_stops(content))
