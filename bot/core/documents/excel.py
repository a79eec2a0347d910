"""XLSX (Excel): each sheet as `[시트: name]`, then one line per non-empty row, cells separated by
` | `. Values are the ones Excel cached for formulas."""

from __future__ import annotations

import io
import warnings
from typing import TYPE_CHECKING

import openpyxl

from bot.core.documents.archive import SafeZip
from bot.core.documents.model import ExtractionLimits
from bot.core.documents.sheets import sheet_text
from bot.core.errors import TooManyPages

if TYPE_CHECKING:  # openpyxl keeps the read-only sheet's class in a private module
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet


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
    return sheet_text(sheet.title, sheet.iter_rows(values_only=True))
