"""Every model provider behind one fixture: `model_server` is the started fake of a SageMaker
endpoint, a Bedrock runtime or an OpenAI-compatible server (one test run each), and
`tests.support.make_settings` points the bot at whichever it is given.

    async def test_x(model_server, redis_url, redis_prefix):
        engine = make_engine(model_server, redis_url, redis_prefix)
        model_server.script("안녕하세요")
        ...
        assert turns_received(model_server)[-1] == ("user", "질문")"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from fakes.bedrock import FakeBedrock
from fakes.model_server import FakeModelServer, ModelReply
from fakes.openai_compatible import FakeOpenAI
from fakes.sagemaker import FakeSageMaker, Reply

PROVIDERS = ("sagemaker", "bedrock", "openai")
ModelServer = FakeSageMaker | FakeBedrock | FakeOpenAI
_LLAMA3_TURN = re.compile(r"<\|start_header_id\|>(\w+)<\|end_header_id\|>\n\n(.*?)<\|eot_id\|>", re.DOTALL)


def new_model_server(provider: str) -> ModelServer:
    return {"sagemaker": FakeSageMaker, "bedrock": FakeBedrock, "openai": FakeOpenAI}[provider]()


@pytest_asyncio.fixture(params=PROVIDERS)
async def model_server(request: pytest.FixtureRequest) -> AsyncIterator[ModelServer]:
    """The started fake of one provider; the test runs once per provider."""
    async with new_model_server(request.param) as fake:  # type: ignore[attr-defined]
        yield fake


def turns_received(server: ModelServer, index: int = -1) -> list[tuple[str, Any]]:
    """Request `index` that reached `server` as (role, content) turns, the system prompt first:
    parsed back from the Llama 3 prompt a SageMaker endpoint gets, as sent to the others."""
    if isinstance(server, FakeModelServer):
        return server.conversation(index)  # type: ignore[attr-defined]
    return [(role, text) for role, text in _LLAMA3_TURN.findall(server.requests[index].json["inputs"])]


def sent_text(server: ModelServer, index: int = -1) -> str:
    """Every text of request `index`, joined: what a test looks for whatever the provider."""
    return "\n".join(str(content) for _, content in turns_received(server, index))


def reply_for(server: ModelServer, text: str = "안녕하세요", **fields: Any) -> Reply | ModelReply:
    """A scripted reply of `server`'s kind; the two kinds share text, tokens, delays and the
    faults throttle, unavailable, internal, die_midway, drop_midway and hang."""
    return Reply(text, **fields) if isinstance(server, FakeSageMaker) else ModelReply(text, **fields)


def model_requests(server: ModelServer) -> int:
    """How many answers were asked of `server`."""
    if isinstance(server, FakeOpenAI):
        return len(server.completions())
    return len(server.requests)
