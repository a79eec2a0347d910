"""Pictures (PNG, JPEG, TIFF, WebP, GIF): their text, read by OCR. A multi-page TIFF or an
animated GIF is read frame by frame, each frame a page."""

from __future__ import annotations

from bot.core.documents import ocr
from bot.core.documents.model import ExtractionLimits

MAGIC = (
    b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"GIF87a", b"GIF89a",
)
_WEBP = (b"RIFF", b"WEBP")


def is_picture(data: bytes) -> bool:
    return data.startswith(MAGIC) or (data[:4] == _WEBP[0] and data[8:12] == _WEBP[1])


def extract(data: bytes, limits: ExtractionLimits) -> tuple[str, int]:
    count, frames = ocr.picture_frames(data)
    recognizer = ocr.Recognizer(count, limits.max_ocr_pages, limits.timeout_seconds)
    pages = list(recognizer.pages(frames))
    return ocr.render(pages, count, numbered=count > 1, stopped_early=recognizer.stopped_early), count
