"""PDF text via PDFium (pypdfium2), page by page, each page headed by a `[p. N]` marker."""

from __future__ import annotations

import threading

import pypdfium2

from bot.core.documents.markup import page_marker
from bot.core.documents.model import ExtractionLimits
from bot.core.errors import CorruptDocument, EncryptedDocument, NoTextLayer, TooManyPages

# FPDF_GetLastError codes that mean "locked" rather than "broken".
_LOCKED_ERROR_CODES = {4, 5}  # FPDF_ERR_PASSWORD, FPDF_ERR_SECURITY
# PDFium keeps global state and is not thread-safe; an extraction process reads one document at a
# time, but extract_sync may also be called from threads.
_PDFIUM_LOCK = threading.Lock()


def extract(data: bytes, limits: ExtractionLimits) -> tuple[str, int]:
    with _PDFIUM_LOCK:
        document = _open(data)
        try:
            return _read(document, limits)
        finally:
            document.close()


def _open(data: bytes) -> pypdfium2.PdfDocument:
    try:
        return pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as error:
        if error.err_code in _LOCKED_ERROR_CODES:
            raise EncryptedDocument(str(error)) from error
        raise CorruptDocument(str(error)) from error


def _read(document: pypdfium2.PdfDocument, limits: ExtractionLimits) -> tuple[str, int]:
    # The page count comes from the page tree alone, so a huge document is refused before any
    # page is parsed.
    count = len(document)
    if count > limits.max_pages:
        raise TooManyPages(limit=limits.max_pages)
    if count == 0:
        raise CorruptDocument("PDF without pages")
    texts = [_page_text(document, index) for index in range(count)]
    if not any(text.strip() for text in texts):
        raise NoTextLayer()
    pages = (f"{page_marker(number)}\n{text}" for number, text in enumerate(texts, start=1))
    return "\n\n".join(pages), count


def _page_text(document: pypdfium2.PdfDocument, index: int) -> str:
    try:
        page = document[index]
    except pypdfium2.PdfiumError:
        return ""  # one damaged page should not cost the reader the rest of the document
    try:
        text_page = page.get_textpage()
        try:
            return text_page.get_text_range()
        finally:
            text_page.close()
    finally:
        page.close()
