"""Builds test documents of every supported format in memory, Korean text included.

No Korean font is installed on the build machines, so PDFs are written by hand: a Type0 font with
Identity-H encoding whose character codes are the Unicode code points, plus a ToUnicode CMap that
says so. Text extraction needs only the CMap; no glyphs are embedded or needed."""

from __future__ import annotations

import io
import random
import struct
import zipfile
import zlib
from collections.abc import Sequence

import docx
import openpyxl
import pptx
import pypdfium2
from pptx.chart.data import CategoryChartData
from pptx.enum.chart import XL_CHART_TYPE
from PIL import Image, ImageDraw, ImageFont
from pptx.util import Inches

# --- Korean text ------------------------------------------------------------------------------

_SUBJECTS = ["연구팀은", "위원회는", "정부는", "회사는", "학생들은", "시민들은", "담당자는"]
_OBJECTS = ["보고서를", "예산안을", "계획서를", "자료를", "결과를", "의견을", "제안서를"]
_VERBS = ["검토했다", "발표했다", "제출했다", "정리했다", "공유했다", "확인했다", "승인했다"]


def korean_lines(count: int, seed: int = 0) -> list[str]:
    """Deterministic short Korean sentences (at most 40 characters, to fit a PDF line)."""
    rng = random.Random(seed)
    return [
        f"{n}번째 문장에서 {rng.choice(_SUBJECTS)} {rng.choice(_OBJECTS)} {rng.choice(_VERBS)}."
        for n in range(1, count + 1)
    ]


def cp949_text() -> bytes:
    return "한글 윈도우에서 저장한 메모장 파일입니다.\n두 번째 줄: 가나다라마바사\n".encode("cp949")


# --- PDF --------------------------------------------------------------------------------------


class _PdfWriter:
    def __init__(self) -> None:
        self._objects: list[bytes] = []

    def add(self, body: bytes) -> int:
        self._objects.append(body)
        return len(self._objects)

    def set(self, number: int, body: bytes) -> None:
        self._objects[number - 1] = body

    def finish(self, root: int) -> bytes:
        out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for number, body in enumerate(self._objects, start=1):
            offsets.append(len(out))
            out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
        xref = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1)
        out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
        out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
            len(offsets) + 1, root, xref,
        )
        return bytes(out)


def _stream(data: bytes) -> bytes:
    return b"<< /Length %d >>\nstream\n%s\nendstream" % (len(data), data)


def _to_unicode_cmap(text: str) -> bytes:
    """Identity: code = code point, for every 256-code block that `text` uses."""
    blocks = sorted({ord(char) >> 8 for char in text})
    ranges = [b"<%02X00> <%02XFF> <%02X00>" % (block, block, block) for block in blocks]
    sections = [
        b"%d beginbfrange\n%s\nendbfrange" % (len(chunk), b"\n".join(chunk))
        for chunk in (ranges[i : i + 100] for i in range(0, len(ranges), 100))
    ]
    return b"\n".join([
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap",
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
        b"/CMapName /Adobe-Identity-UCS def /CMapType 2 def",
        b"1 begincodespacerange <0000> <FFFF> endcodespacerange",
        *sections,
        b"endcmap CMapName currentdict /CMap defineresource pop end end",
    ])


def _add_font(writer: _PdfWriter, text: str) -> int:
    descriptor = writer.add(
        b"<< /Type /FontDescriptor /FontName /DocmakerGothic /Flags 4 /FontBBox [0 -200 1000 800]"
        b" /ItalicAngle 0 /Ascent 800 /Descent -200 /CapHeight 700 /StemV 80 >>"
    )
    cid_font = writer.add(
        b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /DocmakerGothic /DW 1000"
        b" /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >>"
        b" /FontDescriptor %d 0 R >>" % descriptor
    )
    to_unicode = writer.add(_stream(_to_unicode_cmap(text)))
    return writer.add(
        b"<< /Type /Font /Subtype /Type0 /BaseFont /DocmakerGothic /Encoding /Identity-H"
        b" /DescendantFonts [%d 0 R] /ToUnicode %d 0 R >>" % (cid_font, to_unicode)
    )


def _text_content(lines: Sequence[str]) -> bytes:
    shown = b" T*\n".join(b"<%s> Tj" % line.encode("utf-16-be").hex().encode() for line in lines)
    return b"BT /F1 11 Tf 14 TL 40 800 Td\n%s\nET" % shown


def pdf_pages(pages: Sequence[Sequence[str]]) -> bytes:
    """A PDF with one page per entry, each showing its lines of (BMP) text."""
    writer = _PdfWriter()
    catalog = writer.add(b"")
    tree = writer.add(b"")
    font = _add_font(writer, "".join("".join(lines) for lines in pages) or " ")
    kids = []
    for lines in pages:
        contents = writer.add(_stream(_text_content(lines) if lines else b""))
        kids.append(writer.add(
            b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Contents %d 0 R"
            b" /Resources << /Font << /F1 %d 0 R >> >> >>" % (tree, contents, font)
        ))
    writer.set(catalog, b"<< /Type /Catalog /Pages %d 0 R >>" % tree)
    refs = b" ".join(b"%d 0 R" % kid for kid in kids)
    writer.set(tree, b"<< /Type /Pages /Kids [%s] /Count %d >>" % (refs, len(kids)))
    return writer.finish(catalog)


def korean_pdf(page_count: int, lines_per_page: int = 30) -> bytes:
    lines = korean_lines(page_count * lines_per_page)
    pages = [lines[i : i + lines_per_page] for i in range(0, len(lines), lines_per_page)]
    return pdf_pages(pages)


def blank_pdf(page_count: int) -> bytes:
    """Pages with no text at all: a scan without OCR looks like this to an extractor."""
    return pdf_pages([[] for _ in range(page_count)])


# --- OOXML --------------------------------------------------------------------------------------


def _saved(document: object) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)  # type: ignore[attr-defined]
    return buffer.getvalue()


