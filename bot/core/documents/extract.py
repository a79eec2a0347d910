"""In-process extraction: sniff the format, run its extractor, tidy the text. Every failure
leaves as a DocumentError; parsers of hostile files fail in every way imaginable, and none of
that may reach a user."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.core.documents import (
    doc, excel, hwp, hwp3, hwpml, hwpx, image, opendocument, pdf, powerpoint, ppt, text, word, xls,
)
from bot.core.documents.markup import has_content, tidy
from bot.core.documents.model import ExtractedDocument, ExtractionLimits
from bot.core.documents.sniff import sniff
from bot.core.errors import CorruptDocument, DocumentError, EmptyDocument

log = logging.getLogger(__name__)

Extractor = Callable[[bytes, ExtractionLimits], tuple[str, int]]

EXTRACTORS: dict[str, Extractor] = {
    "pdf": pdf.extract,
    "hwp": hwp.extract,
    "hwpx": hwpx.extract,
    "hwp3": hwp3.extract,
    "hml": hwpml.extract,
    "image": image.extract,
    "docx": word.extract,
    "pptx": powerpoint.extract,
    "xlsx": excel.extract,
    "doc": doc.extract,
    "xls": xls.extract,
    "ppt": ppt.extract,
    "odt": opendocument.extract,
    "ods": opendocument.extract,
    "odp": opendocument.extract,
    "text": text.extract,
}


def extract_sync(
    data: bytes, filename: str, limits: ExtractionLimits = ExtractionLimits()
) -> ExtractedDocument:
    """Extract in this process and thread. Unbounded in time and memory: for files from users,
    use `ExtractionPool.extract`, which runs this in an extraction process."""
    limits.check_size(data)
    try:
        kind = sniff(data, filename)
        raw_text, pages = EXTRACTORS[kind](data, limits)
        clean = tidy(raw_text, keep_indents=kind == "text")
    except DocumentError:
        raise
    except MemoryError as error:
        raise limits.too_large() from error
    except Exception as error:  # noqa: BLE001 - any parser failure means a damaged file
        log.info("unreadable document %r: %s: %s", filename, type(error).__name__, error)
        raise CorruptDocument(f"{type(error).__name__}: {error}") from error
    if not has_content(clean):
        raise EmptyDocument()
    return ExtractedDocument(filename=filename, format=kind, text=clean, pages=max(1, pages))
