"""Bulk import cuts a JSONL file into blocks of lines exactly as iterating the file would, and
formats ISO times for SQLite from their text exactly as from the parsed datetime."""

from __future__ import annotations

import io
import itertools
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from partitur.events import bulk_import
from partitur.events.repository import _iso_text, _sqlite_time


def blocks_by_iteration(data: bytes, chunk_lines: int) -> list[tuple[int, int, int]]:
    handle, blocks, number = io.BytesIO(data), [], 1
    while True:
        offset = handle.tell()
        lines = list(itertools.islice(handle, chunk_lines))
        if not lines:
            return blocks
        blocks.append((offset, len(lines), number))
        number += len(lines)


@given(
    lines=st.lists(st.binary(max_size=6).map(lambda b: b.replace(b"\n", b"")), max_size=30),
    trailing_newline=st.booleans(),
    chunk_lines=st.integers(1, 7),
    read_size=st.integers(1, 13),
)
def test_line_spans_cut_blocks_like_iterating_the_file(
    lines: list[bytes], trailing_newline: bool, chunk_lines: int, read_size: int
) -> None:
    data = b"\n".join(lines) + (b"\n" if trailing_newline else b"")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bulk_import, "_SPAN_READ", read_size)
        spans = list(bulk_import._line_spans(io.BytesIO(data), chunk_lines))
    assert spans == blocks_by_iteration(data, chunk_lines)


@given(st.datetimes(), st.sampled_from(["seconds", "milliseconds", "microseconds"]))
def test_utc_iso_text_is_formatted_like_the_datetime(moment: datetime, timespec: str) -> None:
    text = moment.isoformat(timespec=timespec) + "Z"
    parsed = datetime.fromisoformat(text)
    assert _iso_text(text, parsed) == _sqlite_time(parsed)
    assert _iso_text(text.replace("T", " "), parsed) == _sqlite_time(parsed)