def docx_bytes() -> bytes:
    """Headings (one with a localised style id, as Korean Word writes), a table with merged and
    nested cells between two paragraphs."""
    document = docx.Document()
    document.styles["Heading 2"].style_id = "2"
    document.add_heading("사업 계획서", level=1)
    document.add_paragraph("첫 번째 문단은 표 앞에 있습니다.")
    table = document.add_table(rows=3, cols=3)
    for row, values in enumerate([["구분", "예산", "비고"], ["인건비", "1,000", "연간"]]):
        for column, value in enumerate(values):
            table.cell(row, column).text = value
    merged = table.cell(2, 0).merge(table.cell(2, 2))
    merged.text = "합계는 병합된 셀"
    table.cell(1, 2).add_table(rows=1, cols=1).cell(0, 0).text = "중첩 표"
    document.add_paragraph("세부 내용", style="Heading 2")
    document.add_paragraph("마지막 문단은 표 뒤에 있습니다.")
    return _saved(document)


def empty_docx() -> bytes:
    document = docx.Document()
    document.add_paragraph("   ")
    return _saved(document)


def pptx_bytes(empty: bool = False) -> bytes:
    """A title, a group holding a group holding text, a table and speaker notes."""
    presentation = pptx.Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[6])  # blank
    if empty:
        return _saved(presentation)
    slide.shapes.add_textbox(Inches(1), Inches(0.5), Inches(6), Inches(1)).text_frame.text = "분기 실적 발표"
    outer = slide.shapes.add_group_shape()
    outer.shapes.add_textbox(Inches(1), Inches(2), Inches(3), Inches(1)).text_frame.text = "그룹 안의 글상자"
    inner = outer.shapes.add_group_shape()
    inner.shapes.add_textbox(Inches(4), Inches(2), Inches(3), Inches(1)).text_frame.text = "그룹 속 그룹의 글"
    table = slide.shapes.add_table(2, 2, Inches(1), Inches(4), Inches(6), Inches(1)).table
    for (row, column), value in {(0, 0): "지역", (0, 1): "매출", (1, 0): "서울", (1, 1): "120억"}.items():
        table.cell(row, column).text = value
    slide.notes_slide.notes_text_frame.text = "발표자 노트: 전년 대비 증가"
    second = presentation.slides.add_slide(presentation.slide_layouts[6])
    second.shapes.add_textbox(Inches(1), Inches(1), Inches(6), Inches(1)).text_frame.text = "두 번째 슬라이드"
    return _saved(presentation)


def xlsx_bytes(rows: int = 3) -> bytes:
    """Sheet 매출 with a header, an empty row, `rows` data rows of numbers and dates; sheet 메모."""
    import datetime

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "매출"
    sheet.append(["지역", "금액", "날짜"])
    sheet.append([])
    for n in range(rows):
        sheet.append([f"지점{n + 1}", 1000.0 + n, datetime.datetime(2026, 11, 1 + n % 28)])
    workbook.create_sheet("메모").append(["비고", None, "끝"])
    return _saved(workbook)


# --- HWPX ---------------------------------------------------------------------------------------

_HWPX_NAMESPACES = (
    'xmlns:hs="http://www.hancom.co.kr/hwpml/2011/section" '
    'xmlns:hp="http://www.hancom.co.kr/hwpml/2011/paragraph"'
)


def hwpx_section(body: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?><hs:sec {_HWPX_NAMESPACES}>{body}</hs:sec>'


def hwpx_paragraph(text: str) -> str:
    return f"<hp:p><hp:run><hp:t>{text}</hp:t></hp:run></hp:p>"


def hwpx_table(rows: Sequence[Sequence[str]]) -> str:
    cells = "".join(
        "<hp:tr>" + "".join(f"<hp:tc><hp:subList>{hwpx_paragraph(v)}</hp:subList></hp:tc>" for v in row)
        + "</hp:tr>"
        for row in rows
    )
    return f"<hp:p><hp:run><hp:tbl>{cells}</hp:tbl></hp:run></hp:p>"


def hwpx_bytes(sections: Sequence[str], extra: dict[str, bytes] | None = None) -> bytes:
    """An HWPX package without META-INF/manifest.xml (optional in practice)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/hwp+zip", compress_type=zipfile.ZIP_STORED)
        archive.writestr("Contents/content.hpf", '<?xml version="1.0"?><opf:package/>')
        for number, section in enumerate(sections):
            archive.writestr(f"Contents/section{number}.xml", section, zipfile.ZIP_DEFLATED)
        for name, data in (extra or {}).items():
            archive.writestr(name, data, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def sample_hwpx() -> bytes:
    first = hwpx_section(
        hwpx_paragraph("한글 문서의 첫 문단<hp:tab/>탭 뒤의 글")
        + hwpx_table([["항목", "금액"], ["인건비", "3,000만원"]])
    )
    return hwpx_bytes([first, hwpx_section(hwpx_paragraph("두 번째 구역의 문단"))])


# --- ZIP surgery ----------------------------------------------------------------------------------


def replace_member(package: bytes, name: str, data: bytes) -> bytes:
    """The same package with one member's bytes replaced (or added)."""
    source = zipfile.ZipFile(io.BytesIO(package))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename != name:
                target.writestr(info, source.read(info.filename))
        target.writestr(name, data)
    return buffer.getvalue()


def add_zeros_member(package: bytes, name: str, size: int) -> bytes:
    """The package plus a member of `size` zero bytes, streamed in so memory stays small."""
    buffer = io.BytesIO(package)
    chunk = bytes(1 << 20)
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open(name, "w", force_zip64=True) as member:
            for offset in range(0, size, len(chunk)):
                member.write(chunk[: min(len(chunk), size - offset)])
    return buffer.getvalue()


def understate_sizes(package: bytes, size: int) -> bytes:
    """Every member claims to inflate to `size` bytes, whatever it really holds."""
    data = bytearray(package)
    for signature, offset in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)):
        start = data.find(signature)
        while start != -1:
            struct.pack_into("<I", data, start + offset, size)
            start = data.find(signature, start + 4)
    return bytes(data)


def billion_laughs(root: str = "w:document", levels: int = 10) -> bytes:
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, levels)
    ]
    return (
        f'<?xml version="1.0"?><!DOCTYPE lolz [{"".join(entities)}]>'
        f"<{root}>&lol{levels - 1};</{root}>"
    ).encode()


