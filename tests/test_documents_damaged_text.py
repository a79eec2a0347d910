"""Text files that are not clean UTF-8 or CP949 are still read as a person would read them: a
few damaged bytes show as replacement characters, and Western European text keeps its accents."""

from __future__ import annotations

import pytest

from bot.core.documents import extract_sync
from bot.core.errors import UnsupportedDocument

NOTICE = "입찰 공고입니다. 제출 마감은 2025년 4월 11일 오후 3시이며, 서류는 전자로만 받습니다.\n" * 30


def test_utf8_with_a_few_bad_bytes_is_read_with_replacement_characters() -> None:
    data = bytearray(NOTICE.encode())
    for offset in (7, 400, 1200, 2000, 2900):  # five damaged bytes, inside Hangul syllables
        data[offset] = 0xFF
    document = extract_sync(bytes(data), "공고.txt")
    assert document.format == "text"
    assert "\ufffd" in document.text
    assert document.text.count("제출 마감은 2025년 4월 11일 오후 3시이며") >= 25


def test_latin1_text_keeps_its_accents() -> None:
    text = "A naïve café owner's résumé: crème brûlée, déjà vu, Zürich, señor.\n"
    assert extract_sync(text.encode("latin-1"), "notes.txt").text.strip() == text.strip()


def test_windows_1252_quotes_and_dashes_come_out_right() -> None:
    text = "“Smart quotes” – and a naïve dash — in Windows text…\n"
    assert "“Smart quotes” – and a naïve dash — in Windows text…" in extract_sync(text.encode("cp1252"), "w.txt").text


def test_cyrillic_in_its_code_page_is_not_taken_for_accented_latin() -> None:
    text = "Привет! Это обычный русский текст для проверки кодировки.\n" * 5
    assert "обычный русский текст" in extract_sync(text.encode("cp1251"), "ru.txt").text


def test_binary_noise_is_still_refused() -> None:
    noise = bytes((i * 151 + 7) % 256 for i in range(4096))
    with pytest.raises(UnsupportedDocument):
        extract_sync(noise, "noise.txt")
