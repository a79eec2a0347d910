"""PDF text via PDFium (pypdfium2), page by page, each page headed by a `[p. N]` marker; pages
without a text layer (scans) are rendered and read by OCR (bot.core.documents.ocr)."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import pypdfium2
import pypdfium2.raw as pdfium_c
from PIL import Image

from bot.core.documents import ocr
from bot.core.documents.markup import page_marker
from bot.core.documents.model import ExtractionLimits
from bot.core.errors import CorruptDocument, EncryptedDocument, NothingRecognized, TooManyPages

# FPDF_GetLastError codes that mean "locked" rather than "broken".
_LOCKED_ERROR_CODES = {4, 5}  # FPDF_ERR_PASSWORD, FPDF_ERR_SECURITY
# PDFium keeps global state and is not thread-safe; an extraction process reads one document at a
# time, but extract_sync may also be called from threads.
_PDFIUM_LOCK = threading.Lock()
# A page rendered for OCR has at most this many pixels (A4 at 192 dpi has 3.6 million; a poster
# page is rendered at a lower resolution instead of into gigabytes).
_MAX_RENDER_PIXELS = 16_000_000
# A page with less text than this over a picture covering this share of it is a scan whose text
# layer holds only a stamp (a page number, a fax header): it is read by OCR too.
_STAMP_CHARS = 40
_SCAN_SHARE = 0.5
NO_OCR_NOTE = "[그림으로 된 쪽: 문자 인식(OCR) 프로그램이 없어 읽지 못함]"
OCR_CAP_NOTE = "[그림으로 된 쪽: 문자 인식(OCR)은 {limit}쪽까지만 하여 읽지 않음]"


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
    layers = [_text_layer(document, index) for index in range(count)]
    texts = [layer.text for layer in layers]
    scanned = [index for index, layer in enumerate(layers) if layer.scanned]
    if scanned:
        _recognize(document, scanned, texts, limits)
    pages = (f"{page_marker(number)}\n{text}" for number, text in enumerate(texts, start=1))
    return "\n\n".join(pages), count


def _recognize(document: pypdfium2.PdfDocument, scanned: list[int], texts: list[str],
               limits: ExtractionLimits) -> None:
    """OCR of the pages without a text layer, into `texts`. A document of scans alone is refused
    when it cannot be read (no Tesseract, too many pages, nothing recognized); one that also has
    text keeps it, and says which pages could not be read."""
    only_scans = len(scanned) == len(texts)
    if not only_scans and not ocr.available():
        for index in scanned:
            texts[index] = _with_note(texts[index], NO_OCR_NOTE)
        return
    cap = limits.max_ocr_pages
    recognizer = ocr.Recognizer(len(scanned) if only_scans else min(len(scanned), cap), cap,
                                limits.timeout_seconds, ocr.COLUMN_LAYOUT)
    images = ((index, _render(document, index)) for index in scanned[:cap])
    recognized = 0
    for page in recognizer.pages(images):
        texts[page.number] = _with_note(texts[page.number], page.text)  # after any stamp
        recognized += 1
    if only_scans and not recognized:
        raise NothingRecognized()
    for index in scanned[cap:]:
        texts[index] = _with_note(texts[index], OCR_CAP_NOTE.format(limit=cap))
    if recognizer.stopped_early:
        texts[scanned[-1]] = _with_note(texts[scanned[-1]], ocr.TIME_LIMIT_NOTE)


def _with_note(text: str, addition: str) -> str:
    return f"{text.strip()}\n{addition}".strip()


def _render(document: pypdfium2.PdfDocument, index: int) -> Image.Image:
    page = document[index]
    try:
        width, height = page.get_size()
        scale = min(ocr.PDF_DPI / 72, math.sqrt(_MAX_RENDER_PIXELS / max(width * height, 1)))
        return page.render(scale=scale, grayscale=True).to_pil()
    finally:
        page.close()


@dataclass(frozen=True)
class _TextLayer:
    text: str
    scanned: bool  # no text, or a stamp over a picture that fills the page: read by OCR too


def _text_layer(document: pypdfium2.PdfDocument, index: int) -> _TextLayer:
    try:
        page = document[index]
    except pypdfium2.PdfiumError:
        return _TextLayer("", False)  # one damaged page should not cost the reader the rest
    try:
        text_page = page.get_textpage()
        try:
            text = text_page.get_text_range()
        finally:
            text_page.close()
        stamp = 0 < len(text.strip()) < _STAMP_CHARS
        return _TextLayer(text, not text.strip() or (stamp and _picture_share(page) >= _SCAN_SHARE))
    finally:
        page.close()


def _picture_share(page: pypdfium2.PdfPage) -> float:
    """How much of the page its pictures cover (overlaps counted twice, at most 1)."""
    width, height = page.get_size()
    covered = 0.0
    for picture in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2):
        left, bottom, right, top = picture.get_bounds()
        covered += max(0.0, min(right, width) - max(left, 0.0)) * max(0.0, min(top, height) - max(bottom, 0.0))
    return min(1.0, covered / max(width * height, 1.0))