# --- HWP 5 (OLE compound file) ---------------------------------------------------------------------

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_SECTOR = 512
_FREE, _END, _FAT_SECTOR, _NO_STREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
# Streams shorter than this live in the mini stream; padding them past it keeps the writer small.
_MINI_CUTOFF = 4096
HWP_COMPRESSED, HWP_PASSWORD, HWP_DISTRIBUTION = 0x1, 0x2, 0x4


def ole_file(entries: Sequence[tuple[str, bytes | None, int | None]]) -> bytes:
    """A minimal compound file (v3): data sectors, then the directory, then the FAT. `entries`
    are (name, data or None for a storage, index of the parent storage or None for the root)."""
    entries = [(name, data if data is None else data.ljust(_MINI_CUTOFF, b"\0"), parent)
               for name, data, parent in entries]
    sectors = bytearray()
    fat: list[int] = []
    starts = []
    for _, data, _ in entries:
        if data is None:
            starts.append(_END)
            continue
        starts.append(len(fat))
        _append_chain(fat, sectors, data)
    directory_start = len(fat)
    _append_chain(fat, sectors, _directory(entries, starts))
    per_fat_sector = _SECTOR // 4
    fat_count = -(-len(fat) // (per_fat_sector - 1))  # the FAT also maps its own sectors
    fat_start = len(fat)
    fat.extend([_FAT_SECTOR] * fat_count)
    fat.extend([_FREE] * (fat_count * per_fat_sector - len(fat)))
    difat = [fat_start + n for n in range(fat_count)] + [_FREE] * (109 - fat_count)
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII109I", _OLE_MAGIC, bytes(16), 0x3E, 3, 0xFFFE, 9, 6, bytes(6),
        0, fat_count, directory_start, 0, _MINI_CUTOFF, _END, 0, _END, 0, *difat,
    )
    return header + bytes(sectors) + struct.pack(f"<{len(fat)}I", *fat)


