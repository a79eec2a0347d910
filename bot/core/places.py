"""Where text came from in a document: the marker lines that extraction writes ([p. 3],
[슬라이드 2], [시트: 예산]), kept with every chunk of a long document, so that a chunk summarized
on its own still tells the model which page, slide or sheet it is reading. Kept apart from the
documents package, which loads every format library."""

from __future__ import annotations

import re

PLACE_MARKER = r"\[(?:p\. \d+|슬라이드 \d+|시트: [^\n]*)\]"
_PLACE_LINE = re.compile(rf"^{PLACE_MARKER}$", re.MULTILINE)


def carry_places(chunks: list[str]) -> list[str]:
    """Each chunk that does not start with a marker line headed by the last one before it."""
    carried: list[str] = []
    last: str | None = None
    for chunk in chunks:
        if last is not None and not _PLACE_LINE.match(chunk):
            chunk = f"{last}\n{chunk}"
        carried.append(chunk)
        markers = _PLACE_LINE.findall(chunk)
        last = markers[-1] if markers else last
    return carried
