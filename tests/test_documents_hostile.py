"""Files built to hurt: zip bombs, entity expansion, garbage behind real magic bytes, page-tree
bombs, decompression bombs, hangs. Each must end quickly in its own clear error, with memory
bounded, and leave the extraction pool usable."""

from __future__ import annotations

import asyncio
import random
import resource
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.documents import ExtractedDocument, ExtractionLimits, ExtractionPool, extract_sync
from bot.core.documents.sniff import OLE_MAGIC
from bot.core.errors import (
    CorruptDocument,
    DocumentError,
    DocumentTooLarge,
    ExtractionTimeout,
    TooManyPages,
)
from fakes import documents

MIB = 1024 * 1024
QUICK_SECONDS = 5.0


@contextmanager
def bounded(seconds: float = QUICK_SECONDS, memory_mib: int = 200) -> Iterator[None]:
    """The block must finish in `seconds` and raise this process's peak RSS by < `memory_mib`."""
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    started = time.perf_counter()
    yield
    assert time.perf_counter() - started < seconds
    growth_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    assert growth_mib < memory_mib


def random_bytes(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


# --- ZIP packages ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("package", "name"),
    [(documents.docx_bytes, "bomb.docx"), (documents.xlsx_bytes, "bomb.xlsx"),
     (documents.sample_hwpx, "bomb.hwpx")],
)
def test_zip_bomb_is_refused_before_inflating(package: Callable[[], bytes], name: str) -> None:
    bomb = documents.add_zeros_member(package(), "media/zeros.bin", 64 * MIB)
    assert len(bomb) < MIB
    with bounded(), pytest.raises(CorruptDocument, match="zip bomb"):
        extract_sync(bomb, name)


def test_package_inflating_past_the_budget_is_too_large() -> None:
    package = documents.add_zeros_member(documents.xlsx_bytes(), "media/zeros.bin", 3 * MIB)
    limits = ExtractionLimits(max_uncompressed_bytes=2 * MIB, max_compression_ratio=10_000)
    with bounded(), pytest.raises(DocumentTooLarge):
        extract_sync(package, "big.xlsx", limits)


def test_understated_member_sizes_do_not_inflate_past_them() -> None:
    package = documents.add_zeros_member(documents.docx_bytes(), "z.bin", 32 * MIB)
    lying = documents.understate_sizes(package, 64)
    with bounded(), pytest.raises(CorruptDocument):
        extract_sync(lying, "lying.docx")


@pytest.mark.parametrize(
    ("package", "member", "root"),
    [(documents.docx_bytes, "word/document.xml", "w:document"),
     (documents.pptx_bytes, "ppt/slides/slide1.xml", "p:sld"),
     (documents.xlsx_bytes, "xl/sharedStrings.xml", "sst"),
     (documents.sample_hwpx, "Contents/section0.xml", "hs:sec")],
    ids=["docx", "pptx", "xlsx", "hwpx"],
)
def test_billion_laughs_is_corrupt_at_once(
    package: Callable[[], bytes], member: str, root: str
) -> None:
    hostile = documents.replace_member(package(), member, documents.billion_laughs(root))
    with bounded(seconds=2.0), pytest.raises(CorruptDocument):
        extract_sync(hostile, "laughs")


# --- binary formats (in an extraction process: C parsers may crash on garbage) ---------------------


@pytest.mark.parametrize(
    ("data", "name"),
    [(b"%PDF-1.7\n" + random_bytes(MIB, seed=1), "random.pdf"),
     (OLE_MAGIC + random_bytes(MIB, seed=2), "random.hwp"),
     (documents.hwp_bytes([random_bytes(64 * 1024, seed=3)], flags=0)[:3000], "truncated.hwp")],
    ids=["pdf-header", "ole-header", "truncated-ole"],
)
async def test_garbage_behind_magic_bytes_is_corrupt(
    data: bytes, name: str, extraction_pool: ExtractionPool
) -> None:
    with bounded(), pytest.raises(CorruptDocument):
        await extraction_pool.extract(data, name)


def test_hwp_with_garbage_compressed_body_is_corrupt() -> None:
    garbage = documents.ole_file([
        ("Root Entry", None, None),
        ("FileHeader", b"HWP Document File".ljust(36, b"\0") + b"\x01\0\0\0", None),
        ("BodyText", None, None), ("Section0", random_bytes(20_000, seed=4), 2),
    ])
    with bounded(), pytest.raises(CorruptDocument):
        extract_sync(garbage, "garbage.hwp")


def test_hwp_decompression_bomb_stops_at_the_budget() -> None:
    bomb = documents.hwp_inflating_to(64 * MIB)
    with bounded(memory_mib=100), pytest.raises(DocumentTooLarge):
        extract_sync(bomb, "bomb.hwp", ExtractionLimits(max_uncompressed_bytes=16 * MIB))


