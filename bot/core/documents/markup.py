"""The light plain-text markup every extractor shares: table rows and whitespace clean-up."""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.core.places import PLACE_MARKER

CELL_SEPARATOR = " | "

# Controls other than tab and newline: PDF producers and HWP leave some behind, and they only
# confuse a tokenizer.
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f\ufffe\uffff]")
# A run of horizontal space (tabs excepted: they separate TSV cells).
_INNER_SPACES = re.compile(r"(?<=\S)[^\S\n\t]+")
_INDENTS = re.compile(r"^[^\S\n]+", re.MULTILINE)
_TRAILING_SPACES = re.compile(r"[^\S\n]+$", re.MULTILINE)
_BLANK_RUNS = re.compile(r"\n{3,}")
_ANY_WHITESPACE = re.compile(r"\s+")
# The lines that page_marker & co. write: structure, not content.
_MARKER_LINE = re.compile(rf"^(?:{PLACE_MARKER}|\[노트\])$", re.MULTILINE)
NOTES_MARKER = "[노트]"


def page_marker(number: int) -> str:
    return f"[p. {number}]"


def slide_marker(number: int) -> str:
    return f"[슬라이드 {number}]"


def sheet_marker(title: str) -> str:
    return f"[시트: {title}]"


def has_content(text: str) -> bool:
    """Whether anything but whitespace and structure markers is left."""
    return bool(_MARKER_LINE.sub("", text).strip())


def tidy(text: str, keep_indents: bool = False) -> str:
    """Collapse excessive whitespace but keep paragraph breaks (one blank line at most).
    Indentation is kept only when asked: it carries meaning in source code and plain-text lists,
    while in a PDF it is layout noise."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROLS.sub("", text)
    if not keep_indents:
        text = _INDENTS.sub("", text)
    text = _INNER_SPACES.sub(" ", text)
    text = _TRAILING_SPACES.sub("", text)
    return _BLANK_RUNS.sub("\n\n", text).strip("\n")


def _one_line(text: str) -> str:
    return _ANY_WHITESPACE.sub(" ", text).strip()


def table_row(cells: Iterable[str]) -> str:
    """One table row on one line; trailing empty cells dropped, "" for an empty row."""
    values = [_one_line(cell) for cell in cells]
    while values and not values[-1]:
        values.pop()
    return CELL_SEPARATOR.join(values)
