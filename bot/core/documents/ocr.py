"""Optical character recognition with Tesseract (Debian's `tesseract-ocr` and
`tesseract-ocr-kor`), for pictures and for PDF pages without a text layer.

The `tesseract` command is run once per page, in the extraction process that reads the
document, with one thread (OMP_THREAD_LIMIT=1: the pool already runs a document per core). It
reads a PNG on stdin and answers TSV (one row per word, with its confidence) on stdout. A page is
kept when its words' mean confidence shows Tesseract read a language it knows: a page of another
script read as Korean comes out as confident-looking garbage with a mean far below real text.

Small pictures are upscaled 2x first: Tesseract's Korean model misreads small Hangul at screen
resolution (75톤 as 75든) and reads it right at twice the size; PDF pages are rendered at 192 dpi
(in grey, which read the corpus's image-only PDF best) for the same reason."""

from __future__ import annotations

import functools
import io
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from PIL import Image, ImageSequence

from bot.core.documents.markup import page_marker
from bot.core.errors import (
    CorruptDocument,
    ExtractionTimeout,
    ImageTooLarge,
    NothingRecognized,
    OcrUnavailable,
    TooManyScannedPages,
)

LANGUAGES = "kor+eng"
# Tesseract's page segmentation modes: automatic for pictures (screenshots, posters, slides), one
# column of text for scanned document pages, where the automatic mode dropped whole paragraphs of
# a Korean press release that this mode reads.
AUTOMATIC_LAYOUT, COLUMN_LAYOUT = "3", "4"
# Twice the 96 dpi of screen renders, which is what most image-only PDFs wrap.
PDF_DPI = 192
# A picture whose longer side is below this (a 96 dpi A4 page) is upscaled 2x first.
_UPSCALE_BELOW = 1200
# Pictures are decoded whole; past this many pixels (an A4 page at 600 dpi is 35 million) the
# file is refused rather than decoded into gigabytes.
MAX_PIXELS = 50_000_000
# Below this mean word confidence (0-100) a page is not text Tesseract can read: Korean and
# English print scores 80-95; a Chinese scan read as Korean scored 42.
_MIN_PAGE_CONFIDENCE = 60.0
# Recognition stops this long before the extraction's own time limit, so that what was read so
# far comes back instead of the process being killed.
_DEADLINE_MARGIN = 0.15
_TSV_WORD_LEVEL = "5"
TIME_LIMIT_NOTE = "[… 시간 제한으로 이후 쪽은 문자 인식(OCR)하지 못함]"

Progress = Callable[[int, int], None]
# Set by the caller of the extraction (the extraction process, to report pages to the bot).
progress: ContextVar[Progress | None] = ContextVar("ocr_progress", default=None)


