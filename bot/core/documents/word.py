"""DOCX (Word): body paragraphs and tables in document order, headings marked with `#`, text
boxes after the paragraph that anchors them; then footnotes, endnotes, headers and footers (each
distinct one once) and comments, each under its own marker.

python-docx opens the package and resolves styles; the XML is walked here, because python-docx's
paragraph text skips tracked insertions (`w:ins`), inline content controls and text boxes, and
its iteration skips block content controls (`w:sdt`) and repeats merged table cells. Deleted
text (`w:del`, whose runs hold `w:delText`) is not the document's text and is left out. A text
box is written twice, as DrawingML inside `mc:Choice` and as VML inside `mc:Fallback`: only
the first is read."""

from __future__ import annotations

import io

from docx.document import Document
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.part import PartFactory
from docx.oxml.ns import qn
from docx.oxml.parser import parse_xml
from docx.package import Package
from docx.parts.document import DocumentPart
from docx.styles.style import ParagraphStyle
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
_TEXT_BOX = qn("w:txbxContent")
_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
# Run content that stands for characters; everything else in a run is formatting or objects.
_CHARACTERS = {
    qn("w:t"): None, qn("w:tab"): "\t", qn("w:br"): "\n", qn("w:cr"): "\n",
    qn("w:noBreakHyphen"): "-", qn("w:softHyphen"): "",
}
# Subtrees that are not the paragraph's visible text: deletions, properties, a text box's
# second copy, and text boxes (read after the paragraph instead).
_NOT_TEXT = {qn("w:del"), qn("w:pPr"), qn("w:rPr"), qn("w:moveFrom"), _FALLBACK, _TEXT_BOX}
_HEADING_PREFIX = "heading "  # built-in style names are English whatever the UI language
_NOTE_TYPE = qn("w:type")  # only separator notes carry one
# The parts read after the body, in order, each under its marker.
_EXTRA_PARTS = (
    (RT.FOOTNOTES, "[각주]"), (RT.ENDNOTES, "[미주]"), (RT.HEADER, "[머리글]"), (RT.FOOTER, "[바닥글]"),
    (RT.COMMENTS, "[메모]"),
)


def extract(data: bytes, limits: ExtractionLimits) -> tuple[str, int]:
    SafeZip(data, limits).reject_xml_dtds()
    document: Document = Package.open(io.BytesIO(data)).main_document_part.document
    sections = len(document.sections)
    if sections > limits.max_pages:
        raise TooManyPages(limit=limits.max_pages)
    body = _Body(document)
    lines: list[str] = []
    body.blocks(document.element.body, lines)
    for relationship, marker in _EXTRA_PARTS:
        lines.extend(body.part_lines(relationship, marker))
    return "\n".join(lines), max(1, sections)


class _Body:
    def __init__(self, document: Document) -> None:
        self._document = document
        self._heading_levels = _heading_levels(document)

    def blocks(self, container: _Element, lines: list[str]) -> None:
        for child in container.iterchildren():
            if child.tag == _PARAGRAPH:
                self._paragraph(child, lines)
            elif child.tag == _TABLE:
                lines.extend(self._table(child))
            elif child.tag == _CONTENT_CONTROL:
                for content in child.iterchildren(_CONTROL_CONTENT):
                    self.blocks(content, lines)
            elif child.tag not in _NOT_TEXT:
                self.blocks(child, lines)  # a footnote's or comment's paragraphs, one level down

    def part_lines(self, relationship: str, marker: str) -> list[str]:
        """The text of every part the document relates to with `relationship`, each distinct
        text once (a header repeated for each section is read once)."""
        seen: list[str] = []
        for rel in self._document.part.rels.values():
            if rel.is_external or rel.reltype != relationship:
                continue
            root = parse_xml(rel.target_part.blob)
            for separator in [note for note in root.iterchildren() if note.get(_NOTE_TYPE)]:
                root.remove(separator)  # the line above the notes, and its continuation
            lines: list[str] = []
            self.blocks(root, lines)
            text = "\n".join(line for line in lines if line.strip())
            if text and text not in seen:
                seen.append(text)
        return ["", marker, *seen] if seen else []

    def _paragraph(self, element: _Element, lines: list[str]) -> None:
        parts: list[str] = []
        boxes: list[_Element] = []
        _run_text(element, parts, boxes)
        text = "".join(parts)
        # The style id is read from the XML (w:pPr/w:pStyle/@w:val) as the body is: python-docx's
        # public `Paragraph.style` looks the style up in styles.xml once per paragraph.
        style = element.find(_STYLE_ID)
        level = self._heading_levels.get(style.get(_VALUE, "") if style is not None else "")
        lines.append(f"{'#' * level} {text}" if level else text)
        for box in boxes:
            self.blocks(box, lines)

    def _table(self, table: _Element) -> list[str]:
        # Every w:tc once: a vertically merged cell's continuations are empty cells of their own.
        rows = (table_row(self._cell(cell) for cell in row.iterchildren(_CELL))
                for row in table.iterchildren(_ROW))
        return [row for row in rows if row]

    def _cell(self, cell: _Element) -> str:
        lines: list[str] = []
        self.blocks(cell, lines)
        return " ".join(lines)


def _run_text(element: _Element, parts: list[str], boxes: list[_Element]) -> None:
    """The characters under `element` in order; text boxes met on the way go to `boxes`."""
    for child in element.iterchildren():
        if child.tag in _CHARACTERS:
            character = _CHARACTERS[child.tag]
            parts.append(child.text or "" if character is None else character)
        elif child.tag == _TEXT_BOX:
            boxes.append(child)
        elif child.tag not in _NOT_TEXT:
            _run_text(child, parts, boxes)


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
