"""PowerPoint 97-2003 (.ppt): the text of each slide and its notes, from the records of the
"PowerPoint Document" stream.

The "Current User" stream points at the last UserEditAtom; the chain of edits gives the persist
directory (object id -> stream offset), through which the DocumentContainer and each slide are
found, in the order its SlideListWithText lists them. A slide's text sits either in that list
(after the slide's SlidePersistAtom) or, as PowerPoint 2007 and later write it, only in text atoms
inside the slide's own drawing (OfficeArt ClientTextbox records): both are read. Masters are not:
their text repeats on every slide.

Format reference: Microsoft, [MS-PPT] PowerPoint (.ppt) Binary File Format, §2.1.2 (reading a
presentation), §2.3 (persist objects), §2.4.14 (SlideListWithText), §2.9 (text atoms)."""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from dataclasses import dataclass

import olefile

from bot.core.documents.markup import NOTES_MARKER, slide_marker
from bot.core.documents.model import ExtractionLimits
from bot.core.errors import CorruptDocument, EncryptedDocument, TooManyPages

_DOCUMENT_STREAM, _CURRENT_USER_STREAM = "PowerPoint Document", "Current User"
_PLAIN_TOKEN, _ENCRYPTED_TOKEN = 0xE391C05F, 0xF3D1C4DF
_CONTAINER_VERSION = 0xF
_HEADER = struct.Struct("<HHI")  # recVer (4 bits) + recInstance (12), recType, recLen

_DOCUMENT, _SLIDE, _SLIDE_ATOM, _NOTES = 0x03E8, 0x03EE, 0x03EF, 0x03F0
_MAIN_MASTER = 0x03F8
_SLIDE_LIST, _SLIDE_PERSIST = 0x0FF0, 0x03F3
_TEXT_CHARS, _TEXT_BYTES = 0x0FA0, 0x0FA8
_USER_EDIT, _PERSIST_DIRECTORY = 0x0FF5, 0x1772
_SLIDES_INSTANCE = 0
_NOTES_ID_OFFSET = 16  # SlideAtom: geom, rgPlaceholderTypes[8], masterIdRef, notesIdRef
_USER_EDIT_PLAIN_SIZE = 0x1C  # one more UINT32 (encryptSessionPersistIdRef) when encrypted
_MAX_DEPTH = 32
_MAX_EDITS = 10_000
# Paragraphs end with CR; a vertical tab is a line break inside one.
_TRANSLATE = str.maketrans({"\r": "\n", "\x0b": "\n"})

_UINT32 = struct.Struct("<I")


@dataclass(frozen=True)
class _Record:
    type: int
    instance: int
    container: bool
    start: int  # payload offset
    end: int


def extract(data: bytes, limits: ExtractionLimits) -> tuple[str, int]:
    with olefile.OleFileIO(io.BytesIO(data)) as ole:
        if not ole.exists(_CURRENT_USER_STREAM):
            raise CorruptDocument("PowerPoint file without a Current User stream")
        current_user = ole.openstream(_CURRENT_USER_STREAM).read()
        stream = ole.openstream(_DOCUMENT_STREAM).read()
    presentation = _Presentation(stream, _current_edit(current_user))
    slides = presentation.slides()
    if len(slides) > limits.max_pages:
        raise TooManyPages(limit=limits.max_pages)
    parts = [presentation.slide_text(number, slide) for number, slide in enumerate(slides, start=1)]
    return "\n\n".join(parts), max(1, len(slides))


def _current_edit(current_user: bytes) -> int:
    if len(current_user) < 16:
        raise CorruptDocument("Current User stream too short")
    token, offset = struct.unpack_from("<II", current_user, 12)
    if token == _ENCRYPTED_TOKEN:
        raise EncryptedDocument()
    if token != _PLAIN_TOKEN:
        raise CorruptDocument(f"unknown Current User token {token:#x}")
    return offset


def _record_at(stream: bytes, offset: int) -> _Record:
    if offset < 0 or offset + _HEADER.size > len(stream):
        raise CorruptDocument(f"record offset {offset} outside the stream")
    version_instance, kind, length = _HEADER.unpack_from(stream, offset)
    start = offset + _HEADER.size
    end = min(start + length, len(stream))
    return _Record(kind, version_instance >> 4, version_instance & 0xF == _CONTAINER_VERSION, start, end)


def _children(stream: bytes, record: _Record) -> Iterator[_Record]:
    position = record.start
    while position + _HEADER.size <= record.end:
        child = _record_at(stream, position)
        yield child
        position = child.end


@dataclass(frozen=True)
class _SlideRef:
    persist_id: int
    listed_text: tuple[str, ...]  # text atoms of the SlideListWithText for this slide


