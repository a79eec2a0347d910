"""Which format a file really is, decided by its bytes; the file name is only a hint for the
error when the bytes are not a document at all (extensions lie: a JPEG named .pdf exists)."""

from __future__ import annotations

import io
import zipfile
from pathlib import PurePath

import olefile

from bot.core.documents.hwpml import ROOT_START as HWPML_ROOT
from bot.core.documents.image import is_picture
from bot.core.documents.opendocument import MIMETYPES as OPENDOCUMENT_MIMETYPES
from bot.core.documents.text import utf16_without_bom
from bot.core.errors import CorruptDocument, EncryptedDocument, UnsupportedDocument

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
_PDF_MAGIC = b"%PDF-"
HWP3_MAGIC = b"HWP Document File V3"
# Which stream makes an OLE compound file which document, in order (MS-DOC, MS-XLS, MS-PPT,
# Hancom's HWP 5.0 specification). BIFF5 workbooks call their stream "Book".
_OLE_MARKERS = (
    ("WordDocument", "doc"),
    ("Workbook", "xls"),
    ("Book", "xls"),
    ("PowerPoint Document", "ppt"),
    ("FileHeader", "hwp"),
)
# A password-protected DOCX/XLSX/PPTX is an OLE file holding the encrypted package (MS-OFFCRYPTO).
_ENCRYPTED_PACKAGE = ("EncryptionInfo", "EncryptedPackage")
# The PDF header may follow some junk, within the first kilobyte (PDF 32000 §7.5.2, note).
_PDF_HEADER_WINDOW = 1024
_TEXT_PROBE_BYTES = 8192
_TEXT_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_HWPX_MIMETYPE = b"application/hwp+zip"
_MIMETYPE_PROBE_BYTES = 64
# The first member that decides a ZIP package's format, in order.
_ZIP_MARKERS = (
    ("word/document.xml", "docx"),
    ("ppt/presentation.xml", "pptx"),
    ("xl/workbook.xml", "xlsx"),
    ("Contents/section0.xml", "hwpx"),
)
# Names that promise a binary document: when the bytes are something else entirely, the file is
# broken or mislabelled, which is a different message from "we don't read this kind of file".
_DOCUMENT_SUFFIXES = {
    ".pdf", ".hwp", ".hwpx", ".docx", ".pptx", ".xlsx", ".doc", ".xls", ".ppt", ".odt", ".ods",
    ".odp",
}


def sniff(data: bytes, filename: str) -> str:
    """The format name of `data`: "pdf", "hwp", "hwp3", "hwpx", "doc", "xls", "ppt", "docx",
    "pptx", "xlsx", "odt", "ods", "odp", "hml" (HWPML), "image" or "text"."""
    if _PDF_MAGIC in data[:_PDF_HEADER_WINDOW]:
        return "pdf"
    if data.startswith(OLE_MAGIC):
        return _ole_format(data)
    if data.startswith(HWP3_MAGIC):
        return "hwp3"
    if is_picture(data):
        return "image"
    if HWPML_ROOT.match(data[:_TEXT_PROBE_BYTES]):
        return "hml"
    if data.startswith(ZIP_MAGIC):
        return _zip_format(data)
    if _looks_binary(data):
        if PurePath(filename).suffix.lower() in _DOCUMENT_SUFFIXES:
            raise CorruptDocument(f"{filename!r} is not a valid file of its kind")
        raise UnsupportedDocument("binary file of an unknown kind")
    return "text"


def _ole_format(data: bytes) -> str:
    try:
        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            present = {path[0] for path in ole.listdir(streams=True, storages=True)}
    except OSError as error:  # olefile reports a damaged header or directory this way
        raise CorruptDocument(f"not a valid OLE compound file: {error}") from error
    for marker, kind in _OLE_MARKERS:
        if marker in present:
            return kind
    if all(name in present for name in _ENCRYPTED_PACKAGE):
        raise EncryptedDocument("password-protected Office Open XML package")
    raise UnsupportedDocument("OLE compound file that is not a document we read")


def _zip_format(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            for marker, kind in _ZIP_MARKERS:
                if marker in names:
                    return kind
            if "mimetype" in names:
                with archive.open("mimetype") as member:
                    mimetype = member.read(_MIMETYPE_PROBE_BYTES).strip()
                if mimetype == _HWPX_MIMETYPE:
                    return "hwpx"
                if (kind := OPENDOCUMENT_MIMETYPES.get(mimetype.decode("ascii", "replace"))) is not None:
                    return kind
    except zipfile.BadZipFile as error:
        raise CorruptDocument(f"not a valid ZIP package: {error}") from error
    raise UnsupportedDocument("ZIP archive that is not an office document")


def _looks_binary(data: bytes) -> bool:
    """NUL bytes do not occur in text, except in UTF-16/32, which usually announces itself with a
    BOM and otherwise shows it by where its NULs fall."""
    if data.startswith(_TEXT_BOMS) or b"\x00" not in data[:_TEXT_PROBE_BYTES]:
        return False
    return utf16_without_bom(data) is None
