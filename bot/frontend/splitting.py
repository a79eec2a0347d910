"""Cutting a long text into messages a platform accepts, never inside a word, a character or a
code fence's marker, with cut code blocks closed and reopened."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator

from bot.frontend.markdown import CLOSE, FENCE, fence_info, open_fence, seal

Measure = Callable[[str], int]


def utf8_len(text: str) -> int:
    """Length in UTF-8 bytes: the safe reading of Slack's limits, where a Hangul syllable costs 3."""
    return len(text.encode("utf-8", "surrogatepass"))


_BREAKS = (  # best first; each match is whitespace that may be dropped at the cut
    re.compile(r"\n(?:[ \t]*\n)+"),  # paragraph
    re.compile(r"\n"),  # line
    re.compile(r"(?:(?<=[.!?…])|(?<=[.!?…][\"'”’)\]]))[ \t]+"),  # sentence end: '다.', '요.', '?', '!'
    re.compile(r"[ \t]+"),  # between words
)
_ANY_BREAK = re.compile(r"\n|[ \t]+")  # never \s+: indentation after a line break is content


def split_message(text: str, limit: int, measure: Measure = len) -> list[str]:
    """Cut `text` into messages each at most `limit` long as counted by `measure`.

    Cuts fall at paragraph breaks, else line breaks, else sentence ends, else spaces, and only
    inside a word (never inside a character) when the window has no whitespace at all. A cut
    inside a fenced code block closes it in one part and reopens it, same language, in the next;
    a block left open at the end (a model stopped mid-code) is closed. Whitespace at the cuts is
    dropped; no part is empty. Every part is filled as far as a good cut allows, except that a
    last part shorter than `stub_share` of a message is evened out with the one before it, so
    that an answer never ends in a few stray characters. Raises ValueError if `limit` cannot
    hold even one character plus the fences."""
    cuts = list(_cuts(text, limit, measure))
    parts = [part for part, _ in cuts]
    if len(parts) > 1 and is_stub(parts[-1], limit, measure):
        parts[-2:] = halves(cuts[-2][1], limit, measure)
    return parts


STUB_SHARE = 0.25  # a last message shorter than this share of the limit looks like a stray end


def is_stub(part: str, limit: int, measure: Measure) -> bool:
    return measure(part) < limit * STUB_SHARE


def halves(text: str, limit: int, measure: Measure) -> list[str]:
    """`text`, which two parts of `limit` hold, in two parts as even as its cut points allow:
    the smallest limit that still holds it in two, found by bisection."""
    best, low, high = _parts(text, limit, measure), limit // 2, limit
    while low < high:
        middle = (low + high) // 2
        try:
            parts = _parts(text, middle, measure)
        except ValueError:  # too small for the fences: so is every smaller one
            low = middle + 1
            continue
        if len(parts) <= 2:
            best, high = parts, middle
        else:
            low = middle + 1
    return best


def _parts(text: str, limit: int, measure: Measure) -> list[str]:
    return [part for part, _ in _cuts(text, limit, measure)]


def _cuts(text: str, limit: int, measure: Measure) -> Iterator[tuple[str, str]]:
    """Each part filled as far as a good cut allows, with the text it was cut from."""
    rest = text.strip()
    while rest:
        whole = rest
        part, rest = cut(rest, limit, measure)
        yield part, whole


def cut(text: str, limit: int, measure: Measure) -> tuple[str, str]:
    """The first message's worth of `text`, sealed, and the rest, itself valid Markdown."""
    whole = seal(text)
    if measure(whole) <= limit:
        return whole, ""
    window, half = _window(text, limit, measure), _window(text, limit // 2, measure)
    for start, end in _cut_points(text, window, half):
        part, rest = _split_at(text, start, end)
        # checked again: `measure` may include a formatter, which need not grow with its input
        if part and measure(part) <= limit:
            return part, rest
    raise ValueError(f"a limit of {limit} leaves no room for text")


def _window(text: str, limit: int, measure: Measure) -> int:
    """How many leading characters fit, keeping room for a closing fence if code is involved."""
    reserve = CLOSE if FENCE in text else ""
    low, high = 0, len(text)
    while low < high:
        mid = (low + high + 1) // 2
        if measure(text[:mid] + reserve) <= limit:
            low = mid
        else:
            high = mid - 1
    return low


def _cut_points(text: str, n: int, half: int) -> Iterator[tuple[int, int]]:
    """Candidate cuts within the first `n` characters, best first, as (start, end) of the gap."""
    window = text[: n + 1]  # whitespace just past the window still ends a part that fits
    for pattern in _BREAKS:
        # a strong break in the first `half` would waste most of a message: a later, weaker one wins
        yield from _gaps(pattern, window, half)
    yield from _gaps(_ANY_BREAK, window, 1)
    yield from ((i, i) for i in range(n, 0, -1) if not _inside_cluster(text, i))
    yield n, n  # nothing but combining marks: splitting one beats failing


def _gaps(pattern: re.Pattern[str], window: str, floor: int) -> Iterable[tuple[int, int]]:
    return reversed([m.span() for m in pattern.finditer(window) if m.start() >= max(floor, 1)])


def _inside_cluster(text: str, i: int) -> bool:
    """True if a cut before text[i] would split what a reader sees as one character."""
    if i >= len(text):
        return False
    before, char = text[i - 1], text[i]
    return (
        unicodedata.category(char) in ("Mn", "Mc", "Me")  # accents, variation selectors
        or "\u1160" <= char <= "\u11ff"  # decomposed Hangul: vowel and final jamo join the syllable
        or "\ud7b0" <= char <= "\ud7ff"
        or "\U0001f3fb" <= char <= "\U0001f3ff"  # emoji skin tones
        or "\u200d" in (before, char)  # zero-width-joiner sequences
        or (before, char) in (("\r", "\n"), ("`", "`"))  # a fence marker cut in two is no fence
    )


def _split_at(text: str, start: int, end: int) -> tuple[str, str]:
    """Cut out the gap text[start:end]; ("", "") when the first part would be unusable."""
    head, rest = text[:start].strip(), text[end:]
    opener = open_fence(head)
    if opener is None:
        return head, rest.lstrip()
    if fence_info(head.rsplit("\n", 1)[-1]) is not None:
        return "", ""  # the part would end with an empty code block
    rest = rest.lstrip("\n")  # not lstrip(): code indentation is content
    first_line, _, after = rest.partition("\n")
    if fence_info(first_line) == "":
        return head + CLOSE, after.lstrip()  # the block ends right here: move its fence up
    return head + CLOSE, f"{opener}\n{rest}" if rest.strip() else ""