def _append_chain(fat: list[int], sectors: bytearray, data: bytes) -> None:
    count = -(-len(data) // _SECTOR)
    fat.extend(range(len(fat) + 1, len(fat) + count))
    fat.append(_END)
    sectors += data.ljust(count * _SECTOR, b"\0")


def _directory(entries: Sequence[tuple[str, bytes | None, int | None]], starts: list[int]) -> bytes:
    """Directory entries; each storage's children are chained through right-sibling pointers."""
    children: dict[int, list[int]] = {}
    for index, (_, _, parent) in enumerate(entries[1:], start=1):
        children.setdefault(parent or 0, []).append(index)
    right = {kids[i]: kids[i + 1] for kids in children.values() for i in range(len(kids) - 1)}
    records = []
    for index, (name, data, _) in enumerate(entries):
        kind = 5 if index == 0 else (1 if data is None else 2)
        first_child = children.get(index, [_NO_STREAM])[0]
        encoded = (name + "\0").encode("utf-16-le")
        records.append(struct.pack(
            "<64sHBBIII16sIQQIQ", encoded, len(encoded), kind, 1, _NO_STREAM,
            right.get(index, _NO_STREAM), first_child, bytes(16), 0, 0, 0, starts[index],
            0 if data is None else len(data),
        ))
    return b"".join(records)


def hwp_record(tag: int, level: int, payload: bytes) -> bytes:
    if len(payload) >= 0xFFF:
        return struct.pack("<II", tag | level << 10 | 0xFFF << 20, len(payload)) + payload
    return struct.pack("<I", tag | level << 10 | len(payload) << 20) + payload


_PARA_HEADER, _PARA_TEXT, _CTRL_HEADER, _LIST_HEADER, _TABLE = 66, 67, 71, 72, 77
_TAB = "\t" + "\0" * 6 + "\t"  # an inline control: 8 code units
# Extended control 11 (a drawing object or table), carrying the control id 'tbl ': 8 code units.
_TABLE_ANCHOR = "\x0b" + b" lbt".decode("utf-16-le") + "\0" * 4 + "\x0b"


def hwp_paragraph(text: str, level: int = 0) -> bytes:
    units = (text + "\r").encode("utf-16-le")
    header = struct.pack("<I", len(units) // 2) + bytes(18)
    return hwp_record(_PARA_HEADER, level, header) + hwp_record(_PARA_TEXT, level + 1, units)


def hwp_table(rows: Sequence[Sequence[str]], level: int = 0) -> bytes:
    """A paragraph anchoring a table whose cells each hold one paragraph."""
    records = [hwp_paragraph(_TABLE_ANCHOR, level)]
    records.append(hwp_record(_CTRL_HEADER, level + 1, b" lbt" + bytes(40)))
    records.append(hwp_record(_TABLE, level + 2, struct.pack("<IHH", 0, len(rows), len(rows[0]))))
    for row, values in enumerate(rows):
        for column, value in enumerate(values):
            cell = struct.pack("<HHIHHHH", 1, 0, 0, column, row, 1, 1) + bytes(30)
            records.append(hwp_record(_LIST_HEADER, level + 2, cell))
            records.append(hwp_paragraph(value, level + 2))
    return b"".join(records)


def hwp_bytes(sections: Sequence[bytes], flags: int = HWP_COMPRESSED) -> bytes:
    """An HWP 5 file whose BodyText/SectionN streams hold the given record streams."""
    header = b"HWP Document File".ljust(32, b"\0") + struct.pack("<II", 0x05000300, flags)
    entries: list[tuple[str, bytes | None, int | None]] = [
        ("Root Entry", None, None), ("FileHeader", header.ljust(256, b"\0"), None),
        ("BodyText", None, None),
    ]
    for number, records in enumerate(sections):
        body = _raw_deflate(records) if flags & HWP_COMPRESSED else records
        entries.append((f"Section{number}", body, 2))
    return ole_file(entries)


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def sample_hwp(flags: int = HWP_COMPRESSED) -> bytes:
    first = (
        hwp_paragraph(f"보고서 제목{_TAB}탭 뒤") + hwp_paragraph("")
        + hwp_table([["성명", "소속"], ["홍길동", "기획팀"]])
        + hwp_paragraph("표 다음 문단입니다.")
    )
    return hwp_bytes([first, hwp_paragraph("두 번째 구역")], flags)


def hwp_inflating_to(size: int) -> bytes:
    """An HWP whose only section inflates to `size` bytes of zeros (a decompression bomb)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = bytes(1 << 20)
    parts = [compressor.compress(chunk[: min(len(chunk), size - offset)])
             for offset in range(0, size, len(chunk))]
    body = b"".join(parts) + compressor.flush()
    header = b"HWP Document File".ljust(32, b"\0") + struct.pack("<II", 0x05000300, HWP_COMPRESSED)
    return ole_file([
        ("Root Entry", None, None), ("FileHeader", header.ljust(256, b"\0"), None),
        ("BodyText", None, None), ("Section0", body, 2),
    ])


# --- Legacy binary Office (MS-DOC, MS-XLS, MS-PPT) ----------------------------------------------

_IN_TABLE, _ROW_END = struct.pack("<HB", 0x2416, 1), struct.pack("<HB", 0x2417, 1)


def doc_bytes(paragraphs: Sequence[str | Sequence[Sequence[str]]], encrypted: bool = False,
              footnotes: Sequence[str] = ()) -> bytes:
    """A Word 97 .doc: each item a paragraph, or a table (rows of cells). The body is one
    "compressed" 8-bit piece when it is all ASCII, else one UTF-16 piece; PAPX marks table rows as
    Word does (sprmPFInTable, sprmPFTtp)."""
    text, marks = [], []  # marks: per paragraph, its grpprl
    for item in paragraphs:
        if isinstance(item, str):
            text.append(item + "\r")
            marks.append(b"")
            continue
        for row in item:
            for cell in row:
                text.append(cell + "\x07")
                marks.append(_IN_TABLE)
            text.append("\x07")
            marks.append(_IN_TABLE + _ROW_END)
    body = "".join(text)
    notes = "".join(note + "\r" for note in footnotes)
    everything = body + notes
    compressed = everything.isascii()
    text_fc, unit = 1024, 1 if compressed else 2
    encoded = everything.encode("latin-1" if compressed else "utf-16-le")
    fkp_page = -(-(text_fc + len(encoded)) // 512)
    ends, fc = [], text_fc
    for piece in text:
        fc += len(piece) * unit
        ends.append(fc)
    word = bytearray(fkp_page * 512 + 512)
    word[text_fc : text_fc + len(encoded)] = encoded
    word[fkp_page * 512 :] = _papx_fkp([text_fc, *ends], marks)
    pcd_fc = text_fc * 2 | 0x40000000 if compressed else text_fc
    clx = b"\x02" + struct.pack("<IIIHIH", 16, 0, len(everything), 0, pcd_fc, 0)
    bte = struct.pack("<III", text_fc, ends[-1] if ends else text_fc, fkp_page)
    table = clx + bte
    fib = _fib(encrypted, len(body), len(notes), clx=(0, len(clx)), papx=(len(clx), len(bte)))
    word[: len(fib)] = fib
    return ole_file([
        ("Root Entry", None, None), ("WordDocument", bytes(word), None), ("1Table", table, None),
    ])


def _fib(encrypted: bool, ccp_text: int, ccp_footnotes: int, clx: tuple[int, int],
         papx: tuple[int, int]) -> bytes:
    flags = 0x0200 | (0x0100 if encrypted else 0)  # fWhichTblStm, fEncrypted
    base = struct.pack("<HHHHHH", 0xA5EC, 0x00C1, 0, 0, 0, flags).ljust(32, b"\0")
    longs = [0] * 22
    longs[3], longs[4] = ccp_text, ccp_footnotes
    pairs = [0] * (93 * 2)
    pairs[13 * 2 : 13 * 2 + 2] = papx
    pairs[33 * 2 : 33 * 2 + 2] = clx
    return (base + struct.pack("<H", 14) + bytes(28) + struct.pack("<H22I", 22, *longs)
            + struct.pack(f"<H{len(pairs)}I", 93, *pairs) + struct.pack("<H", 0))


def _papx_fkp(fcs: list[int], marks: list[bytes]) -> bytes:
    page = bytearray(512)
    count = len(marks)
    struct.pack_into(f"<{count + 1}I", page, 0, *fcs)
    free = 510
    for index, grpprl in enumerate(marks):
        if not grpprl:
            continue
        data = b"\0\0" + grpprl  # istd 0, then the sprms
        papx = bytes([len(data) // 2 + 1]) + data if len(data) % 2 else b"\0" + bytes([len(data) // 2]) + data
        free = (free - len(papx)) & ~1
        page[free : free + len(papx)] = papx
        page[(count + 1) * 4 + index * 13] = free // 2
    page[511] = count
    return bytes(page)


def _ppt_record(kind: int, payload: bytes, instance: int = 0, container: bool = False) -> bytes:
    version = 0xF if container else 0
    return struct.pack("<HHI", instance << 4 | version, kind, len(payload)) + payload


def _ppt_text(text: str) -> bytes:
    return _ppt_record(0x0F9F, struct.pack("<I", 1)) + _ppt_record(0x0FA0, text.encode("utf-16-le"))


def _ppt_drawing(texts: Sequence[str]) -> bytes:
    """PPDrawing > DgContainer > SpgrContainer > one SpContainer per text > ClientTextbox."""
    shapes = b"".join(
        _ppt_record(0xF004, _ppt_record(0xF00D, _ppt_text(text), container=True), container=True)
        for text in texts
    )
    group = _ppt_record(0xF003, shapes, container=True)
    return _ppt_record(0x040C, _ppt_record(0xF002, group, container=True), container=True)


def ppt_bytes(slides: Sequence[Sequence[str]], notes: dict[int, str] | None = None,
              listed: dict[int, str] | None = None, encrypted: bool = False) -> bytes:
    """A .ppt whose slides keep their text in ClientTextbox records inside their drawings (as
    PowerPoint 2007+ writes), `listed` text in the SlideListWithText, `notes` on notes pages."""
    notes, listed = notes or {}, listed or {}
    objects: dict[int, bytes] = {}
    slide_list = b""
    next_id = 2
    for index, texts in enumerate(slides):
        slide_id, next_id = next_id, next_id + 1
        notes_id = 0
        if index in notes:
            notes_id, next_id = next_id, next_id + 1
            objects[notes_id] = _ppt_record(0x03F0, _ppt_drawing([notes[index]]), container=True)
        atom = _ppt_record(0x03EF, struct.pack("<I8sIIHH", 0, bytes(8), 0, notes_id, 0, 0))
        objects[slide_id] = _ppt_record(0x03EE, atom + _ppt_drawing(texts), container=True)
        slide_list += _ppt_record(0x03F3, struct.pack("<IIiII", slide_id, 0, 0, 0, 0))
        if index in listed:
            slide_list += _ppt_text(listed[index])
    objects[1] = _ppt_record(0x03E8, _ppt_record(0x0FF0, slide_list, container=True), container=True)
    stream, offsets = b"", {}
    for persist_id in sorted(objects):
        offsets[persist_id] = len(stream)
        stream += objects[persist_id]
    directory_at = len(stream)
    entry = struct.pack("<I", 1 | len(offsets) << 20) + b"".join(
        struct.pack("<I", offsets[key]) for key in sorted(offsets))
    stream += _ppt_record(0x1772, entry)
    edit_at = len(stream)
    stream += _ppt_record(0x0FF5, struct.pack("<IHBBIIIIHH", 0, 0, 0, 3, 0, directory_at, 1, next_id, 1, 0))
    token = 0xF3D1C4DF if encrypted else 0xE391C05F
    current_user = _ppt_record(0x0FF6, struct.pack("<III", 0x14, token, edit_at) + bytes(8))
    return ole_file([
        ("Root Entry", None, None), ("Current User", current_user, None),
        ("PowerPoint Document", stream, None),
    ])


def _biff(kind: int, payload: bytes) -> bytes:
    return struct.pack("<HH", kind, len(payload)) + payload


def _biff_string(text: str) -> bytes:
    return struct.pack("<HB", len(text), 1) + text.encode("utf-16-le")


def xls_bytes(sheets: dict[str, Sequence[Sequence[str | float]]], encrypted: bool = False) -> bytes:
    """A BIFF8 .xls workbook: strings in the shared-string table, numbers as NUMBER records."""
    strings = sorted({value for rows in sheets.values() for row in rows for value in row
                      if isinstance(value, str)})
    index = {value: n for n, value in enumerate(strings)}
    bof = struct.pack("<HHHHII", 0x0600, 0x0005, 0, 0, 0, 0)
    globals_ = _biff(0x0809, bof)
    if encrypted:
        globals_ += _biff(0x002F, struct.pack("<HHH", 1, 1, 1) + bytes(48))
    globals_ += _biff(0x0042, struct.pack("<H", 1200))  # CODEPAGE: UTF-16
    sheet_streams = []
    for rows in sheets.values():
        cells = b""
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if isinstance(value, str):
                    cells += _biff(0x00FD, struct.pack("<HHHI", r, c, 0, index[value]))
                else:
                    cells += _biff(0x0203, struct.pack("<HHHd", r, c, 0, value))
        sheet_streams.append(_biff(0x0809, struct.pack("<HHHHII", 0x0600, 0x0010, 0, 0, 0, 0))
                             + cells + _biff(0x000A, b""))
    names = list(sheets)
    bound_size = sum(4 + 8 + 2 * len(name) for name in names)  # BOUNDSHEET records
    sst = _biff(0x00FC, struct.pack("<II", len(strings), len(strings))
                + b"".join(_biff_string(value) for value in strings))
    offset = len(globals_) + bound_size + len(sst) + 4
    bounds = b""
    for name, stream in zip(names, sheet_streams, strict=True):
        bounds += _biff(0x0085, struct.pack("<IH", offset, 0) + struct.pack("<BB", len(name), 1)
                        + name.encode("utf-16-le"))
        offset += len(stream)
    workbook = globals_ + bounds + sst + _biff(0x000A, b"") + b"".join(sheet_streams)
    return ole_file([("Root Entry", None, None), ("Workbook", workbook, None)])


# --- OpenDocument -------------------------------------------------------------------------------

_ODF_NAMESPACES = " ".join(
    f'xmlns:{prefix}="urn:oasis:names:tc:opendocument:xmlns:{name}"'
    for prefix, name in [("office", "office:1.0"), ("text", "text:1.0"), ("table", "table:1.0"),
                         ("draw", "drawing:1.0"), ("presentation", "presentation:1.0")]
)


def odf_bytes(kind: str, body: str, manifest: str | None = None) -> bytes:
    """An OpenDocument package (`kind`: text, spreadsheet, presentation) whose office:body holds
    `body` (XML with the office, text, table, draw and presentation prefixes)."""
    content = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_ODF_NAMESPACES}>'
               f"<office:body><office:{kind}>{body}</office:{kind}></office:body></office:document-content>")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", f"application/vnd.oasis.opendocument.{kind}", zipfile.ZIP_STORED)
        archive.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
        if manifest is not None:
            archive.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


ODT_BODY = (
    '<text:tracked-changes><text:changed-region><text:deletion><text:p>지운 문장</text:p>'
    "</text:deletion></text:changed-region></text:tracked-changes>"
    '<text:h text:outline-level="1">사업 계획</text:h>'
    "<text:p>예산은<text:s text:c=\"2\"/>3억 원<text:tab/>이다.<text:line-break/>다음 줄"
    '<text:note><text:note-citation>1</text:note-citation><text:note-body><text:p>각주 내용</text:p>'
    "</text:note-body></text:note><office:annotation><text:p>메모는 빼고</text:p></office:annotation></text:p>"
    "<text:list><text:list-item><text:p>첫 항목</text:p></text:list-item></text:list>"
    "<table:table><table:table-header-rows><table:table-row><table:table-cell><text:p>항목</text:p>"
    "</table:table-cell><table:table-cell><text:p>금액</text:p></table:table-cell></table:table-row>"
    "</table:table-header-rows><table:table-row><table:table-cell><text:p>인건비</text:p></table:table-cell>"
    "<table:table-cell><text:p>1,200</text:p></table:table-cell></table:table-row></table:table>"
    '<text:p><draw:frame><draw:text-box><text:p>글상자 안의 글</text:p></draw:text-box></draw:frame></text:p>'
)
ODS_BODY = (
    '<table:table table:name="예산"><table:table-row><table:table-cell><text:p>항목</text:p></table:table-cell>'
    '<table:table-cell table:number-columns-repeated="2"/><table:table-cell><text:p>비고</text:p>'
    '</table:table-cell><table:table-cell table:number-columns-repeated="16380"/></table:table-row>'
    '<table:table-row table:number-rows-repeated="2"><table:table-cell><text:p>같은 행</text:p></table:table-cell>'
    '</table:table-row><table:table-row table:number-rows-repeated="1048570"><table:table-cell/>'
    "</table:table-row></table:table>"
)
ODP_BODY = (
    '<draw:page><draw:frame><draw:text-box><text:p>발표 제목</text:p></draw:text-box></draw:frame>'
    "<draw:g><draw:custom-shape><text:p>묶인 도형의 글</text:p></draw:custom-shape></draw:g>"
    "<presentation:notes><draw:frame><draw:text-box><text:p>발표자 노트</text:p></draw:text-box>"
    "</draw:frame></presentation:notes></draw:page>"
    "<draw:page><draw:frame><table:table><table:table-row><table:table-cell><text:p>가</text:p>"
    "</table:table-cell><table:table-cell><text:p>나</text:p></table:table-cell></table:table-row>"
    "</table:table></draw:frame></draw:page>"
)


# --- HWPML and HWP 3.0 ------------------------------------------------------------------------------


def hwpml_bytes(body: str, tail: str = "") -> bytes:
    """An HWPML export (UTF-8 with BOM, as Hangul writes it) with `body` inside BODY/SECTION."""
    return (
        '\ufeff<?xml version="1.0" encoding="UTF-8" standalone="no" ?>'
        '<?xml-stylesheet type="text/xsl" href="x.xsl"?><HWPML Style="export" Version="2.91">'
        f'<HEAD><DOCSUMMARY><DATE>2012년 5월 29일</DATE></DOCSUMMARY></HEAD><BODY><SECTION Id="0">{body}'
        f"</SECTION></BODY><TAIL>{tail}</TAIL></HWPML>"
    ).encode()


def hwpml_paragraph(*runs: str) -> str:
    return f'<P><TEXT CharShape="0">{"".join(runs)}</TEXT></P>'


HWPML_BODY = (
    '<P><TEXT><HEADER><PARALIST><P><TEXT><CHAR>머리말 제목</CHAR></TEXT></P></PARALIST></HEADER></TEXT>'
    "<TEXT><CHAR>문단 앞</CHAR><TAB/><CHAR>탭 <TAB/>사이</CHAR><LINEBREAK/><CHAR>다음 줄</CHAR></TEXT></P>"
    + hwpml_paragraph(
        '<TABLE><SHAPEOBJECT InstId="1"/><ROW><CELL><PARALIST><P><TEXT><CHAR>항목</CHAR></TEXT></P></PARALIST>'
        "</CELL><CELL><PARALIST><P><TEXT><CHAR>금액</CHAR></TEXT></P></PARALIST></CELL></ROW><ROW><CELL>"
        "<PARALIST><P><TEXT><CHAR>인건비</CHAR></TEXT></P></PARALIST></CELL><CELL><PARALIST><P><TEXT>"
        "<CHAR>3,000</CHAR></TEXT></P></PARALIST></CELL></ROW></TABLE>"
    )
    + hwpml_paragraph('<RECTANGLE><SHAPEOBJECT/><DRAWTEXT><PARALIST><P><TEXT><CHAR>도형 안의 글</CHAR></TEXT>'
                      "</P></PARALIST></DRAWTEXT></RECTANGLE>")
)


def _hchars(text: str) -> bytes:
    """HWP 3.0 characters: ASCII as is, Hangul as its Johab code."""
    units = []
    for char in text:
        if char.isascii():
            units.append(ord(char))
        else:
            high, low = char.encode("johab")
            units.append(high << 8 | low)
    return struct.pack(f"<{len(units)}H", *units)


def hwp3_paragraph(text: str = "", controls: bytes = b"", control_width: int = 0) -> bytes:
    """A paragraph: header, character shape, paragraph shape, no line info, its hchars and any
    controls after them (`control_width`: how many hchars they count for), then the end code."""
    chars = _hchars(text) + controls + struct.pack("<H", 13)
    count = len(_hchars(text)) // 2 + control_width + 1
    return struct.pack("<BHHBBIB", 0, count, 0, 0, 0, 0, 0) + bytes(31) + bytes(187) + chars


HWP3_LIST_END = struct.pack("<BHHBBIB", 0, 0, 0, 0, 0, 0, 0) + bytes(31)


def hwp3_table(rows: Sequence[Sequence[str]]) -> bytes:
    """A table control (code 10): the box, one 27-byte cell record each (x and y at 4 and 6), one
    paragraph list per cell, then an empty caption list."""
    cells = [(column, row, text) for row, values in enumerate(rows) for column, text in enumerate(values)]
    box = bytearray(90)
    struct.pack_into("<HH", box, 84, 0, len(cells))  # type 0 (table), cell count
    records = b"".join(struct.pack("<HHHHHH", 0, 0, 100 * column, 100 * row, 100, 100).ljust(27, b"\0")
                       for column, row, _ in cells)
    lists = b"".join(hwp3_paragraph(text) + HWP3_LIST_END for _, _, text in cells)
    return struct.pack("<H", 10) + bytes(box) + records + lists + HWP3_LIST_END


def hwp3_bytes(body: bytes | None = None, encrypted: bool = False, compressed: bool = True) -> bytes:
    """An HWP 3.0 file: signature, document information, summary, no info block, then the body
    (no fonts, no styles, the given paragraph list), raw-deflated when `compressed`."""
    if body is None:
        footnote = struct.pack("<H", 17) + bytes(20) + hwp3_paragraph("각주의 글") + HWP3_LIST_END
        body = (
            hwp3_paragraph("옛 한글 문서의 첫 문단", struct.pack("<H", 9) + bytes(6) + _hchars("탭 뒤"), 4 + 3)
            + hwp3_paragraph("", hwp3_table([["성명", "소속"], ["홍길동", "기획팀"]]), 4)
            + hwp3_paragraph("각주가 달린 문단", footnote, 4)
            + HWP3_LIST_END
        )
    tables = bytes(2 * 7) + bytes(2)  # seven empty font lists, no styles
    payload = _raw_deflate(tables + body) if compressed else tables + body
    info = bytearray(128)
    struct.pack_into("<H", info, 96, 1 if encrypted else 0)
    info[124] = 1 if compressed else 0
    return b"HWP Document File V3.00 \x1a\x01\x02\x03\x04\x05" + bytes(info) + bytes(1008) + payload


# --- Pictures (OCR) ------------------------------------------------------------------------------
# No Korean font is installed here, so pictures carry English lines in Pillow's own font; the
# Korean OCR tests read the corpus's real Korean page image.

SCAN_LINES = ["Quarterly budget report", "Personnel costs rose by twelve percent"]


def text_image(lines: Sequence[str] = SCAN_LINES) -> Image.Image:
    font = ImageFont.load_default(size=40)
    image = Image.new("RGB", (1400, 120 + 80 * len(lines)), "white")
    draw = ImageDraw.Draw(image)
    for number, line in enumerate(lines):
        draw.text((60, 60 + 80 * number), line, font=font, fill="black")
    return image


def picture_bytes(format: str, pages: Sequence[Sequence[str]] = (SCAN_LINES,)) -> bytes:
    """A picture file (PNG, JPEG, TIFF, WEBP, GIF) of text lines; several pages as frames."""
    images = [text_image(lines) for lines in pages]
    if format == "GIF":
        images = [image.convert("P") for image in images]
    buffer = io.BytesIO()
    images[0].save(buffer, format, save_all=len(images) > 1, append_images=images[1:])
    return buffer.getvalue()


def noise_picture() -> bytes:
    """A PNG of grey noise: no text in it, whatever OCR makes of it."""
    buffer = io.BytesIO()
    Image.effect_noise((800, 600), 120).convert("RGB").save(buffer, "PNG")
    return buffer.getvalue()


def scanned_pdf(pages: Sequence[Sequence[str] | None]) -> bytes:
    """A PDF whose pages are pictures of text lines (None: a page with a text layer instead)."""
    combined = pypdfium2.PdfDocument.new()
    for lines in pages:
        buffer = io.BytesIO()
        if lines is None:
            buffer.write(pdf_pages([["텍스트가 있는 쪽입니다."]]))
        else:
            text_image(lines).save(buffer, "PDF", resolution=96)
        combined.import_pages(pypdfium2.PdfDocument(buffer.getvalue()))
    out = io.BytesIO()
    combined.save(out)
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A PNG header announcing width x height pixels, with one tiny IDAT: a decompression bomb's
    shape, refused from the header alone."""
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


# --- DOCX beyond the body ---------------------------------------------------------------------------

_W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
_DOCX_NAMESPACES = (
    f'{_W} xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
    'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
    'xmlns:v="urn:schemas-microsoft-com:vml" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
)
_WORD_TYPES = "application/vnd.openxmlformats-officedocument.wordprocessingml"
_WORD_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_DOCX_PARTS = {  # part name: (root element, content type, relationship type)
    "footnotes": ("footnotes", "footnotes", "footnotes"),
    "endnotes": ("endnotes", "endnotes", "endnotes"),
    "header1": ("hdr", "header", "header"),
    "header2": ("hdr", "header", "header"),
    "footer1": ("ftr", "footer", "footer"),
    "comments": ("comments", "comments", "comments"),
}


def _w_paragraph(text: str) -> str:
    return f"<w:p><w:r><w:t xml:space=\"preserve\">{text}</w:t></w:r></w:p>"


def _text_box(text: str) -> str:
    """A text box as Word writes it: DrawingML in mc:Choice, the same text as VML in mc:Fallback."""
    return (
        "<w:r><mc:AlternateContent><mc:Choice Requires=\"wps\"><w:drawing><wps:txbx><w:txbxContent>"
        f"{_w_paragraph(text)}</w:txbxContent></wps:txbx></w:drawing></mc:Choice><mc:Fallback><w:pict>"
        f"<v:shape><v:textbox><w:txbxContent>{_w_paragraph(text)}</w:txbxContent></v:textbox></v:shape>"
        "</w:pict></mc:Fallback></mc:AlternateContent></w:r>"
    )


def docx_with_notes() -> bytes:
    """A DOCX with text in every place Word keeps it besides the body: footnotes (after a
    separator), endnotes, two identical headers, a footer, comments, a text box; and tracked
    changes (an insertion kept, a deletion to drop)."""
    body = (
        "<w:p><w:r><w:t>계약 기간은 </w:t></w:r><w:del><w:r><w:delText>2년</w:delText></w:r></w:del>"
        "<w:ins><w:r><w:t>3년</w:t></w:r></w:ins><w:r><w:t>이다.</w:t></w:r>"
        "<w:r><w:footnoteReference w:id=\"1\"/></w:r></w:p>"
        f"<w:p><w:r><w:t>그림 설명:</w:t></w:r>{_text_box('글상자 속 안내문')}</w:p>"
    )
    parts = {
        "footnotes": ('<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>'
                      f'<w:footnote w:id="1">{_w_paragraph("각주: 계약법 제3조")}</w:footnote>'),
        "endnotes": f'<w:endnote w:id="1">{_w_paragraph("미주: 참고 문헌")}</w:endnote>',
        "header1": _w_paragraph("대외비 문서"),
        "header2": _w_paragraph("대외비 문서"),
        "footer1": _w_paragraph("- 1 -"),
        "comments": f'<w:comment w:id="0" w:author="검토자">{_w_paragraph("기간을 다시 확인할 것")}</w:comment>',
    }
    types = "".join(
        f'<Override PartName="/word/{name}.xml" ContentType="{_WORD_TYPES}.{kind}+xml"/>'
        for name, (_, kind, _) in _DOCX_PARTS.items()
    )
    rels = "".join(
        f'<Relationship Id="rId{n}" Type="{_WORD_RELS}/{relationship}" Target="{name}.xml"/>'
        for n, (name, (_, _, relationship)) in enumerate(_DOCX_PARTS.items(), start=1)
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", (
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            f'<Override PartName="/word/document.xml" ContentType="{_WORD_TYPES}.document.main+xml"/>'
            f"{types}</Types>"))
        archive.writestr("_rels/.rels", (
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{_WORD_RELS}/officeDocument" Target="word/document.xml"/>'
            "</Relationships>"))
        archive.writestr("word/_rels/document.xml.rels", (
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f"{rels}</Relationships>"))
        archive.writestr("word/document.xml", (
            f'<?xml version="1.0"?><w:document {_DOCX_NAMESPACES}><w:body>{body}<w:sectPr/></w:body></w:document>'))
        for name, (root, _, _) in _DOCX_PARTS.items():
            archive.writestr(f"word/{name}.xml", f'<?xml version="1.0"?><w:{root} {_W}>{parts[name]}</w:{root}>')
    return buffer.getvalue()


# --- PPTX charts and SmartArt -----------------------------------------------------------------------

_DGM = "http://schemas.openxmlformats.org/drawingml/2006/diagram"
_DRAWINGML = "http://schemas.openxmlformats.org/drawingml/2006/main"


def pptx_with_chart_and_diagram() -> bytes:
    """One slide with a titled column chart (two series) and a SmartArt diagram whose text lives
    only in its data model part, as PowerPoint writes it."""
    presentation = pptx.Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[6])
    data = CategoryChartData()
    data.categories = ["1분기", "2분기"]
    data.add_series("서울 매출", (120, 135))
    data.add_series("부산 매출", (80, 95))
    chart = slide.shapes.add_chart(XL_CHART_TYPE.COLUMN_CLUSTERED, Inches(1), Inches(1), Inches(6), Inches(3),
                                   data).chart
    chart.has_title = True
    chart.chart_title.text_frame.text = "지역별 분기 매출"
    package = _saved(presentation)
    points = "".join(
        f'<dgm:pt modelId="{n}"><dgm:t><a:bodyPr/><a:p><a:r><a:t>{text}</a:t></a:r></a:p></dgm:t></dgm:pt>'
        for n, text in enumerate(["기획", "개발", "출시"], start=1)
    )
    model = (f'<?xml version="1.0"?><dgm:dataModel xmlns:dgm="{_DGM}" xmlns:a="{_DRAWINGML}"><dgm:ptLst>'
             f"{points}</dgm:ptLst></dgm:dataModel>")
    frame = (
        '<p:graphicFrame><p:nvGraphicFramePr><p:cNvPr id="90" name="SmartArt"/><p:cNvGraphicFramePr/><p:nvPr/>'
        '</p:nvGraphicFramePr><p:xfrm><a:off x="0" y="0"/><a:ext cx="1" cy="1"/></p:xfrm><a:graphic>'
        f'<a:graphicData uri="{_DGM}"><dgm:relIds xmlns:dgm="{_DGM}" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" r:dm="rIdDiagram" '
        'r:lo="" r:qs="" r:cs=""/></a:graphicData></a:graphic></p:graphicFrame>'
    )
    archive = zipfile.ZipFile(io.BytesIO(package))
    slide_xml = archive.read("ppt/slides/slide1.xml").decode().replace("</p:spTree>", frame + "</p:spTree>")
    rels = archive.read("ppt/slides/_rels/slide1.xml.rels").decode().replace(
        "</Relationships>",
        '<Relationship Id="rIdDiagram" Target="../diagrams/data1.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/diagramData"/></Relationships>')
    types = archive.read("[Content_Types].xml").decode().replace(
        "</Types>", '<Override PartName="/ppt/diagrams/data1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.drawingml.diagramData+xml"/></Types>')
    for name, data_bytes in [("ppt/slides/slide1.xml", slide_xml), ("ppt/slides/_rels/slide1.xml.rels", rels),
                             ("[Content_Types].xml", types), ("ppt/diagrams/data1.xml", model)]:
        package = replace_member(package, name, data_bytes.encode())
    return package


