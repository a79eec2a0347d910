"""PPTX (PowerPoint): every slide as `[슬라이드 N]`, the text of all its shapes — grouped shapes
included, which python-pptx's top-level iteration does not reach — its tables and its notes."""

from __future__ import annotations

import io
from collections.abc import Iterable

import pptx
from pptx.shapes.base import BaseShape
from pptx.shapes.group import GroupShape
from pptx.slide import Slide

from bot.core.documents.archive import SafeZip
from bot.core.documents.markup import NOTES_MARKER, slide_marker, table_row
from bot.core.documents.model import ExtractionLimits
from bot.core.errors import TooManyPages

# python-pptx writes a line break inside a paragraph as a vertical tab.
_LINE_BREAK = "\v"


def extract(data: bytes, limits: ExtractionLimits) -> tuple[str, int]:
    SafeZip(data, limits).reject_xml_dtds()
    slides = pptx.Presentation(io.BytesIO(data)).slides
    if len(slides) > limits.max_pages:
        raise TooManyPages(limit=limits.max_pages)
    parts = [_slide_text(number, slide) for number, slide in enumerate(slides, start=1)]
    return "\n\n".join(parts), max(1, len(slides))


def _slide_text(number: int, slide: Slide) -> str:
    lines = [slide_marker(number)]
    _shape_lines(slide.shapes, lines)
    notes = slide.notes_slide.notes_text_frame if slide.has_notes_slide else None
    if notes is not None and notes.text.strip():
        lines.append(f"{NOTES_MARKER}\n{notes.text}")
    return "\n".join(lines).replace(_LINE_BREAK, "\n")


def _shape_lines(shapes: Iterable[BaseShape], lines: list[str]) -> None:
    for shape in shapes:
        if isinstance(shape, GroupShape):
            _shape_lines(shape.shapes, lines)
        elif shape.has_text_frame:
            lines.append(shape.text_frame.text)
        elif shape.has_table:
            rows = (table_row(cell.text for cell in row.cells) for row in shape.table.rows)
            lines.extend(row for row in rows if row)
