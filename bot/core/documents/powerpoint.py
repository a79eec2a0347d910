"""PPTX (PowerPoint): every slide as `[슬라이드 N]`, the text of all its shapes — grouped shapes
included, which python-pptx's top-level iteration does not reach — its tables (rows as table
rows), its charts (title, series names), its SmartArt diagrams (the text of their data model)
and its notes."""

from __future__ import annotations

import io
from collections.abc import Iterable

import pptx
from pptx.chart.chart import Chart
from pptx.opc.package import Part
from pptx.oxml import parse_xml
from pptx.shapes.base import BaseShape
from pptx.shapes.group import GroupShape
from pptx.slide import Slide

from bot.core.documents.archive import SafeZip
from bot.core.documents.markup import NOTES_MARKER, slide_marker, table_row
from bot.core.documents.model import ExtractionLimits
from bot.core.errors import TooManyPages

# python-pptx writes a line break inside a paragraph as a vertical tab.
_LINE_BREAK = "\v"
_DIAGRAM_NS = "http://schemas.openxmlformats.org/drawingml/2006/diagram"
_DIAGRAM_RELS = f".//{{{_DIAGRAM_NS}}}relIds"
_DIAGRAM_DATA = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}dm"
_DRAWING_PARAGRAPH = "{http://schemas.openxmlformats.org/drawingml/2006/main}p"
_DRAWING_TEXT = "{http://schemas.openxmlformats.org/drawingml/2006/main}t"


def extract(data: bytes, limits: ExtractionLimits) -> tuple[str, int]:
    SafeZip(data, limits).reject_xml_dtds()
    slides = pptx.Presentation(io.BytesIO(data)).slides
    if len(slides) > limits.max_pages:
        raise TooManyPages(limit=limits.max_pages)
    parts = [_slide_text(number, slide) for number, slide in enumerate(slides, start=1)]
    return "\n\n".join(parts), max(1, len(slides))


def _slide_text(number: int, slide: Slide) -> str:
    lines = [slide_marker(number)]
    _shape_lines(slide.shapes, lines, slide.part)
    notes = slide.notes_slide.notes_text_frame if slide.has_notes_slide else None
    if notes is not None and notes.text.strip():
        lines.append(f"{NOTES_MARKER}\n{notes.text}")
    return "\n".join(lines).replace(_LINE_BREAK, "\n")


def _shape_lines(shapes: Iterable[BaseShape], lines: list[str], part: Part) -> None:
    for shape in shapes:
        if isinstance(shape, GroupShape):
            _shape_lines(shape.shapes, lines, part)
        elif shape.has_text_frame:
            lines.append(shape.text_frame.text)
        elif shape.has_table:
            rows = (table_row(cell.text for cell in row.cells) for row in shape.table.rows)
            lines.extend(row for row in rows if row)
        elif shape.has_chart:
            lines.extend(_chart_lines(shape.chart))
        elif (diagram := shape.element.find(_DIAGRAM_RELS)) is not None:
            lines.extend(_diagram_lines(part, diagram.get(_DIAGRAM_DATA, "")))


def _chart_lines(chart: Chart) -> list[str]:
    lines = [chart.chart_title.text_frame.text] if chart.has_title else []
    names = [series.name for plot in chart.plots for series in plot.series if series.name]
    if names:
        lines.append(table_row(names))
    return lines


def _diagram_lines(part: Part, data_id: str) -> list[str]:
    """SmartArt keeps its text in the data model part (the drawing part repeats it): one line
    per text paragraph of its points, in model order."""
    if not data_id:
        return []
    model = parse_xml(part.related_part(data_id).blob)
    lines = []
    for paragraph in model.iter(_DRAWING_PARAGRAPH):
        text = "".join(run.text or "" for run in paragraph.iter(_DRAWING_TEXT))
        if text.strip():
            lines.append(text)
    return lines
