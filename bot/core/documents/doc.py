"""Word 97-2003 (.doc): the text of an MS-DOC file, read through its piece table.

The WordDocument stream starts with the FIB, which says where the CLX (the piece table) and the
paragraph properties (PlcBtePapx) sit in the table stream. The pieces map character positions
(CPs) to bytes, 16-bit or "compressed" 8-bit; the main text comes first, then the footnotes,
headers, comments, endnotes and text boxes. Table cells end with 0x07 and a row ends with a
paragraph whose properties say so (sprmPFTtp), so rows are rebuilt from the PAPX.

Format reference: Microsoft, [MS-DOC] Word (.doc) Binary File Format, §2.4.1 (retrieving text),
§2.5 (FIB), §2.9.177 (PlcPcd), §2.9.175 (PapxFkp), §2.6.2 (sprms)."""

from __future__ import annotations

import bisect
import io
import re
import struct
from dataclasses import dataclass

import olefile

from bot.core.documents.markup import table_row
from bot.core.documents.model import ExtractionLimits
from bot.core.errors import CorruptDocument, EncryptedDocument, OldFormatDocument

_WORD_97_IDENT = 0xA5EC
_WORD_97_NFIB = 0x00C1  # Word 6 and 95 files have smaller nFib values and another FIB
_FLAGS_OFFSET = 0x0A
_ENCRYPTED, _WHICH_TABLE = 0x0100, 0x0200
_FIB_BASE_SIZE = 32
# FibRgLw97: ccpText, ccpFtn, ccpHdd, ccpMcr, ccpAtn, ccpEdn, ccpTxbx, ccpHdrTxbx, from index 3.
_CCP_FIRST = 3
_STORIES = ("text", "footnotes", "headers", "macros", "comments", "endnotes", "boxes", "header boxes")
# Read after the body, in this order; a header repeats on every page, so it is read once.
_READ_STORIES = ("text", "footnotes", "headers", "comments", "endnotes", "boxes", "header boxes")
# FibRgFcLcb97 pairs: fcPlcfBtePapx is pair 13, fcClx pair 33.
_PAPX_PAIR, _CLX_PAIR = 13, 33

_CLX_PRC, _CLX_PCDT = 0x01, 0x02
_PCD_SIZE = 8
_FKP_SIZE = 512
_BX_PAP_SIZE = 13
_COMPRESSED_BIT, _FC_MASK = 0x40000000, 0x3FFFFFFF
# sprmPFInTable, sprmPFTtp, sprmPFInnerTtp, sprmPItap
_SPRM_IN_TABLE, _SPRM_TABLE_ROW_END, _SPRM_INNER_ROW_END, _SPRM_TABLE_DEPTH = 0x2416, 0x2417, 0x244C, 0x6649
_SPRM_DEF_TABLE = 0xD608
_SPRM_OPERAND_SIZES = {0: 1, 1: 1, 2: 2, 3: 4, 4: 2, 5: 2, 7: 3}

_PARAGRAPH_END, _CELL_END = "\r", "\x07"
_FIELD_BEGIN, _FIELD_SEPARATOR, _FIELD_END = "\x13", "\x14", "\x15"
# Special characters (MS-DOC §2.4.1 and §2.8.x): line and page breaks become line breaks, the
# object anchors (pictures, drawings, note and comment references) carry no text.
_TRANSLATE = str.maketrans({
    "\x0b": "\n", "\x0c": "\n", "\x0e": "\n", "\x1e": "-", "\x1f": "", "\xa0": " ",
    "\x01": "", "\x02": "", "\x03": "", "\x04": "", "\x05": "", "\x08": "",
})
_SPECIAL = re.compile("[\r\x07\x13\x14\x15]")

_UINT16, _UINT32 = struct.Struct("<H"), struct.Struct("<I")


