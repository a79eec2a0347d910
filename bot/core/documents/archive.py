"""ZIP packages (DOCX, PPTX, XLSX, HWPX) opened defensively: a zip bomb is refused from the
central directory before anything is inflated, members are read with a byte budget, and XML is
never allowed a DTD, so entity expansion ("billion laughs") and external entities cannot start.

A DTD can only stand in the prolog, so an expat pass that stops at the root element is enough to
refuse one; after it the fast C parser is safe (defusedxml's tree builder runs in Python and is
half as fast)."""

from __future__ import annotations

import io
import xml.parsers.expat
import zipfile
from typing import IO
from xml.etree import ElementTree

from bot.core.documents.model import MIB, ExtractionLimits
from bot.core.errors import CorruptDocument, EncryptedDocument

# Below this size a member cannot hurt however well it compresses (tiny XML parts of
# repeated empty elements legitimately exceed any ratio).
_RATIO_EXEMPT_BYTES = MIB
_XML_SUFFIXES = (".xml", ".rels")
_PROLOG_CHUNK = 64 * 1024
_ZIP_ENCRYPTED_FLAG = 0x1


class _RootReached(Exception):
    """Stops the prolog scan: a DTD can only come before the root element."""


class SafeZip:
    def __init__(self, data: bytes, limits: ExtractionLimits) -> None:
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile as error:
            raise CorruptDocument(f"not a valid ZIP package: {error}") from error
        self._limits = limits
        self._budget = limits.max_uncompressed_bytes
        self._check_declared_sizes()

    @property
    def names(self) -> list[str]:
        return self._zip.namelist()

    def read(self, name: str) -> bytes:
        """A member's bytes; the budget counts what is really inflated, not what is declared."""
        with self._zip.open(name) as member:
            data = member.read(self._budget + 1)
        self._budget -= len(data)
        if self._budget < 0:
            raise self._limits.too_large()
        return data

    def parse_xml(self, name: str) -> ElementTree.Element:
        data = self.read(name)
        reject_dtd(io.BytesIO(data))
        return ElementTree.fromstring(data)

    def reject_xml_dtds(self) -> None:
        """Check every XML part's prolog, for formats whose parsing a library does itself. OPC
        forbids DTDs in a package, so any DTD is an attack or damage."""
        for name in self.names:
            if name.lower().endswith(_XML_SUFFIXES):
                with self._zip.open(name) as member:
                    reject_dtd(member)

    def _check_declared_sizes(self) -> None:
        total = 0
        for info in self._zip.infolist():
            if info.flag_bits & _ZIP_ENCRYPTED_FLAG:
                raise EncryptedDocument("encrypted ZIP member")
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > _RATIO_EXEMPT_BYTES and ratio > self._limits.max_compression_ratio:
                raise CorruptDocument(f"zip bomb: {info.filename} inflates {ratio:.0f}x")
            total += info.file_size
        if total > self._limits.max_uncompressed_bytes:
            raise self._limits.too_large()


def reject_dtd(stream: IO[bytes]) -> None:
    def refuse(*_: object) -> None:
        raise CorruptDocument("XML part declares a DTD")

    def stop(*_: object) -> None:
        raise _RootReached

    parser = xml.parsers.expat.ParserCreate()
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.StartElementHandler = stop
    try:
        while chunk := stream.read(_PROLOG_CHUNK):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except (_RootReached, xml.parsers.expat.ExpatError):
        # Malformed XML is left to the parser that really reads the part (if any does).
        return
