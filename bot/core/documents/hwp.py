"""HWP 5.0 (Hancom Hangul binary): an OLE compound file whose BodyText/SectionN streams hold a
record stream. Table cells and text boxes nest their paragraphs inside that same stream, so
walking every PARA_TEXT record reads them too; tables are rebuilt row by row.

Format reference: Hancom, "한글 문서 파일 형식 5.0" (revision 1.3)."""

from __future__ import annotations

import io
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import olefile

from bot.core.documents.markup import table_row
from bot.core.documents.model import ExtractionLimits
from bot.core.errors import (
    DistributionDocument,
    EncryptedDocument,
    TooManyPages,
    UnsupportedDocument,
)

_SIGNATURE = b"HWP Document File"
_FLAGS_OFFSET = 36
_COMPRESSED, _PASSWORD, _DISTRIBUTION = 0x1, 0x2, 0x4
_SECTION_STREAM = re.compile(r"Section(\d+)")

_TAG_PARA_HEADER = 66  # HWPTAG_BEGIN (16) + 50
_TAG_PARA_TEXT = 67
_TAG_CTRL_HEADER = 71
_TAG_LIST_HEADER = 72
_TAG_TABLE = 77
_TABLE_CONTROL = b" lbt"  # the control id 'tbl ' stored as a little-endian UINT32
_EXTENDED_SIZE = 0xFFF
_CELL_ROW_OFFSET = 10  # LIST_HEADER of a cell: UINT16 paragraphs, pad, UINT32 flags, col, row

_UINT16 = struct.Struct("<H")
_UINT32 = struct.Struct("<I")

# PARA_TEXT is UTF-16LE with control codes 0-31. Inline and extended controls occupy 8 code units
# (the code, 6 units of parameters, the code again); the others occupy one.
_WIDE_CONTROLS = {1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23}
_CONTROL_TEXT = {9: "\t", 10: "\n", 24: "-", 30: " ", 31: " "}
_CONTROL_UNIT = re.compile(rb"[\x00-\x1f]\x00", re.DOTALL)


def extract(data: bytes, limits: ExtractionLimits) -> tuple[str, int]:
    with olefile.OleFileIO(io.BytesIO(data)) as ole:
        compressed = _check_header(ole)
        streams = _section_streams(ole)
        if len(streams) > limits.max_pages:
            raise TooManyPages(limit=limits.max_pages)
        budget = limits.max_uncompressed_bytes
        lines: list[str] = []
        for stream in streams:
            body = ole.openstream(stream).read()
            if compressed:
                body = _inflate(body, budget, limits)
            budget -= len(body)
            lines.extend(_section_lines(body))
            lines.append("")
    return "\n".join(lines), max(1, len(streams))


def _check_header(ole: olefile.OleFileIO) -> bool:
    """Refuse what cannot be read; True when the body streams are compressed."""
    if not ole.exists("FileHeader"):
        raise UnsupportedDocument("OLE file that is not HWP (old .doc/.xls/.ppt?)")
    header = ole.openstream("FileHeader").read()
    if not header.startswith(_SIGNATURE) or len(header) < _FLAGS_OFFSET + 4:
        raise UnsupportedDocument("OLE file without an HWP 5 signature")
    (flags,) = _UINT32.unpack_from(header, _FLAGS_OFFSET)
    if flags & _PASSWORD:
        raise EncryptedDocument()
    # The body of a distribution document is only a stub sentence; the text is encrypted in
    # ViewText, and showing the stub as the document would mislead.
    if flags & _DISTRIBUTION:
        raise DistributionDocument()
    return bool(flags & _COMPRESSED)


def _section_streams(ole: olefile.OleFileIO) -> list[str]:
    numbered = []
    for path in ole.listdir(streams=True, storages=False):
        match = _SECTION_STREAM.fullmatch(path[-1])
        if len(path) == 2 and path[0] == "BodyText" and match:
            numbered.append((int(match.group(1)), "/".join(path)))
    return [name for _, name in sorted(numbered)]


