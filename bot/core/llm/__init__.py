"""The language model: Llama 3 on a SageMaker endpoint through langchain-aws, on the event loop."""

from bot.core.llm.client import ChatLLM, SagemakerChat, build_llm

__all__ = ["ChatLLM", "SagemakerChat", "build_llm"]
