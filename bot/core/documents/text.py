"""Text-like files: plain text, Markdown, CSV/TSV, JSON, source code, HTML (visible text only) and
XML such as RSS and Atom feeds (text nodes only).

Korean Windows tools write CP949 (EUC-KR's superset); others write UTF-8 with or without a BOM, or
UTF-16 with one or, rarely, without. UTF-8 with a few damaged bytes and Western European text (Latin-1, Windows-1252)
are read too."""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser
from xml.parsers import expat as xml_parser

import charset_normalizer

from bot.core.documents.markup import CELL_SEPARATOR
from bot.core.documents.model import ExtractionLimits
from bot.core.errors import CorruptDocument, UnsupportedDocument

_BOM_ENCODINGS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
_PLAIN_ENCODINGS = ("utf-8", "cp949")
# A strict decode can still succeed on binary data; real text has almost no C0 controls.
_NON_TEXT = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")
_MAX_NON_TEXT_SHARE = 0.01
# Damaged UTF-8: at most 2% replacement characters, and 4 good non-ASCII characters for each.
_MAX_DAMAGED_SHARE = 0.02
_MIN_VALID_PER_DAMAGED = 4
# Western text: accented letters at most 30% of the letters, 90% of non-ASCII Latin or typography.
_MAX_ACCENTED_SHARE = 0.3
_MIN_LATIN_SHARE = 0.9
_TYPOGRAPHY = set("\u00a0\u00ab\u00bb\u00b0\u00a7\u00a9\u00ae\u00b7\u2018\u2019\u201c\u201d\u2013\u2014\u2026\u2022\u20ac\u00a3")
_HTML_PROBE_CHARS = 4096
_TEXT_PROBE_BYTES = 8192
_MIN_UTF16_NULS = 4
_MAX_OTHER_SIDE_NULS = 0.2  # Hangul code units U+xx00 put a few on the other side
_MIN_PRINTABLE_SHARE = 0.98
_BOMS = tuple(bom for bom, _ in _BOM_ENCODINGS)
# XML (RSS, Atom, exports): a declaration or a root element first. XHTML is read as HTML.
_XML_START = re.compile(r"\s*<(?:\?xml\b|[A-Za-z_][\w.-]*(?::[\w.-]+)?[\s/>])")
_XHTML_ROOT = re.compile(r"<html\b", re.IGNORECASE)
_MARKUP = re.compile(r"</?[A-Za-z][^<>]*>")
_ANY_TAG = re.compile(r"<[^<>]*>")
_HTML_START = re.compile(r"\s*<(?:!doctype\s+html|html|head|body)\b", re.IGNORECASE)


def extract(data: bytes, limits: ExtractionLimits) -> tuple[str, int]:
    text = _decode(data)
    head = text[:_HTML_PROBE_CHARS]
    if _HTML_START.match(head) or (_XML_START.match(head) and _XHTML_ROOT.search(head)):
        text = _visible_html_text(text)
    elif _XML_START.match(head):
        text = _xml_text(text)
    return text, 1


def utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 text saved without a BOM (some Windows tools do): its NUL bytes (the high bytes of
    ASCII characters) all fall on one side of the code units, and it decodes cleanly into
    readable text. Binary data fails one of the three."""
    probe = data[:_TEXT_PROBE_BYTES]
    even = probe[0::2].count(0)
    odd = probe[1::2].count(0)
    if even + odd < _MIN_UTF16_NULS or min(even, odd) > (even + odd) * _MAX_OTHER_SIDE_NULS:
        return None
    encoding = "utf-16-le" if odd > even else "utf-16-be"
    try:
        text = data[: len(data) // 2 * 2].decode(encoding)
    except UnicodeDecodeError:
        return None
    printable = sum(1 for char in text if char.isprintable() or char in "\t\r\n")
    return text if "\0" not in text and printable >= len(text) * _MIN_PRINTABLE_SHARE else None


def _decode(data: bytes) -> str:
    if (text := utf16_without_bom(data)) is not None and not data.startswith(_BOMS):
        return text
    for encoding in _candidate_encodings(data):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _is_readable(text):
            return text.removeprefix("\ufeff")
    for lenient in (_mostly_utf8, _western):
        decoded = lenient(data)
        if decoded is not None and _is_readable(decoded):
            return decoded
    guess = charset_normalizer.from_bytes(data).best()
    if guess is not None and _is_readable(text := str(guess)):
        return text
    raise UnsupportedDocument("not text in any known encoding")


def _mostly_utf8(data: bytes) -> str | None:
    """UTF-8 with a few damaged bytes (a cut download, one bad edit): read, the damage shown as
    U+FFFD. Only when the valid multi-byte characters far outnumber the damage; Latin-1 text,
    whose accented letters are all invalid UTF-8, has none."""
    text = data.decode("utf-8", errors="replace").removeprefix("\ufeff")
    damaged = text.count("\ufffd")
    valid = sum(1 for char in text if ord(char) > 0x7F) - damaged
    if damaged <= len(text) * _MAX_DAMAGED_SHARE and valid >= damaged * _MIN_VALID_PER_DAMAGED:
        return text
    return None


def _western(data: bytes) -> str | None:
    """Latin-1 / Windows-1252 (Western European) text, which charset_normalizer tends to read as
    a Central European or Baltic code page ("naïve" as "naďve" or "naļve"). Accepted when its
    non-ASCII characters are a minority of the letters (as accents are in French or German,
    not as a whole Cyrillic or Greek text read in the wrong code page) and are Latin letters or
    typographic punctuation."""
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    extra = [char for char in text if ord(char) > 0x7F]
    letters = sum(1 for char in text if char.isalpha())
    if not extra or len(extra) > letters * _MAX_ACCENTED_SHARE:
        return None
    latin = sum(1 for char in extra if char in _TYPOGRAPHY or unicodedata.name(char, "").startswith("LATIN"))
    return text if latin >= len(extra) * _MIN_LATIN_SHARE else None


def _candidate_encodings(data: bytes) -> list[str]:
    for bom, encoding in _BOM_ENCODINGS:
        if data.startswith(bom):
            return [encoding, *_PLAIN_ENCODINGS]
    return list(_PLAIN_ENCODINGS)


def _is_readable(text: str) -> bool:
    return len(_NON_TEXT.findall(text)) <= len(text) * _MAX_NON_TEXT_SHARE


def _visible_html_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    return parser.text()


class _VisibleText(HTMLParser):
    """Collects what a browser would show: no scripts or styles, blocks on their own lines."""

    _HIDDEN = {"script", "style", "template", "noscript"}
    _PARAGRAPHS = {
        "article", "blockquote", "dl", "figure", "hr", "ol", "p", "pre", "section", "table",
        "title", "ul",
    }
    _LINES = {
        "address", "aside", "br", "dd", "div", "dt", "figcaption", "footer", "form", "header",
        "li", "main", "nav",
    }
    _HEADINGS = {f"h{level}": level for level in range(1, 7)}
    # Private separators while collecting: nested blocks must not add up to empty lines.
    _LINE, _PARAGRAPH = "\x1e", "\x1d"
    _BREAKS = re.compile(r"[\s\x1d\x1e]*[\x1d\x1e][\s\x1d\x1e]*")
    _SPACES = re.compile(r"\s+")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._parts: list[str] = []
        self._hidden_depth = 0
        self._cells_in_row = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden_depth += 1
        elif tag in self._HEADINGS:
            self._parts.append(self._PARAGRAPH + "#" * self._HEADINGS[tag] + " ")
        elif tag == "tr":
            self._parts.append(self._LINE)
            self._cells_in_row = 0
        elif tag in ("td", "th"):
            if self._cells_in_row:
                self._parts.append(CELL_SEPARATOR)
            self._cells_in_row += 1
        else:
            self._parts.append(self._break_for(tag))

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self._hidden_depth = max(0, self._hidden_depth - 1)
        else:
            self._parts.append(self._PARAGRAPH if tag in self._HEADINGS else self._break_for(tag))

    def handle_data(self, data: str) -> None:
        if not self._hidden_depth:
            self._parts.append(self._SPACES.sub(" ", data))

    def text(self) -> str:
        return self._BREAKS.sub(self._break_text, "".join(self._parts)).strip()

    def _break_for(self, tag: str) -> str:
        if tag in self._PARAGRAPHS:
            return self._PARAGRAPH
        return self._LINE if tag in self._LINES else ""

    def _break_text(self, match: re.Match[str]) -> str:
        return "\n\n" if self._PARAGRAPH in match.group() else "\n"


def _xml_text(xml: str) -> str:
    """The text of an XML file: every text node (CDATA included) on its own line, attributes and
    tags dropped; text that is itself HTML (an RSS description) loses its markup too. Entity
    declarations are refused, never expanded; a file that is not well-formed keeps its text with
    the tags cut out."""
    chunks: list[str] = []
    parser = xml_parser.ParserCreate()

    def refuse(*_: object) -> None:
        raise CorruptDocument("XML file declares entities")

    parser.EntityDeclHandler = refuse
    parser.CharacterDataHandler = chunks.append
    parser.StartElementHandler = parser.EndElementHandler = lambda *_: chunks.append("\n")
    try:
        parser.Parse(xml, True)
    except xml_parser.ExpatError:
        return _ANY_TAG.sub("\n", xml)
    lines = "".join(chunks).split("\n")
    return "\n".join(_visible_html_text(line) if _MARKUP.search(line) else line for line in lines)