def extract(data: bytes, limits: ExtractionLimits) -> tuple[str, int]:
    with olefile.OleFileIO(io.BytesIO(data)) as ole:
        word = ole.openstream("WordDocument").read()
        fib = _Fib.parse(word)
        table_name = "1Table" if fib.flags & _WHICH_TABLE else "0Table"
        if not ole.exists(table_name):
            raise CorruptDocument(f"no {table_name} stream")
        table = ole.openstream(table_name).read()
    text = _Text(word, table, fib, limits)
    stories = text.stories()
    lines: list[str] = []
    for name in _READ_STORIES:
        first_cp, story = stories[name]
        if story.strip():
            lines.extend(_Paragraphs(text).read(first_cp, story))
            lines.append("")
    return "\n".join(lines), 1


@dataclass(frozen=True)
class _Fib:
    flags: int
    story_lengths: tuple[int, ...]
    clx: tuple[int, int]
    papx: tuple[int, int]

    @classmethod
    def parse(cls, word: bytes) -> _Fib:
        if len(word) < _FIB_BASE_SIZE + 2:
            raise CorruptDocument("WordDocument stream too short for a FIB")
        ident, nfib = struct.unpack_from("<HH", word)
        (flags,) = _UINT16.unpack_from(word, _FLAGS_OFFSET)
        if ident != _WORD_97_IDENT:
            raise CorruptDocument(f"not a Word FIB (wIdent {ident:#x})")
        if flags & _ENCRYPTED:  # fEncrypted, with or without fObfuscated (XOR)
            raise EncryptedDocument()
        if nfib < _WORD_97_NFIB:
            raise OldFormatDocument(f"Word FIB version {nfib:#x}", format="Word 6.0/95", save_as="DOCX")
        position = _FIB_BASE_SIZE
        (csw,) = _UINT16.unpack_from(word, position)
        position += 2 + csw * 2
        (cslw,) = _UINT16.unpack_from(word, position)
        longs = struct.unpack_from(f"<{cslw}I", word, position + 2)
        position += 2 + cslw * 4
        (pairs,) = _UINT16.unpack_from(word, position)
        fc_lcb = struct.unpack_from(f"<{pairs * 2}I", word, position + 2)
        if len(longs) < _CCP_FIRST + len(_STORIES) or pairs <= _CLX_PAIR:
            raise CorruptDocument("FIB too short")
        return cls(
            flags=flags,
            story_lengths=longs[_CCP_FIRST : _CCP_FIRST + len(_STORIES)],
            clx=(fc_lcb[_CLX_PAIR * 2], fc_lcb[_CLX_PAIR * 2 + 1]),
            papx=(fc_lcb[_PAPX_PAIR * 2], fc_lcb[_PAPX_PAIR * 2 + 1]),
        )


@dataclass(frozen=True)
class _Piece:
    cp_start: int
    cp_end: int
    fc: int  # byte offset of the piece's first character in the WordDocument stream
    compressed: bool

    def fc_of(self, cp: int) -> int:
        return self.fc + (cp - self.cp_start) * (1 if self.compressed else 2)


class _Text:
    """The document's characters by CP, and the byte offset (FC) of any CP."""

    def __init__(self, word: bytes, table: bytes, fib: _Fib, limits: ExtractionLimits) -> None:
        self._word = word
        self._fib = fib
        self.pieces = _pieces(table, fib.clx)
        self._starts = [piece.cp_start for piece in self.pieces]
        total = sum(piece.cp_end - piece.cp_start for piece in self.pieces)
        if total * 2 > limits.max_uncompressed_bytes:
            raise limits.too_large()
        self.text = "".join(self._piece_text(piece) for piece in self.pieces)
        self.paragraph_properties = _PapxIndex(word, table, fib.papx)

    def stories(self) -> dict[str, tuple[int, str]]:
        """Each story's first CP and its text."""
        stories, start = {}, 0
        for name, length in zip(_STORIES, self._fib.story_lengths, strict=True):
            stories[name] = (start, self.text[start : start + length])
            start += length
        return stories

    def fc_of(self, cp: int) -> int | None:
        index = bisect.bisect_right(self._starts, cp) - 1
        if index < 0 or cp >= self.pieces[index].cp_end:
            return None
        return self.pieces[index].fc_of(cp)

    def _piece_text(self, piece: _Piece) -> str:
        count = piece.cp_end - piece.cp_start
        if piece.compressed:  # MS-DOC §2.4.1's table of 8-bit values is Windows-1252's
            return self._word[piece.fc : piece.fc + count].decode("cp1252", errors="replace")
        return self._word[piece.fc : piece.fc + count * 2].decode("utf-16-le", errors="replace")


