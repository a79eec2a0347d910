"""HWP 3.0 (Hangul 97 and older): not read. The file is recognised, so that its user hears which
old format it is and how to get a readable one, and a password-protected one says password.

Layout (Hancom, "한글 3.0 파일 구조"): a 30-byte signature, then the 128-byte document
information, whose UINT16 at offset 96 is non-zero when the document is encrypted."""

from __future__ import annotations

import struct

from bot.core.documents.model import ExtractionLimits
from bot.core.errors import CorruptDocument, EncryptedDocument, OldFormatDocument

_SIGNATURE_SIZE = 30
_ENCRYPTED_OFFSET = _SIGNATURE_SIZE + 96
FORMAT_NAME = "한글 3.0(HWP 3)"
SAVE_AS = "HWP 또는 HWPX"


def extract(data: bytes, limits: ExtractionLimits) -> tuple[str, int]:
    if len(data) < _ENCRYPTED_OFFSET + 2:
        raise CorruptDocument("HWP 3.0 file shorter than its header")
    (encrypted,) = struct.unpack_from("<H", data, _ENCRYPTED_OFFSET)
    if encrypted:
        raise EncryptedDocument()
    raise OldFormatDocument("HWP 3.0 document", format=FORMAT_NAME, save_as=SAVE_AS)
