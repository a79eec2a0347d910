"""What the bot knows about the configured model: its name, whether its tokens are Llama 3's,
how much context it holds, whether it sees pictures. The token budget, summaries and the picture
path read these, so every provider is sized the same way."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.config import Settings

# Llama 3, 3.1, 3.2 and 3.3 share one tokenizer (128K vocabulary); Llama 4 has its own.
# Matches "llama3", "Llama-3.1-8B", "llama3.2:3b", "us.meta.llama3-3-70b-instruct-v1:0".
_LLAMA3 = re.compile(r"llama[-_.]?3(?![\d])", re.IGNORECASE)
# Llama 3.1 and later hold 128K tokens (Meta's model cards); Llama 3 8B/70B hold 8,192.
_LLAMA3_LONG = re.compile(r"llama[-_.]?3[-_.:]?[123](?![\d])", re.IGNORECASE)
LLAMA3_CONTEXT = 8192
LLAMA3_1_CONTEXT = 128_000
# What a model nobody described is assumed to hold: the smallest context of the models people
# run for this (Llama 3 8B), so prompts fit whatever it is. LLM_CONTEXT_TOKENS raises it.
UNKNOWN_CONTEXT = 8192


@dataclass(frozen=True, slots=True)
class ModelFacts:
    name: str
    llama3: bool  # counted with the Llama 3 tokenizer, else with a conservative estimate
    context_tokens: int
    accepts_images: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> "ModelFacts":
        name = model_name(settings)
        # A SageMaker endpoint's name says nothing of its model: it is the Llama 3 of this bot.
        llama3 = settings.llm_provider == "sagemaker" or bool(_LLAMA3.search(name))
        return cls(
            name=name,
            llama3=llama3,
            context_tokens=settings.llm_context_tokens or _known_context(name, llama3),
            accepts_images=settings.llm_accepts_images,
        )


def model_name(settings: Settings) -> str:
    if settings.llm_provider == "bedrock":
        return settings.bedrock_model_id or ""
    if settings.llm_provider == "openai":
        return settings.openai_model or ""
    return settings.sagemaker_endpoint_name or ""


def _known_context(name: str, llama3: bool) -> int:
    if llama3 and _LLAMA3_LONG.search(name):
        return LLAMA3_1_CONTEXT
    return LLAMA3_CONTEXT if llama3 else UNKNOWN_CONTEXT