class _Presentation:
    def __init__(self, stream: bytes, current_edit: int) -> None:
        self._stream = stream
        self._offsets, document_id = _persist_directory(stream, current_edit)
        self._document = self._object(document_id, _DOCUMENT)

    def slides(self) -> list[_SlideRef]:
        slides: list[_SlideRef] = []
        for child in _children(self._stream, self._document):
            if child.type != _SLIDE_LIST or child.instance != _SLIDES_INSTANCE:
                continue
            persist_id, texts = None, []
            for item in _children(self._stream, child):
                if item.type == _SLIDE_PERSIST:
                    if persist_id is not None:
                        slides.append(_SlideRef(persist_id, tuple(texts)))
                    persist_id, texts = _UINT32.unpack_from(self._stream, item.start)[0], []
                elif (text := _atom_text(self._stream, item)) is not None:
                    texts.append(text)
            if persist_id is not None:
                slides.append(_SlideRef(persist_id, tuple(texts)))
        return slides

    def slide_text(self, number: int, slide: _SlideRef) -> str:
        lines = [slide_marker(number)]
        container = self._object(slide.persist_id, _SLIDE, required=False)
        texts = list(slide.listed_text)
        notes: list[str] = []
        if container is not None:
            texts.extend(text for text in self._texts(container) if text not in texts)
            notes_container = self._notes_of(container)
            if notes_container is not None:
                notes = list(self._texts(notes_container))
        lines.extend(text.translate(_TRANSLATE) for text in texts if text.strip())
        if any(text.strip() for text in notes):
            lines.append(NOTES_MARKER)
            lines.extend(text.translate(_TRANSLATE) for text in notes if text.strip())
        return "\n".join(lines)

    def _object(self, persist_id: int, kind: int, required: bool = True) -> _Record | None:
        offset = self._offsets.get(persist_id)
        record = _record_at(self._stream, offset) if offset is not None else None
        if record is None or record.type != kind:
            if required:
                raise CorruptDocument(f"persist object {persist_id} is not a {kind:#x} record")
            return None
        return record

    def _notes_of(self, slide: _Record) -> _Record | None:
        for child in _children(self._stream, slide):
            if child.type == _SLIDE_ATOM and child.end - child.start >= _NOTES_ID_OFFSET + 4:
                (notes_id,) = _UINT32.unpack_from(self._stream, child.start + _NOTES_ID_OFFSET)
                return self._object(notes_id, _NOTES, required=False) if notes_id else None
        return None

    def _texts(self, record: _Record, depth: int = 0) -> Iterator[str]:
        """Every text atom inside `record`, in stream order (drawings, text boxes, groups)."""
        if depth > _MAX_DEPTH:
            raise CorruptDocument("records nested too deeply")
        for child in _children(self._stream, record):
            if child.container:
                yield from self._texts(child, depth + 1)
            elif (text := _atom_text(self._stream, child)) is not None:
                yield text


def _atom_text(stream: bytes, record: _Record) -> str | None:
    payload = stream[record.start : record.end]
    if record.type == _TEXT_CHARS:
        return payload.decode("utf-16-le", errors="replace")
    if record.type == _TEXT_BYTES:  # the low bytes of UTF-16 code units: Latin-1
        return payload.decode("latin-1")
    return None


def _persist_directory(stream: bytes, current_edit: int) -> tuple[dict[int, int], int]:
    """Object id -> offset, newest edit first (an id saved again later wins), and the id of the
    DocumentContainer that the newest edit names."""
    offsets: dict[int, int] = {}
    document_id = None
    seen: set[int] = set()
    edit = current_edit
    while edit and edit not in seen and len(seen) < _MAX_EDITS:
        seen.add(edit)
        record = _record_at(stream, edit)
        if record.type != _USER_EDIT or record.end - record.start < _USER_EDIT_PLAIN_SIZE:
            raise CorruptDocument(f"no UserEditAtom at {edit}")
        if record.end - record.start > _USER_EDIT_PLAIN_SIZE:
            raise EncryptedDocument()
        last_edit, directory, doc_id = struct.unpack_from("<III", stream, record.start + 8)
        if document_id is None:
            document_id = doc_id
        for persist_id, offset in _directory_entries(stream, _record_at(stream, directory)):
            offsets.setdefault(persist_id, offset)
        edit = last_edit
    if document_id is None:
        raise CorruptDocument("no document in the persist directory")
    return offsets, document_id


def _directory_entries(stream: bytes, record: _Record) -> Iterator[tuple[int, int]]:
    if record.type != _PERSIST_DIRECTORY:
        raise CorruptDocument("no PersistDirectoryAtom where the edit says")
    position = record.start
    while position + 4 <= record.end:
        (entry,) = _UINT32.unpack_from(stream, position)
        first, count = entry & 0xFFFFF, entry >> 20
        position += 4
        for index in range(count):
            if position + 4 > record.end:
                return
            yield first + index, _UINT32.unpack_from(stream, position)[0]
            position += 4
