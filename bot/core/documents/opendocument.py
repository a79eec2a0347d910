"""OpenDocument text (.odt), spreadsheets (.ods) and presentations (.odp): a ZIP whose
content.xml holds the body. Read through SafeZip, so bombs and DTDs are refused as for OOXML.

Text: paragraphs and headings (`#` by outline level), lists, tables row by row, text boxes and
footnotes after the paragraph that anchors them; tracked deletions (kept in
text:tracked-changes) and comments are left out. Spreadsheets: every sheet rendered as XLSX
sheets are. Presentations: every draw:page as a slide, its notes after it.

Format reference: OASIS, Open Document Format for Office Applications (OpenDocument) 1.3, part 3
(schema): §5 (paragraphs), §6 (text content), §9 (tables), §10 (drawing), §16.x."""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree.ElementTree import Element

from bot.core.documents.archive import SafeZip
from bot.core.documents.markup import NOTES_MARKER, slide_marker, table_row
from bot.core.documents.model import ExtractionLimits
from bot.core.documents.sheets import sheet_text
from bot.core.errors import CorruptDocument, EncryptedDocument, TooManyPages

MIMETYPES = {
    "application/vnd.oasis.opendocument.text": "odt",
    "application/vnd.oasis.opendocument.text-template": "odt",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
    "application/vnd.oasis.opendocument.spreadsheet-template": "ods",
    "application/vnd.oasis.opendocument.presentation": "odp",
    "application/vnd.oasis.opendocument.presentation-template": "odp",
}
_MANIFEST = "META-INF/manifest.xml"
_ENCRYPTION_MARK = b"encryption-data"  # manifest:encryption-data of an encrypted part (§4.8.2)
_TABLE_NS = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_TEXT_NS = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_REPEAT_COLUMNS = f"{{{_TABLE_NS}}}number-columns-repeated"
_REPEAT_ROWS = f"{{{_TABLE_NS}}}number-rows-repeated"
_SHEET_NAME = f"{{{_TABLE_NS}}}name"
_SPACE_COUNT = f"{{{_TEXT_NS}}}c"
_OUTLINE_LEVEL = f"{{{_TEXT_NS}}}outline-level"
# Spreadsheets repeat empty rows and columns to the sheet's edge (a million rows); repeats of a
# row or cell with content are real, up to these counts.
_MAX_REPEAT = 1000
# What is not the document's current text: deletions kept for change tracking, comments, the
# footnote number, and declarations.
_SKIPPED = {"tracked-changes", "annotation", "annotation-end", "note-citation", "sequence-decls",
            "forms", "index-title-template"}
_INLINE_TEXT = {"tab": "\t", "line-break": "\n", "soft-page-break": ""}


def extract(data: bytes, limits: ExtractionLimits) -> tuple[str, int]:
    archive = SafeZip(data, limits)
    if _MANIFEST in archive.names and _ENCRYPTION_MARK in archive.read(_MANIFEST):
        raise EncryptedDocument()
    if "content.xml" not in archive.names:
        raise CorruptDocument("OpenDocument package without content.xml")
    body = _child(archive.parse_xml("content.xml"), "body")
    for kind, reader in (("text", _text), ("spreadsheet", _spreadsheet), ("presentation", _presentation)):
        if (content := _child(body, kind)) is not None:
            return reader(content, limits)
    raise CorruptDocument("OpenDocument body of an unknown kind")


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _child(element: Element | None, name: str) -> Element | None:
    if element is None:
        return None
    return next((child for child in element if _local(child.tag) == name), None)


def _text(content: Element, limits: ExtractionLimits) -> tuple[str, int]:
    lines: list[str] = []
    _blocks(content, lines)
    return "\n".join(lines), 1


def _spreadsheet(content: Element, limits: ExtractionLimits) -> tuple[str, int]:
    sheets = [child for child in content if _local(child.tag) == "table"]
    if len(sheets) > limits.max_pages:
        raise TooManyPages(limit=limits.max_pages)
    parts = [sheet_text(sheet.get(_SHEET_NAME, ""), _rows(sheet)) for sheet in sheets]
    return "\n\n".join(parts), max(1, len(sheets))


def _presentation(content: Element, limits: ExtractionLimits) -> tuple[str, int]:
    pages = [child for child in content if _local(child.tag) == "page"]
    if len(pages) > limits.max_pages:
        raise TooManyPages(limit=limits.max_pages)
    parts = []
    for number, page in enumerate(pages, start=1):
        lines = [slide_marker(number)]
        notes: list[str] = []
        for child in page:
            _blocks(child, notes if _local(child.tag) == "notes" else lines, wrapped=True)
        if any(line.strip() for line in notes):
            lines.extend([NOTES_MARKER, *notes])
        parts.append("\n".join(lines))
    return "\n\n".join(parts), max(1, len(pages))


def _blocks(element: Element, lines: list[str], wrapped: bool = False) -> None:
    """Paragraphs and tables under `element` (itself included when `wrapped`), in order."""
    for child in [element] if wrapped else element:
        name = _local(child.tag)
        if name in _SKIPPED:
            continue
        if name in ("p", "h"):
            _paragraph(child, lines)
        elif name == "table":
            lines.extend(row for row in map(table_row, _rows(child)) if row)
        else:
            _blocks(child, lines)


def _paragraph(paragraph: Element, lines: list[str]) -> None:
    # Text boxes and footnotes anchored in a paragraph follow its own text.
    parts: list[str] = []
    nested: list[str] = []
    _inline(paragraph, parts, nested)
    text = "".join(parts)
    level = paragraph.get(_OUTLINE_LEVEL, "")
    if _local(paragraph.tag) == "h" and level.isdigit() and text.strip():
        text = f"{'#' * min(int(level), 6)} {text}"
    lines.append(text)
    lines.extend(nested)


def _inline(element: Element, parts: list[str], nested: list[str]) -> None:
    parts.append(element.text or "")
    for child in element:
        name = _local(child.tag)
        if name == "s":
            count = child.get(_SPACE_COUNT, "1")
            parts.append(" " * min(int(count) if count.isdigit() else 1, 100))
        elif name in _INLINE_TEXT:
            parts.append(_INLINE_TEXT[name])
        elif name in ("note-body", "frame", "text-box"):
            _blocks(child, nested)
        elif name not in _SKIPPED:
            _inline(child, parts, nested)
        parts.append(child.tail or "")


def _rows(table: Element) -> Iterator[list[str]]:
    """Each row's cell texts; header rows, row groups and repeats included."""
    for child in table:
        name = _local(child.tag)
        if name in ("table-header-rows", "table-rows", "table-row-group"):
            yield from _rows(child)
        elif name == "table-row":
            cells = _cells(child)
            if any(cells):
                yield from [cells] * _repeat(child, _REPEAT_ROWS)


def _cells(row: Element) -> list[str]:
    cells: list[str] = []
    for cell in row:
        if _local(cell.tag) not in ("table-cell", "covered-table-cell"):
            continue
        lines: list[str] = []
        _blocks(cell, lines)
        text = " ".join(line for line in lines if line.strip())
        cells.extend([text] * _repeat(cell, _REPEAT_COLUMNS))
    return cells


def _repeat(element: Element, attribute: str) -> int:
    value = element.get(attribute, "1")
    return min(int(value), _MAX_REPEAT) if value.isdigit() and int(value) > 0 else 1
