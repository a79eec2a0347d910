"""The values that cross the extraction boundary: limits in, a document out. Both pickle, so
they travel to and from the extraction process unchanged."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.core.errors import DocumentTooLarge

if TYPE_CHECKING:
    from bot.config import Settings

MIB = 1024 * 1024


@dataclass(frozen=True)
class ExtractionLimits:
    max_bytes: int = 25 * MIB
    max_pages: int = 1000
    timeout_seconds: float = 60.0
    max_uncompressed_bytes: int = 300 * MIB
    max_compression_ratio: int = 200
    # Pages read by OCR (pictures, PDF pages without text): a few seconds each on one core.
    max_ocr_pages: int = 20

    @classmethod
    def from_settings(cls, settings: Settings) -> ExtractionLimits:
        return cls(
            max_bytes=settings.doc_max_bytes,
            max_pages=settings.doc_max_pages,
            timeout_seconds=settings.doc_extract_timeout_seconds,
            max_uncompressed_bytes=settings.doc_max_uncompressed_bytes,
            max_compression_ratio=settings.doc_max_compression_ratio,
        )

    def too_large(self) -> DocumentTooLarge:
        """The error for anything that outgrows the limits; users only know the file-size limit."""
        megabytes = round(self.max_bytes / MIB, 1)
        return DocumentTooLarge(limit_mb=int(megabytes) if megabytes.is_integer() else megabytes)

    def check_size(self, data: bytes) -> None:
        if len(data) > self.max_bytes:
            raise self.too_large()


@dataclass(frozen=True)
class ExtractedDocument:
    filename: str
    format: str  # "pdf", "hwp", "docx", "xls", "odt", "image", "text"...: see sniff.sniff
    text: str  # the whole document, with light structure markup
    pages: int  # pages / slides / sheets / sections (>= 1)
