"""Document text extraction: PDF, HWP, HWPX, DOCX, PPTX, XLSX and text-like files.

`extract_document` is what the bot calls with a file from a user: it runs in a worker process,
bounded in time and memory. `extract_sync` is the same extraction in the calling process (tests,
benchmarks, the worker itself). Both raise only `bot.core.errors.DocumentError` subclasses."""

from bot.core.documents.extract import extract_sync
from bot.core.documents.model import ExtractedDocument, ExtractionLimits
from bot.core.documents.worker import extract_document

__all__ = ["ExtractedDocument", "ExtractionLimits", "extract_document", "extract_sync"]
