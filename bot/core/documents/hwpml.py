"""HWPML (.hml), the XML that Hangul exports: text only, read from BODY. Paragraphs (P) hold
TEXT runs of CHAR text, TAB and LINEBREAK; tables (TABLE > ROW > CELL), drawing objects' text
(RECTANGLE/ELLIPSE/... > DRAWTEXT), headers, footers and footnotes hold paragraph lists of their
own, read after the paragraph that anchors them. HEAD (styles, summary) and TAIL (embedded
pictures, base64) are not text.

The file is parsed as untrusted XML: a DTD (entity expansion) is refused before parsing."""

from __future__ import annotations

import io
import re
from xml.etree import ElementTree
from xml.etree.ElementTree import Element

from bot.core.documents.archive import reject_dtd
from bot.core.documents.markup import table_row
from bot.core.documents.model import ExtractionLimits
from bot.core.errors import CorruptDocument

# What sniffing looks for: the root element, after an optional BOM, XML declaration and
# processing instructions (Hangul writes an xml-stylesheet one), or a DTD, refused when read.
ROOT_START = re.compile(
    rb"\A(?:\xef\xbb\xbf)?\s*(?:<\?[^>]*\?>\s*|<!DOCTYPE[^\[>]*(?:\[[^\]]*\])?\s*>\s*)*<HWPML\b"
)
_INLINE_TEXT = {"TAB": "\t", "LINEBREAK": "\n"}
_NOT_TEXT = {"HEAD", "TAIL", "SHAPEOBJECT", "PARASHAPE", "CHARSHAPE", "FIELDBEGIN", "FIELDEND"}


def extract(data: bytes, limits: ExtractionLimits) -> tuple[str, int]:
    reject_dtd(io.BytesIO(data))
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as error:
        raise CorruptDocument(f"HWPML is not well-formed XML: {error}") from error
    body = root.find("BODY")
    if body is None:
        raise CorruptDocument("HWPML without BODY")
    sections = body.findall("SECTION")
    lines: list[str] = []
    for section in sections:
        _blocks(section, lines)
        lines.append("")
    return "\n".join(lines), max(1, len(sections))


def _blocks(element: Element, lines: list[str]) -> None:
    for child in element:
        if child.tag == "P":
            _paragraph(child, lines)
        elif child.tag == "TABLE":
            _table(child, lines)
        elif child.tag not in _NOT_TEXT:
            _blocks(child, lines)


def _paragraph(paragraph: Element, lines: list[str]) -> None:
    text: list[str] = []
    nested: list[str] = []
    for run in paragraph.findall("TEXT"):
        for child in run:
            if child.tag == "CHAR":
                text.append(_char_text(child))
            elif child.tag in _INLINE_TEXT:
                text.append(_INLINE_TEXT[child.tag])
            elif child.tag == "TABLE":
                _table(child, nested)
            elif child.tag not in _NOT_TEXT:
                _blocks(child, nested)
    lines.append("".join(text))
    lines.extend(nested)


def _char_text(char: Element) -> str:
    parts = [char.text or ""]
    for child in char:
        parts.append(_INLINE_TEXT.get(child.tag, ""))
        parts.append(child.tail or "")
    return "".join(parts)


def _table(table: Element, lines: list[str]) -> None:
    for row in table.findall("ROW"):
        cells = []
        for cell in row.findall("CELL"):
            cell_lines: list[str] = []
            _blocks(cell, cell_lines)
            cells.append(" ".join(line for line in cell_lines if line.strip()))
        if line := table_row(cells):
            lines.append(line)