@functools.cache
def available() -> bool:
    """Whether the `tesseract` command and its Korean model are installed."""
    command = shutil.which("tesseract")
    if command is None:
        return False
    try:
        listed = subprocess.run([command, "--list-langs"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return "kor" in listed.stdout.split()


@dataclass(frozen=True)
class Page:
    number: int  # 1-based, in the document
    text: str


class Recognizer:
    """Recognizes the pages of one document, within its page cap and before its deadline."""

    def __init__(self, page_count: int, max_pages: int, timeout_seconds: float,
                 layout: str = AUTOMATIC_LAYOUT) -> None:
        if not available():
            raise OcrUnavailable()
        if page_count > max_pages:
            raise TooManyScannedPages(limit=max_pages)
        self._total = page_count
        self._layout = layout
        self._done = 0
        self._deadline = time.monotonic() + timeout_seconds * (1 - _DEADLINE_MARGIN)
        self.stopped_early = False

    def pages(self, images: Iterable[tuple[int, Image.Image]]) -> Iterator[Page]:
        """The text of each (page number, picture) that has readable text, in order. Stops,
        setting `stopped_early`, when time runs out after at least one page."""
        report = progress.get()
        for number, image in images:
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                if not self._done:
                    raise ExtractionTimeout("no page recognized before the deadline")
                self.stopped_early = True
                return
            text = _recognize(_prepared(image), remaining, self._layout)
            self._done += 1
            if report is not None:
                report(self._done, self._total)
            if text:
                yield Page(number, text)


def picture_frames(data: bytes) -> tuple[int, Iterator[tuple[int, Image.Image]]]:
    """The number of frames (pages) of a picture file and the frames themselves."""
    try:
        picture = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as error:  # Pillow's own guard, at twice its warning size
        raise ImageTooLarge(megapixels=MAX_PIXELS // 1_000_000) from error
    except OSError as error:
        raise CorruptDocument(f"unreadable picture: {error}") from error
    width, height = picture.size
    if width * height > MAX_PIXELS:
        raise ImageTooLarge(megapixels=MAX_PIXELS // 1_000_000)
    count = getattr(picture, "n_frames", 1)
    frames = ((number, frame.copy()) for number, frame in enumerate(ImageSequence.Iterator(picture), start=1))
    return count, frames


def _prepared(image: Image.Image) -> Image.Image:
    # Colour stays: Tesseract's own thresholding reads white text on a coloured band that a plain
    # grey conversion merges into its background.
    picture = image if image.mode in ("L", "RGB") else image.convert("RGB")
    if max(picture.size) < _UPSCALE_BELOW:
        picture = picture.resize((picture.width * 2, picture.height * 2), Image.Resampling.LANCZOS)
    return picture


def _recognize(image: Image.Image, timeout: float, layout: str) -> str:
    """The page's text as Tesseract's plain-text output writes it (its word spacing is right for
    Hangul, which the per-word TSV splits syllable by syllable), or "" when the TSV's word
    confidences say it is not text."""
    png = io.BytesIO()
    image.save(png, "PNG", compress_level=1)
    with tempfile.TemporaryDirectory(prefix="ocr-") as folder:
        base = os.path.join(folder, "page")
        try:
            result = subprocess.run(
                ["tesseract", "stdin", base, "-l", LANGUAGES, "--psm", layout, "txt", "tsv"],
                input=png.getvalue(), capture_output=True, timeout=timeout, env=_environment(),
            )
        except subprocess.TimeoutExpired as error:
            raise ExtractionTimeout("OCR of one page ran past the deadline") from error
        if result.returncode != 0:
            raise CorruptDocument(f"tesseract failed: {result.stderr.decode(errors='replace')[-300:]}")
        with open(base + ".tsv", encoding="utf-8", errors="replace") as tsv:
            if not _is_text(tsv.read()):
                return ""
        with open(base + ".txt", encoding="utf-8", errors="replace") as txt:
            return txt.read().strip()


def _environment() -> dict[str, str]:
    env = {key: os.environ[key] for key in ("PATH", "HOME", "TESSDATA_PREFIX") if key in os.environ}
    env["OMP_THREAD_LIMIT"] = "1"
    return env


def _is_text(tsv: str) -> bool:
    """Whether the words' mean confidence says Tesseract read a script it knows."""
    confidences = []
    for row in tsv.splitlines()[1:]:
        fields = row.split("\t")
        if len(fields) == 12 and fields[0] == _TSV_WORD_LEVEL and fields[11].strip():
            confidences.append(float(fields[10]))
    return bool(confidences) and sum(confidences) / len(confidences) >= _MIN_PAGE_CONFIDENCE


def render(pages: list[Page], total: int, numbered: bool, stopped_early: bool) -> str:
    """Recognized pages as document text: page markers when there are pages to tell apart, and a
    note when time ran out before the last page."""
    if not pages:
        raise NothingRecognized()
    parts = [f"{page_marker(page.number)}\n{page.text}" if numbered else page.text for page in pages]
    if stopped_early:
        parts.append(TIME_LIMIT_NOTE)
    return "\n\n".join(parts)
