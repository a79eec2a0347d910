"""HWPX (OWPML, KS X 6101): a ZIP of XML sections, Contents/section0.xml, section1.xml, ...

Paragraphs (`hp:p`) hold runs of `hp:t` text; tables (`hp:tbl` > `hp:tr` > `hp:tc`) and text
boxes sit inside runs and hold paragraphs of their own. META-INF/manifest.xml is optional."""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element

from bot.core.documents.archive import SafeZip
from bot.core.documents.markup import table_row
from bot.core.documents.model import ExtractionLimits
from bot.core.errors import CorruptDocument, EncryptedDocument, TooManyPages

_SECTION = re.compile(r"Contents/section(\d+)\.xml")
_MANIFEST = "META-INF/manifest.xml"
_ENCRYPTION_MARK = b"encryption-data"  # ODF-style manifest entry of an encrypted part
# Elements inside `hp:t` that stand for characters.
_INLINE_TEXT = {"tab": "\t", "lineBreak": "\n", "nbSpace": " ", "fwSpace": " ", "hyphen": "-"}


def extract(data: bytes, limits: ExtractionLimits) -> tuple[str, int]:
    archive = SafeZip(data, limits)
    if _MANIFEST in archive.names and _ENCRYPTION_MARK in archive.read(_MANIFEST):
        raise EncryptedDocument()
    sections = _section_names(archive.names)
    if not sections:
        raise CorruptDocument("HWPX package without sections")
    if len(sections) > limits.max_pages:
        raise TooManyPages(limit=limits.max_pages)
    lines: list[str] = []
    for name in sections:
        _walk(archive.parse_xml(name), [], lines)
        lines.append("")
    return "\n".join(lines), len(sections)


def _section_names(names: list[str]) -> list[str]:
    matches = (_SECTION.fullmatch(name) for name in names)
    return [match.group(0) for match in sorted(filter(None, matches), key=lambda m: int(m.group(1)))]


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _walk(element: Element, line: list[str], lines: list[str]) -> None:
    """Text under `element`: characters to the open `line`, whole paragraphs to `lines`."""
    for child in element:
        name = _local(child.tag)
        if name == "t":
            line.append(_run_text(child))
        elif name == "p":
            _paragraph(child, lines)
        elif name == "tbl":
            lines.extend(_table(child))
        else:
            _walk(child, line, lines)


def _paragraph(paragraph: Element, lines: list[str]) -> None:
    # Tables and text boxes anchored in a paragraph follow its own text.
    line: list[str] = []
    nested: list[str] = []
    _walk(paragraph, line, nested)
    lines.append("".join(line))
    lines.extend(nested)


def _run_text(text: Element) -> str:
    parts = [text.text or ""]
    for child in text:
        parts.append(_INLINE_TEXT.get(_local(child.tag), ""))
        parts.append(child.tail or "")
    return "".join(parts)


def _table(table: Element) -> list[str]:
    lines: list[str] = []
    for child in table:
        if _local(child.tag) == "tr":
            row = table_row(_cell_text(cell) for cell in child if _local(cell.tag) == "tc")
            if row:
                lines.append(row)
        else:
            _walk(child, [], lines)  # a caption
    return lines


def _cell_text(cell: Element) -> str:
    lines: list[str] = []
    _walk(cell, [], lines)
    return " ".join(lines)
