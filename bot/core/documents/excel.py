"""XLSX (Excel): each sheet as `[시트: name]`, then one line per non-empty row, cells separated by
` | `. Values are the ones Excel cached for formulas."""

from __future__ import annotations

import datetime
import io
import warnings
from typing import TYPE_CHECKING

import openpyxl

from bot.core.documents.archive import SafeZip
from bot.core.documents.markup import sheet_marker, table_row
from bot.core.documents.model import ExtractionLimits
from bot.core.errors import TooManyPages

if TYPE_CHECKING:  # openpyxl keeps the read-only sheet's class in a private module
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

# A sheet longer than this is a data table, not something to read; the rest is cut with a note
# rather than burying the other sheets under it.
MAX_ROWS_PER_SHEET = 20_000


def extract(data: bytes, limits: ExtractionLimits) -> tuple[str, int]:
    SafeZip(data, limits).reject_xml_dtds()
    with warnings.catch_warnings():
        # Files written by tools other than Excel (Apache POI, KOSIS exports) lack a default
        # style, and openpyxl warns about it on every load.
        warnings.simplefilter("ignore")
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        sheets = workbook.worksheets
        if len(sheets) > limits.max_pages:
            raise TooManyPages(limit=limits.max_pages)
        parts = [_sheet_text(sheet) for sheet in sheets]
    finally:
        workbook.close()
    return "\n\n".join(parts), max(1, len(sheets))


def _sheet_text(sheet: ReadOnlyWorksheet) -> str:
    # The declared dimension can claim a million rows and columns and openpyxl would pad every
    # row to it; without it, only cells that are really there are produced.
    sheet.reset_dimensions()
    lines = [sheet_marker(sheet.title)]
    rows = 0
    for values in sheet.iter_rows(values_only=True):
        row = table_row(_cell_text(value) for value in values)
        if not row:
            continue
        if rows == MAX_ROWS_PER_SHEET:
            lines.append(f"[… {MAX_ROWS_PER_SHEET}행 이후 생략]")
            break
        lines.append(row)
        rows += 1
    return "\n".join(lines)


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime):
        midnight = value.time() == datetime.time()
        return value.date().isoformat() if midnight else value.isoformat(sep=" ")
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return str(value)
