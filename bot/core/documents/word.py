"""DOCX (Word): body paragraphs and tables in document order, headings marked with `#`.

python-docx opens the package and resolves styles and runs; the body is walked here because
python-docx's own iteration skips content controls (`w:sdt`) and repeats merged table cells."""

from __future__ import annotations

import io

from docx.document import Document
from docx.opc.part import PartFactory
from docx.oxml.ns import qn
from docx.package import Package
from docx.parts.document import DocumentPart
from docx.styles.style import ParagraphStyle
from docx.text.paragraph import Paragraph
from lxml.etree import _Element

from bot.core.documents.archive import SafeZip
from bot.core.documents.markup import table_row
from bot.core.documents.model import ExtractionLimits
from bot.core.errors import TooManyPages

# python-docx maps only the plain document type to DocumentPart; macro-enabled documents and
# templates have the same body.
for _content_type in (
    "application/vnd.ms-word.document.macroEnabled.main+xml",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
    "application/vnd.ms-word.template.macroEnabledTemplate.main+xml",
):
    PartFactory.part_type_for.setdefault(_content_type, DocumentPart)

_PARAGRAPH, _TABLE, _CONTENT_CONTROL = qn("w:p"), qn("w:tbl"), qn("w:sdt")
_CONTROL_CONTENT, _ROW, _CELL = qn("w:sdtContent"), qn("w:tr"), qn("w:tc")
_STYLE_ID, _VALUE = f"{qn('w:pPr')}/{qn('w:pStyle')}", qn("w:val")
_HEADING_PREFIX = "heading "  # built-in style names are English whatever the UI language


def extract(data: bytes, limits: ExtractionLimits) -> tuple[str, int]:
    SafeZip(data, limits).reject_xml_dtds()
    document: Document = Package.open(io.BytesIO(data)).main_document_part.document
    sections = len(document.sections)
    if sections > limits.max_pages:
        raise TooManyPages(limit=limits.max_pages)
    lines: list[str] = []
    _Body(document).blocks(document.element.body, lines)
    return "\n".join(lines), max(1, sections)


class _Body:
    def __init__(self, document: Document) -> None:
        self._document = document
        self._heading_levels = _heading_levels(document)

    def blocks(self, container: _Element, lines: list[str]) -> None:
        for child in container.iterchildren():
            if child.tag == _PARAGRAPH:
                lines.append(self._paragraph(child))
            elif child.tag == _TABLE:
                lines.extend(self._table(child))
            elif child.tag == _CONTENT_CONTROL:
                for content in child.iterchildren(_CONTROL_CONTENT):
                    self.blocks(content, lines)

    def _paragraph(self, element: _Element) -> str:
        text = Paragraph(element, self._document).text
        # The style id is read from the XML (w:pPr/w:pStyle/@w:val) as the body is: python-docx's
        # public `Paragraph.style` looks the style up in styles.xml once per paragraph.
        style = element.find(_STYLE_ID)
        level = self._heading_levels.get(style.get(_VALUE, "") if style is not None else "")
        return f"{'#' * level} {text}" if level else text

    def _table(self, table: _Element) -> list[str]:
        # Every w:tc once: a vertically merged cell's continuations are empty cells of their own.
        rows = (table_row(self._cell(cell) for cell in row.iterchildren(_CELL))
                for row in table.iterchildren(_ROW))
        return [row for row in rows if row]

    def _cell(self, cell: _Element) -> str:
        lines: list[str] = []
        self.blocks(cell, lines)
        return " ".join(lines)


def _heading_levels(document: Document) -> dict[str, int]:
    """Style id -> heading level. Ids are localised ("1" in Korean Word), names are not."""
    levels = {}
    for style in document.styles:
        if not isinstance(style, ParagraphStyle):
            continue
        name = (style.name or "").lower()
        if name == "title":
            levels[style.style_id] = 1
        elif name.startswith(_HEADING_PREFIX) and name[len(_HEADING_PREFIX):].isdigit():
            levels[style.style_id] = int(name[len(_HEADING_PREFIX):])
    return levels