def xlsx_with_formula() -> bytes:
    """An XLSX whose total is a formula with the value Excel cached for it."""
    sheet = (
        '<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>인건비</t></is></c><c r="B1"><v>1200</v></c></row>'
        '<row r="2"><c r="A2" t="inlineStr"><is><t>합계</t></is></c><c r="B2"><f>SUM(B1:B1)*2</f><v>2400</v></c>'
        "</row></sheetData></worksheet>"
    )
    return replace_member(xlsx_bytes(), "xl/worksheets/sheet1.xml", sheet.encode())


def stamped_scan_pdf(lines: Sequence[str], stamp: str) -> bytes:
    """One A4 page that is a scan (a JPEG of `lines` over the whole page) with a short `stamp` in
    its text layer, as scanners and fax gateways add a page number or a header."""
    page = Image.new("RGB", (1240, 1754), "white")
    page.paste(text_image(lines), (0, 100))
    jpeg = io.BytesIO()
    page.save(jpeg, "JPEG", quality=90)
    writer = _PdfWriter()
    catalog = writer.add(b"")
    tree = writer.add(b"")
    font = _add_font(writer, stamp)
    image = writer.add(
        b"<< /Type /XObject /Subtype /Image /Width 1240 /Height 1754 /ColorSpace /DeviceRGB"
        b" /BitsPerComponent 8 /Filter /DCTDecode /Length %d >>\nstream\n%s\nendstream"
        % (len(jpeg.getvalue()), jpeg.getvalue())
    )
    stamp_text = b"BT /F1 9 Tf 40 20 Td <%s> Tj ET" % stamp.encode("utf-16-be").hex().encode()
    contents = writer.add(_stream(b"q 595 0 0 842 0 0 cm /Im1 Do Q\n" + stamp_text))
    kid = writer.add(
        b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Contents %d 0 R"
        b" /Resources << /Font << /F1 %d 0 R >> /XObject << /Im1 %d 0 R >> >> >>" % (tree, contents, font, image)
    )
    writer.set(catalog, b"<< /Type /Catalog /Pages %d 0 R >>" % tree)
    writer.set(tree, b"<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % kid)
    return writer.finish(catalog)
