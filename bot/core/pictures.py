"""Pictures a user hands the bot: PNG, JPEG, GIF and WebP, known by their bytes (a file's name
or the platform's content type can lie), and how one travels to a model that sees pictures."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from bot.core.errors import PictureTooLarge

# The most any provider here takes in one picture: Bedrock's Converse API, 3.75 MB per image
# (OpenAI-compatible servers take more; one limit keeps the behaviour the same everywhere).
MAX_PICTURE_BYTES = 3_750_000
# What a picture takes of the context, kept free for it when the prompt is fitted: vision models
# encode a picture in one to two thousand tokens (OpenAI's tiles, Qwen2-VL's patches).
PICTURE_TOKENS = 1600

_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


@dataclass(frozen=True, slots=True)
class Picture:
    data: bytes
    mime_type: str

    def content_block(self) -> dict[str, object]:
        """The OpenAI `image_url` content part: langchain-openai sends it as it is, langchain-aws
        turns it into a Converse image block, SageMaker's Messages API reads it as OpenAI does."""
        encoded = base64.b64encode(self.data).decode("ascii")
        return {"type": "image_url", "image_url": {"url": f"data:{self.mime_type};base64,{encoded}"}}


def picture_type(data: bytes) -> str | None:
    """The MIME type of `data` when it is a picture a model can be shown, else None."""
    for signature, mime_type in _SIGNATURES:
        if data.startswith(signature):
            return mime_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def as_picture(data: bytes) -> Picture:
    """`data` as a Picture for the model; PictureTooLarge past what a provider takes."""
    mime_type = picture_type(data)
    if mime_type is None:
        raise ValueError("not a picture: check picture_type first")
    if len(data) > MAX_PICTURE_BYTES:
        raise PictureTooLarge(f"{len(data)} bytes", limit_mb=f"{MAX_PICTURE_BYTES / 1_000_000:g}")
    return Picture(data, mime_type)
