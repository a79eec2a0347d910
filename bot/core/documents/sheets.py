"""How every spreadsheet format renders a sheet: `[시트: name]`, then one line per non-empty row,
cells separated by ` | ` (XLSX, XLS and OpenDocument spreadsheets alike)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from bot.core.documents.markup import sheet_marker, table_row

# A sheet longer than this is a data table, not something to read; the rest is cut with a note
# rather than burying the other sheets under it.
MAX_ROWS_PER_SHEET = 20_000


def sheet_text(title: str, rows: Iterable[Iterable[object]]) -> str:
    lines = [sheet_marker(title)]
    count = 0
    for values in rows:
        row = table_row(cell_text(value) for value in values)
        if not row:
            continue
        if count == MAX_ROWS_PER_SHEET:
            lines.append(f"[… {MAX_ROWS_PER_SHEET}행 이후 생략]")
            break
        lines.append(row)
        count += 1
    return "\n".join(lines)


def cell_text(value: object) -> str:
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