def _pieces(table: bytes, clx: tuple[int, int]) -> list[_Piece]:
    """The PlcPcd of the CLX's Pcdt, after skipping its Prc (property modifier) entries."""
    position, end = clx[0], clx[0] + clx[1]
    if end > len(table):
        raise CorruptDocument("CLX outside the table stream")
    while position < end and table[position] == _CLX_PRC:
        (size,) = struct.unpack_from("<h", table, position + 1)
        position += 3 + max(size, 0)
    if position >= end or table[position] != _CLX_PCDT:
        raise CorruptDocument("CLX without a piece table")
    (size,) = _UINT32.unpack_from(table, position + 1)
    plc = table[position + 5 : position + 5 + size]
    count = (len(plc) - 4) // (4 + _PCD_SIZE)
    if count <= 0:
        raise CorruptDocument("empty piece table")
    cps = struct.unpack_from(f"<{count + 1}I", plc)
    pieces = []
    for index in range(count):
        (fc_field,) = _UINT32.unpack_from(plc, (count + 1) * 4 + index * _PCD_SIZE + 2)
        compressed = bool(fc_field & _COMPRESSED_BIT)
        fc = fc_field & _FC_MASK
        if compressed:
            fc //= 2
        if cps[index + 1] > cps[index]:
            pieces.append(_Piece(cps[index], cps[index + 1], fc, compressed))
    return pieces


@dataclass(frozen=True)
class _TableMark:
    depth: int  # 0 outside tables, 1 in a table, more in nested tables
    row_end: bool


class _PapxIndex:
    """Paragraph properties by FC, from the PAPX FKPs (only what tables need)."""

    def __init__(self, word: bytes, table: bytes, papx: tuple[int, int]) -> None:
        self._ends: list[int] = []
        self._marks: list[_TableMark] = []
        fc, size = papx
        if size < 8 or fc + size > len(table):
            return
        count = (size - 4) // 8
        pages = struct.unpack_from(f"<{count}I", table, fc + (count + 1) * 4)
        runs = []
        for page in pages:
            runs.extend(_fkp_runs(word, (page & 0x3FFFFF) * _FKP_SIZE))
        runs.sort(key=lambda run: run[0])
        for _start, end, mark in runs:
            self._ends.append(end)
            self._marks.append(mark)

    def mark_at(self, fc: int | None) -> _TableMark | None:
        if fc is None or not self._ends:
            return None
        index = bisect.bisect_right(self._ends, fc)
        return self._marks[index] if index < len(self._marks) else None


def _fkp_runs(word: bytes, offset: int) -> list[tuple[int, int, _TableMark]]:
    page = word[offset : offset + _FKP_SIZE]
    if len(page) < _FKP_SIZE:
        return []
    count = page[-1]
    fcs = struct.unpack_from(f"<{count + 1}I", page)
    runs = []
    for index in range(count):
        bx = (count + 1) * 4 + index * _BX_PAP_SIZE
        runs.append((fcs[index], fcs[index + 1], _table_mark(page, page[bx] * 2)))
    return runs


