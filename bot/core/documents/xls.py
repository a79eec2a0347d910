"""Excel 97-2003 (.xls, BIFF8 and BIFF5) through xlrd, rendered as XLSX sheets are. Only the cell
values are read (formatting_info off), so the thousands of merged ranges exporters write cost
nothing; numbers stored as text stay text."""

from __future__ import annotations

from collections.abc import Iterator

import xlrd
from xlrd.sheet import Sheet

from bot.core.documents.model import ExtractionLimits
from bot.core.documents.sheets import sheet_text
from bot.core.errors import EncryptedDocument, TooManyPages

# xlrd says so in its XLRDError message (xlrd/book.py, handle_filepass): a FILEPASS record.
_ENCRYPTED_MESSAGE = "Workbook is encrypted"


def extract(data: bytes, limits: ExtractionLimits) -> tuple[str, int]:
    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True, logfile=_Discard())
    except xlrd.XLRDError as error:
        if _ENCRYPTED_MESSAGE in str(error):
            raise EncryptedDocument() from error
        raise
    try:
        if book.nsheets > limits.max_pages:
            raise TooManyPages(limit=limits.max_pages)
        parts = []
        for index in range(book.nsheets):
            sheet = book.sheet_by_index(index)
            parts.append(sheet_text(sheet.name, _rows(sheet, book.datemode)))
            book.unload_sheet(index)
    finally:
        book.release_resources()
    return "\n\n".join(parts), max(1, book.nsheets)


def _rows(sheet: Sheet, datemode: int) -> Iterator[list[object]]:
    for row in sheet.get_rows():
        yield [_value(cell, datemode) for cell in row]


def _value(cell: xlrd.sheet.Cell, datemode: int) -> object:
    if cell.ctype == xlrd.XL_CELL_DATE:
        try:
            return xlrd.xldate_as_datetime(cell.value, datemode)
        except (xlrd.xldate.XLDateError, OverflowError, ValueError):
            return cell.value
    if cell.ctype == xlrd.XL_CELL_ERROR:
        return xlrd.error_text_from_code.get(cell.value, "")
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return "TRUE" if cell.value else "FALSE"
    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
        return None
    return cell.value


class _Discard:
    """xlrd writes warnings about odd but readable files to a log file; users need none of it."""

    def write(self, _text: str) -> None:
        pass
