"""The language model behind `LLM_PROVIDER` (a SageMaker endpoint, Amazon Bedrock, or an
OpenAI-compatible server), through LangChain, on the event loop."""

from bot.core.llm.client import ChatLLM, SagemakerChat, build_llm
from bot.core.llm.models import ModelFacts

__all__ = ["ChatLLM", "ModelFacts", "SagemakerChat", "build_llm"]