def _table_mark(page: bytes, offset: int) -> _TableMark:
    if offset == 0 or offset >= len(page):
        return _TableMark(0, False)
    size = page[offset] * 2 - 1
    start = offset + 1
    if page[offset] == 0:
        size, start = page[offset + 1] * 2, offset + 2
    grpprl = page[start + 2 : start + size]  # after the style index
    depth, row_end = 0, False
    for sprm, operand in _sprms(grpprl):
        if sprm == _SPRM_IN_TABLE and operand[:1] == b"\x01":
            depth = max(depth, 1)
        elif sprm == _SPRM_TABLE_DEPTH and len(operand) >= 4:
            depth = _UINT32.unpack_from(operand)[0]
        elif sprm in (_SPRM_TABLE_ROW_END, _SPRM_INNER_ROW_END) and operand[:1] == b"\x01":
            row_end = row_end or sprm == _SPRM_TABLE_ROW_END
    return _TableMark(depth, row_end)


def _sprms(grpprl: bytes) -> list[tuple[int, bytes]]:
    found, position = [], 0
    while position + 2 <= len(grpprl):
        (sprm,) = _UINT16.unpack_from(grpprl, position)
        position += 2
        size = _SPRM_OPERAND_SIZES.get(sprm >> 13)
        if size is None:  # variable: a size byte first; sprmTDefTable has a 16-bit size
            if sprm == _SPRM_DEF_TABLE and position + 2 <= len(grpprl):
                size = _UINT16.unpack_from(grpprl, position)[0] - 1
                position += 2
            elif position < len(grpprl):
                size = grpprl[position]
                position += 1
            else:
                break
        found.append((sprm, grpprl[position : position + size]))
        position += size
    return found


class _Paragraphs:
    """A story's paragraphs as lines, table rows as ` | `-separated cells. Field codes (between
    0x13 and 0x14) are dropped and field results (up to 0x15) kept; fields nest."""

    def __init__(self, text: _Text) -> None:
        self._text = text
        self.lines: list[str] = []
        self._paragraph: list[str] = []
        self._cell: list[str] = []
        self._cells: list[str] = []
        self._fields: list[bool] = []  # per open field: still in its code

    def read(self, first_cp: int, story: str) -> list[str]:
        position = 0
        for match in _SPECIAL.finditer(story):
            if not any(self._fields):
                self._paragraph.append(story[position : match.start()])
            position = match.end()
            char = match.group()
            if char == _FIELD_BEGIN:
                self._fields.append(True)
            elif char == _FIELD_SEPARATOR and self._fields:
                self._fields[-1] = False
            elif char == _FIELD_END and self._fields:
                self._fields.pop()
            elif char in (_PARAGRAPH_END, _CELL_END):
                self._end_paragraph(char, first_cp + match.start(), story, match.start())
        if not any(self._fields):
            self._paragraph.append(story[position:])
        self._end_paragraph(_PARAGRAPH_END, None, story, len(story))
        return self.lines

    def _end_paragraph(self, char: str, cp: int | None, story: str, index: int) -> None:
        paragraph = "".join(self._paragraph).translate(_TRANSLATE)
        self._paragraph = []
        mark = self._text.paragraph_properties.mark_at(self._text.fc_of(cp) if cp is not None else None)
        if mark is None:
            mark = _guess_mark(char, story, index)
        if mark.row_end:
            self.lines.append(table_row(self._cells))
            self._cells = []
        elif mark.depth:
            self._cell.append(paragraph)
            if char == _CELL_END:
                self._cells.append(" ".join(part for part in self._cell if part.strip()))
                self._cell = []
        else:
            if self._cells:  # a table that ended without its row mark
                self.lines.append(table_row(self._cells))
                self._cells = []
            self.lines.append(paragraph)


def _guess_mark(char: str, story: str, index: int) -> _TableMark:
    """Without PAPX: a cell mark right after another one ends the row."""
    if char != _CELL_END:
        return _TableMark(0, False)
    return _TableMark(1, index > 0 and story[index - 1] == _CELL_END)