def _inflate(raw: bytes, budget: int, limits: ExtractionLimits) -> bytes:
    """Raw deflate, stopped as soon as the output would pass what the budget allows."""
    body = zlib.decompressobj(wbits=-15).decompress(raw, max(budget, 0) + 1)
    if len(body) > budget:
        raise limits.too_large()
    return body


def _records(body: bytes) -> Iterator[tuple[int, int, bytes]]:
    """(tag, level, payload) of each record: a UINT32 header of tag (10 bits), level (10 bits)
    and size (12 bits; 0xFFF means a UINT32 size follows)."""
    position, end = 0, len(body)
    while position + 4 <= end:
        (header,) = _UINT32.unpack_from(body, position)
        position += 4
        size = header >> 20
        if size == _EXTENDED_SIZE:
            (size,) = _UINT32.unpack_from(body, position)
            position += 4
        yield header & 0x3FF, (header >> 10) & 0x3FF, body[position : position + size]
        position += size


@dataclass
class _Table:
    """A table being read: its cells' paragraphs grouped by row address."""

    level: int
    caption: list[str] = field(default_factory=list)
    rows: dict[int, list[list[str]]] = field(default_factory=dict)
    cell: list[str] | None = None
    has_grid: bool = False  # list headers before the TABLE record belong to the caption

    def sink(self) -> list[str]:
        return self.caption if self.cell is None else self.cell

    def start_cell(self, payload: bytes) -> None:
        row = max(self.rows, default=0)
        if len(payload) >= _CELL_ROW_OFFSET + 2:
            (row,) = _UINT16.unpack_from(payload, _CELL_ROW_OFFSET)
        self.cell = []
        self.rows.setdefault(row, []).append(self.cell)

    def lines(self) -> list[str]:
        rendered = [text for text in self.caption if text.strip()]
        for row in sorted(self.rows):
            line = table_row(" ".join(cell) for cell in self.rows[row])
            if line:
                rendered.append(line)
        return rendered


def _section_lines(body: bytes) -> list[str]:
    lines: list[str] = []
    tables: list[_Table] = []  # open tables, innermost last

    def sink() -> list[str]:
        return tables[-1].sink() if tables else lines

    for tag, level, payload in _records(body):
        while tables and level <= tables[-1].level:
            finished = tables.pop()
            sink().extend(finished.lines())
        if tag == _TAG_PARA_TEXT:
            sink().append(_paragraph_text(payload))
        elif tag == _TAG_PARA_HEADER and _is_empty_paragraph(payload):
            sink().append("")
        elif tag == _TAG_CTRL_HEADER and payload[:4] == _TABLE_CONTROL:
            tables.append(_Table(level))
        elif tables and level == tables[-1].level + 1:
            if tag == _TAG_TABLE:
                tables[-1].has_grid = True
            elif tag == _TAG_LIST_HEADER and tables[-1].has_grid:
                tables[-1].start_cell(payload)
    while tables:
        finished = tables.pop()
        sink().extend(finished.lines())
    return lines


def _is_empty_paragraph(payload: bytes) -> bool:
    """Only the paragraph end: kept as a blank line, which is how HWP authors space sections."""
    return len(payload) >= 4 and (_UINT32.unpack_from(payload)[0] & 0x7FFFFFFF) <= 1


def _paragraph_text(payload: bytes) -> str:
    """The text of a PARA_TEXT record, controls replaced by their plain-text meaning."""
    pieces: list[bytes] = []
    start = search = 0  # `start` is always on a code-unit boundary
    while (match := _CONTROL_UNIT.search(payload, search)) is not None:
        at = match.start()
        if (at - start) % 2:  # straddles two code units: not a control
            search = at + 1
            continue
        code = payload[at]
        pieces.append(payload[start:at])
        pieces.append(_CONTROL_TEXT.get(code, "").encode("utf-16-le"))
        start = search = at + (16 if code in _WIDE_CONTROLS else 2)
    pieces.append(payload[start:])
    return b"".join(pieces).decode("utf-16-le", errors="replace")
