"""Document text extraction: PDF, HWP, HWPX, DOCX, PPTX, XLSX and text-like files.

`ExtractionPool.extract` is how the bot reads a file from a user: in an extraction process,
bounded in time and memory; the engine owns the pool and closes it. `extract_sync` is the same
extraction in the calling process (tests, benchmarks, the extraction process itself). Both raise
only `bot.core.errors.DocumentError` subclasses."""

from bot.core.documents.extract import extract_sync
from bot.core.documents.model import ExtractedDocument, ExtractionLimits
from bot.core.documents.sandbox import ExtractionPool

__all__ = ["ExtractedDocument", "ExtractionLimits", "ExtractionPool", "extract_sync"]