async def test_five_thousand_page_pdf_is_refused_fast(extraction_pool: ExtractionPool) -> None:
    huge = documents.blank_pdf(5000)
    with bounded(seconds=2.0), pytest.raises(TooManyPages):
        await extraction_pool.extract(huge, "huge.pdf")


# --- time and memory limits of the extraction process --------------------------------------------------


@pytest.fixture(scope="module")
def slow_hwp() -> bytes:
    """70 KB that inflate to 64 MiB of zeros, i.e. 16 million empty records: seconds of CPU."""
    return documents.hwp_inflating_to(64 * MIB)


async def test_timeout_kills_the_process_and_the_next_document_works(
    slow_hwp: bytes, extraction_pool: ExtractionPool
) -> None:
    with bounded(seconds=1.5), pytest.raises(ExtractionTimeout):
        await extraction_pool.extract(slow_hwp, "slow.hwp", ExtractionLimits(timeout_seconds=0.5))
    document = await extraction_pool.extract(documents.sample_hwp(), "next.hwp")
    assert document.format == "hwp"


async def test_extraction_does_not_block_the_event_loop(
    slow_hwp: bytes, extraction_pool: ExtractionPool
) -> None:
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    with pytest.raises(ExtractionTimeout):
        await extraction_pool.extract(slow_hwp, "slow.hwp", ExtractionLimits(timeout_seconds=1.0))
    ticker.cancel()
    assert ticks >= 50


async def test_cancelled_caller_frees_its_process(slow_hwp: bytes, extraction_pool: ExtractionPool) -> None:
    task = asyncio.create_task(extraction_pool.extract(slow_hwp, "slow.hwp"))
    await asyncio.sleep(0.5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # Both pool threads must be free again: the cancelled one's process was killed, not left to
    # grind on for the full minute.
    with bounded():
        extracted = await asyncio.gather(
            extraction_pool.extract(documents.sample_hwpx(), "a.hwpx"),
            extraction_pool.extract(documents.sample_hwp(), "b.hwp"),
        )
    assert [document.format for document in extracted] == ["hwpx", "hwp"]


async def test_process_memory_cap_turns_into_too_large() -> None:
    pool = ExtractionPool(size=1, memory_bytes=400 * MIB)
    limits = ExtractionLimits(max_uncompressed_bytes=1024 * MIB)
    try:
        with pytest.raises(DocumentTooLarge):
            await pool.extract(documents.hwp_inflating_to(320 * MIB), "bomb.hwp", limits)
        assert (await pool.extract(documents.sample_hwp(), "ok.hwp", limits)).pages == 2
    finally:
        pool.close()


# --- fuzzing ----------------------------------------------------------------------------------------

SEEDS = {
    "pdf": documents.korean_pdf(2, lines_per_page=3),
    "hwp": documents.sample_hwp(),
    "hwpx": documents.sample_hwpx(),
    "docx": documents.docx_bytes(),
    "pptx": documents.pptx_bytes(),
    "xlsx": documents.xlsx_bytes(),
    "txt": documents.cp949_text(),
    "doc": documents.doc_bytes(["회의록", [["안건", "담당"], ["예산", "홍길동"]]], footnotes=["각주"]),
    "xls": documents.xls_bytes({"예산": [["항목", "금액"], ["인건비", 1200.0]]}),
    "ppt": documents.ppt_bytes([["제목", "본문"]], notes={0: "노트"}),
    "odt": documents.odf_bytes("text", documents.ODT_BODY),
    "hml": documents.hwpml_bytes(documents.HWPML_BODY),
    "hwp3": documents.hwp3_bytes(compressed=False),
}
mutation = st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255), st.sampled_from("fid"))


def mutate(data: bytes, edits: list[tuple[float, int, str]]) -> bytes:
    """Flip, insert or delete bytes at relative positions."""
    out = bytearray(data)
    for where, value, kind in edits:
        at = int(where * len(out)) if out else 0
        if kind == "f" and out:
            out[at] ^= value or 1
        elif kind == "i":
            out.insert(at, value)
        elif out:
            del out[at]
    return bytes(out)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(sorted(SEEDS)), edits=st.lists(mutation, min_size=1, max_size=8))
def test_mutated_files_end_in_a_document_or_a_document_error(
    kind: str, edits: list[tuple[float, int, str]], extraction_pool: ExtractionPool
) -> None:
    data = mutate(SEEDS[kind], edits)
    try:
        limits = ExtractionLimits(timeout_seconds=10)
        result = asyncio.run(extraction_pool.extract(data, f"fuzz.{kind}", limits))
    except DocumentError:
        return
    assert isinstance(result, ExtractedDocument)

