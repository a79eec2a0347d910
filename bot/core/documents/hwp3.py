"""HWP 3.0 (Hangul 3.x and 97): paragraphs, table cells, text boxes, headers, footers, footnotes and
captions, read from the document's paragraph lists.

Layout (Hancom, "한글 3.0 파일 구조", as LibreOffice's hwpfilter also reads it): a 30-byte
signature, 128 bytes of document information (UINT16 "encrypted" at 96, BYTE "compressed" at 124,
UINT16 info-block length at 126), a 1,008-byte summary and the info block; then the body, raw
deflate when compressed: font names (7 languages, each a UINT16 count of 40-byte names), styles (a
UINT16 count of 20-byte name + 31-byte character shape + 187-byte paragraph shape), and the main
paragraph list. A paragraph is a 12-byte header, its character shape, its paragraph shape unless it
reuses the previous one, 14 bytes per line, optional per-character shapes and `nch` 16-bit
characters ("hchars"); a paragraph with no characters ends its list. Hangul hchars are Johab
(KS C 5601-1992 조합형) codes; hchars below 32 are controls, some of which carry paragraph lists
of their own (tables and text boxes one per cell, then a caption)."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

from bot.core.documents.markup import table_row
from bot.core.documents.model import ExtractionLimits
from bot.core.errors import CorruptDocument, EncryptedDocument

_SIGNATURE_SIZE, _INFO_SIZE, _SUMMARY_SIZE = 30, 128, 1008
_ENCRYPTED_AT, _COMPRESSED_AT, _INFO_BLOCK_AT = 96, 124, 126
_LANGUAGES, _FONT_NAME_SIZE = 7, 40
_STYLE_SIZE = 20 + 31 + 187
_CHAR_SHAPE_SIZE, _PARA_SHAPE_SIZE, _LINE_INFO_SIZE = 31, 187, 14
_PARAGRAPH_HEADER = struct.Struct("<BHHBBIB")  # reuse shape, nch, lines, char shapes?, flags, ...
_MAX_DEPTH = 16

_END, _TAB, _TABLE_BOX, _PICTURE = 13, 9, 10, 11
_HIDDEN, _HEADER_FOOTER, _FOOTNOTE, _HYPHEN = 15, 16, 17, 24
_SKIP_BLOCKS = {0, 1, 2, 3, 4, 12, 27, 29}  # a UINT32 length, the code again, that many bytes
# Controls of a fixed size: bytes after the code.
_FIXED = {6: 40, 7: 82, 8: 94, 9: 6, 14: 90, 18: 6, 19: 6, 20: 6, 21: 6, 22: 22, 23: 8, 24: 4, 25: 4,
          26: 244, 28: 62, 30: 2, 31: 2}
# How many hchars each control counts for in the paragraph's `nch` (the rest count one).
_WIDTHS = {5: 4, 6: 4, 7: 42, 8: 48, 9: 4, 10: 4, 11: 4, 12: 4, 14: 4, 15: 4, 16: 4, 17: 4, 18: 4,
           19: 4, 20: 4, 21: 4, 22: 12, 23: 5, 24: 3, 25: 3, 26: 123, 27: 4, 28: 32, 29: 4, 30: 2, 31: 2}
_TEXT = {_TAB: "\t", _HYPHEN: "-", 30: " ", 31: " "}
_BOX_SIZE = 90  # a table or text box, up to its cell count (a UINT16 at 86)
_BOX_TYPE_AT, _BOX_CELLS_AT, _CELL_SIZE = 84, 86, 27
_TABLE_TYPE = 0
_PICTURE_SIZE, _PICTURE_FOLLOW_AT = 354, 6  # then `follow` bytes, then the caption

_UINT16, _UINT32 = struct.Struct("<H"), struct.Struct("<I")


def extract(data: bytes, limits: ExtractionLimits) -> tuple[str, int]:
    header_end = _SIGNATURE_SIZE + _INFO_SIZE + _SUMMARY_SIZE
    if len(data) < header_end:
        raise CorruptDocument("HWP 3.0 file shorter than its header")
    info = data[_SIGNATURE_SIZE : _SIGNATURE_SIZE + _INFO_SIZE]
    if _UINT16.unpack_from(info, _ENCRYPTED_AT)[0]:
        raise EncryptedDocument()
    body = data[header_end + _UINT16.unpack_from(info, _INFO_BLOCK_AT)[0] :]
    if info[_COMPRESSED_AT]:
        inflater = zlib.decompressobj(wbits=-15)
        body = inflater.decompress(body, limits.max_uncompressed_bytes + 1)
        if len(body) > limits.max_uncompressed_bytes:
            raise limits.too_large()
    reader = _Reader(body)
    reader.skip_font_and_style_tables()
    lines: list[str] = []
    reader.paragraph_list(lines, depth=0)
    return "\n".join(lines), 1


@dataclass
class _Paragraph:
    text: list[str] = field(default_factory=list)
    nested: list[str] = field(default_factory=list)  # tables, boxes, notes: after the paragraph


class _Reader:
    def __init__(self, body: bytes) -> None:
        self._body = body
        self._at = 0

    def skip_font_and_style_tables(self) -> None:
        for _ in range(_LANGUAGES):
            fonts = self._uint16()
            self._at += _FONT_NAME_SIZE * fonts
        styles = self._uint16()
        self._at += _STYLE_SIZE * styles

    def paragraph_list(self, lines: list[str], depth: int) -> None:
        """Paragraphs up to the empty one that ends the list."""
        if depth > _MAX_DEPTH:
            raise CorruptDocument("paragraph lists nested too deeply")
        while (paragraph := self._paragraph(depth)) is not None:
            lines.append("".join(paragraph.text))
            lines.extend(paragraph.nested)

    def _paragraph(self, depth: int) -> _Paragraph | None:
        reuse_shape, count, line_count, char_shapes, _, _, _ = self._unpack(_PARAGRAPH_HEADER)
        self._at += _CHAR_SHAPE_SIZE
        if count == 0:
            return None
        if not reuse_shape:
            self._at += _PARA_SHAPE_SIZE
        self._at += _LINE_INFO_SIZE * line_count
        if char_shapes:
            for _ in range(count):
                if self._byte() == 0:  # not the same shape as before: one follows
                    self._at += _CHAR_SHAPE_SIZE
        paragraph = _Paragraph()
        read = 0
        while read < count:
            code = self._uint16()
            if code == _END:
                break
            read += _WIDTHS.get(code, 1)
            if code >= 32:
                paragraph.text.append(_hchar(code))
            else:
                self._control(code, paragraph, depth)
        return paragraph

    def _control(self, code: int, paragraph: _Paragraph, depth: int) -> None:
        if code in _TEXT:
            paragraph.text.append(_TEXT[code])
        if code in _FIXED:
            self._at += _FIXED[code]
        elif code in _SKIP_BLOCKS:
            self._at += 6 + _UINT32.unpack_from(self._body, self._at)[0]
        elif code == 5:  # a field: its header, then three strings and binary data of given lengths
            self._at += 52 + sum(struct.unpack_from("<4I", self._body, self._at + 36))
        elif code == _TABLE_BOX:
            self._box(paragraph, depth)
        elif code == _PICTURE:
            follow = _UINT32.unpack_from(self._body, self._at + _PICTURE_FOLLOW_AT)[0]
            self._at += _PICTURE_SIZE + follow
            self.paragraph_list(paragraph.nested, depth + 1)  # the caption
        elif code in (_HIDDEN, _HEADER_FOOTER, _FOOTNOTE):
            self._at += {_HIDDEN: 14, _HEADER_FOOTER: 16, _FOOTNOTE: 20}[code]
            # Hidden comments are not the document's text; headers, footers and notes are.
            self.paragraph_list([] if code == _HIDDEN else paragraph.nested, depth + 1)
        else:
            raise CorruptDocument(f"unknown HWP 3.0 control {code}")

    def _box(self, paragraph: _Paragraph, depth: int) -> None:
        start = self._at
        kind = _UINT16.unpack_from(self._body, start + _BOX_TYPE_AT)[0]
        cell_count = _UINT16.unpack_from(self._body, start + _BOX_CELLS_AT)[0]
        cells = [struct.unpack_from("<HHHH", self._body, start + _BOX_SIZE + n * _CELL_SIZE + 4)
                 for n in range(cell_count)]  # x, y, w, h of each cell
        self._at = start + _BOX_SIZE + cell_count * _CELL_SIZE
        texts = []
        for _ in range(cell_count):
            cell_lines: list[str] = []
            self.paragraph_list(cell_lines, depth + 1)
            texts.append(" ".join(line for line in cell_lines if line.strip()))
        caption: list[str] = []
        self.paragraph_list(caption, depth + 1)
        if kind == _TABLE_TYPE:
            paragraph.nested.extend(_table_rows(cells, texts))
        else:
            paragraph.nested.extend(text for text in texts if text)
        paragraph.nested.extend(line for line in caption if line.strip())

    def _uint16(self) -> int:
        return self._unpack(_UINT16)[0]

    def _byte(self) -> int:
        if self._at >= len(self._body):
            raise CorruptDocument("HWP 3.0 body ends inside a paragraph")
        self._at += 1
        return self._body[self._at - 1]

    def _unpack(self, layout: struct.Struct) -> tuple[int, ...]:
        if self._at + layout.size > len(self._body):
            raise CorruptDocument("HWP 3.0 body ends inside a paragraph")
        values = layout.unpack_from(self._body, self._at)
        self._at += layout.size
        return values


def _table_rows(cells: list[tuple[int, int, int, int]], texts: list[str]) -> list[str]:
    """Cells grouped into rows by their top edge, left to right."""
    rows: dict[int, list[tuple[int, str]]] = {}
    for (x, y, _, _), text in zip(cells, texts, strict=True):
        rows.setdefault(y, []).append((x, text))
    lines = [table_row(text for _, text in sorted(rows[y])) for y in sorted(rows)]
    return [line for line in lines if line]


def _hchar(code: int) -> str:
    """A printable hchar: ASCII below 128, Johab for Hangul (the high bit set); Hancom's own
    codes for symbols and Hanja in between are not text a reader can rely on."""
    if code < 0x80:
        return chr(code)
    if code < 0x8000:
        return ""
    try:
        return bytes((code >> 8, code & 0xFF)).decode("johab")
    except UnicodeDecodeError:
        return ""
