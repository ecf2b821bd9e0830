"""Bulk import of events from JSONL (Segment messages) or CSV (with a column mapping).

The file is streamed in chunks; each chunk is validated with the same ``normalize`` as the HTTP
API and written in ONE transaction (events set-based, rejects to the quarantine). A crash leaves
only whole chunks behind, and a re-run completes the import: events dedupe on messageId (or the
content hash), quarantined rows on (file, line, payload). Bad rows also go to a reject file
(JSONL: line, reason, field, raw) and never stop the good ones.
"""

from __future__ import annotations

import contextlib
import csv
import gc
import io
import itertools
import logging
import multiprocessing
import os
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Literal

import orjson
from sqlalchemy import Connection

from partitur.core.errors import BadRequest, NotFound, ValidationFailed
from partitur.core.memory import collector_paused
from partitur.core.signals import Signals
from partitur.events import ingest
from partitur.events.contracts import MAX_MESSAGE_BYTES, MESSAGE_TYPES, ImportSummary
from partitur.storage.engine import Store

log = logging.getLogger(__name__)

Format = Literal["jsonl", "csv"]
DEFAULT_CHUNK = 20_000
#: JSONL files larger than this are parsed by worker processes (when workers is automatic)
PARALLEL_FROM_BYTES = 32 * 1024 * 1024
_TRAIT_TYPES = frozenset({"identify", "group"})


@dataclass(frozen=True)
class ColumnMapping:
    """CSV column -> message field (dotted paths such as ``properties.revenue``)."""

    fields: tuple[tuple[tuple[str, ...], str], ...]

    @classmethod
    def parse(cls, pairs: dict[str, str]) -> ColumnMapping:
        fields = []
        for target, column in pairs.items():
            path = tuple(p for p in target.split(".") if p)
            if not path or not column:
                raise ValidationFailed(f"mapping {target}={column} needs FIELD=COLUMN", field="map")
            fields.append((path, column))
        return cls(tuple(fields))

    def columns(self) -> set[str]:
        return {column for _, column in self.fields}


def parse_mapping_pairs(pairs: list[str]) -> dict[str, str]:
    """``["userId=customer_id", ...]`` -> ``{"userId": "customer_id"}``."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        target, sep, column = pair.partition("=")
        if not sep or not target.strip() or not column.strip():
            raise ValidationFailed(f"--map {pair!r} must look like FIELD=COLUMN", field="map")
        mapping[target.strip()] = column.strip()
    return mapping


def detect_format(path: Path, fmt: str | None) -> Format:
    chosen = (fmt or ("csv" if path.suffix.lower() == ".csv" else "jsonl")).lower()
    if chosen not in ("jsonl", "csv"):
        raise ValidationFailed(f"format must be jsonl or csv, not {chosen!r}", field="format")
    return "csv" if chosen == "csv" else "jsonl"


@dataclass
class _Chunk:
    messages: list[Any]
    positions: list[int]
    #: (line, reason, field, raw) for lines that could not even be parsed
    unreadable: list[tuple[int, str, str | None, str]]
    size: int


def _parse_jsonl(lines: list[bytes], first_line: int) -> _Chunk:
    size = sum(map(len, lines))
    if lines and max(map(len, lines)) <= MAX_MESSAGE_BYTES:
        # the usual block (no blank, bad or oversized line) is parsed without a Python loop
        try:
            messages = list(map(orjson.loads, lines))
        except orjson.JSONDecodeError:
            pass
        else:
            return _Chunk(messages, list(range(first_line, first_line + len(lines))), [], size)
    chunk = _Chunk([], [], [], size)
    messages, positions, loads = chunk.messages, chunk.positions, orjson.loads
    for number, line in enumerate(lines, first_line):
        if len(line) > MAX_MESSAGE_BYTES:
            chunk.unreadable.append((number, "message is larger than 32 KB", "message", _raw(line)))
            continue
        try:
            messages.append(loads(line))
        except orjson.JSONDecodeError as exc:
            if line.strip():
                chunk.unreadable.append((number, f"invalid JSON: {exc}", None, _raw(line)))
            continue
        positions.append(number)
    return chunk


@dataclass(frozen=True)
class _Job:
    """What preparing a chunk needs (picklable: it travels to worker processes)."""

    workspace_id: str
    source_id: str
    received_at: datetime
    origin: str
    default_type: str | None
    check_size: bool
    #: the file (worker processes read their blocks from it)
    path: str
    #: SQLite: each prepared chunk is written to a staging file in this directory
    stage_dir: str | None


@dataclass
class _Ready:
    batch: ingest.PreparedBatch
    lines: int
    size: int


def _prepare_chunk(job: _Job, chunk: _Chunk, stage_name: str) -> _Ready:
    if job.default_type:
        for message in chunk.messages:
            if isinstance(message, dict) and "type" not in message:
                message["type"] = job.default_type
    if job.stage_dir is not None:
        batch = ingest.prepare_staged(
            zip(chunk.positions, chunk.messages, strict=True),
            workspace_id=job.workspace_id,
            source_id=job.source_id,
            received_at=job.received_at,
            origin=job.origin,
            check_size=job.check_size,
            stage_path=os.path.join(job.stage_dir, stage_name),
        )
    else:
        batch = ingest.prepare(
            chunk.messages,
            workspace_id=job.workspace_id,
            source_id=job.source_id,
            received_at=job.received_at,
            origin=job.origin,
            check_size=job.check_size,
            positions=chunk.positions,
        )
    for number, reason, field, raw in chunk.unreadable:
        batch.reject(number, reason, field, raw)
    batch.dedupe_rejects = True
    return _Ready(batch, len(chunk.positions) + len(chunk.unreadable), chunk.size)


def _prepare_file_block(job: _Job, offset: int, count: int, first_line: int) -> _Ready:
    """The ``count`` lines at byte ``offset`` of the JSONL file, parsed and prepared."""
    with open(job.path, "rb") as handle:
        handle.seek(offset)
        if job.stage_dir is None:
            lines = list(itertools.islice(handle, count))
            return _prepare_chunk(job, _parse_jsonl(lines, first_line), "")
        # SQLite: line by line from the file to the staging file, so only one message is alive
        # at a time (a chunk of 20,000 parsed messages, ~40 MB, missed the CPU caches and made
        # pymalloc map, fault in and unmap fresh memory for every chunk)
        unreadable: list[tuple[int, str, str | None, str]] = []
        batch = ingest.prepare_staged(
            _messages(itertools.islice(handle, count), first_line, job.default_type, unreadable),
            workspace_id=job.workspace_id,
            source_id=job.source_id,
            received_at=job.received_at,
            origin=job.origin,
            check_size=job.check_size,
            stage_path=os.path.join(job.stage_dir, f"{first_line}.db"),
        )
        size = handle.tell() - offset
    for number, reason, field, raw in unreadable:
        batch.reject(number, reason, field, raw)
    batch.dedupe_rejects = True
    return _Ready(batch, batch.staged + len(batch.rejected), size)


def _messages(
    lines: Iterable[bytes],
    first_line: int,
    default_type: str | None,
    unreadable: list[tuple[int, str, str | None, str]],
) -> Iterator[tuple[int, Any]]:
    """(line number, message) of each line that parses (``_parse_jsonl`` one line at a time);
    the others go to ``unreadable``, blank lines nowhere."""
    loads = orjson.loads
    for number, line in enumerate(lines, first_line):
        if len(line) > MAX_MESSAGE_BYTES:
            unreadable.append((number, "message is larger than 32 KB", "message", _raw(line)))
            continue
        try:
            message = loads(line)
        except orjson.JSONDecodeError as exc:
            if line.strip():
                unreadable.append((number, f"invalid JSON: {exc}", None, _raw(line)))
            continue
        if default_type and isinstance(message, dict) and "type" not in message:
            message["type"] = default_type
        yield number, message


_SPAN_READ = 1 << 20


def _line_spans(handle: IO[bytes], chunk_lines: int) -> Iterator[tuple[int, int, int]]:
    """(byte offset, number of lines, number of the first line) of consecutive blocks of
    ``chunk_lines`` lines, cut as iterating the file cuts lines (at b"\\n"), found by counting
    newlines in 1 MB reads: no object per line in the process that only hands blocks out."""
    start = position = handle.tell()
    count, number, last = 0, 1, b"\n"
    while block := handle.read(_SPAN_READ):
        at = 0
        while count + block.count(b"\n", at) >= chunk_lines:
            for _ in range(chunk_lines - count):
                at = block.index(b"\n", at) + 1
            yield start, chunk_lines, number
            start, number, count = position + at, number + chunk_lines, 0
        count += block.count(b"\n", at)
        position += len(block)
        last = block[-1:]
    if position > start:  # the rest; its last line may have no newline
        yield start, count + (last != b"\n"), number


def _worker_started() -> None:
    # a worker only prepares chunks: acyclic dicts and tuples that reference counting frees
    gc.disable()


def _parallel(
    job: _Job, handle: IO[bytes], chunk_lines: int, workers: int
) -> Generator[_Ready, None, None]:
    """Parse and validate blocks in worker processes; hand them back IN FILE ORDER, so the
    committed chunks are always a prefix of the file. On SQLite each block is written to a
    staging file (in a scratch directory removed at the end) that the main process copies into
    ``events`` inside SQLite; on PostgreSQL the rows come back pickled.

    The main process is not only the writer: whenever the oldest block is still in a worker, it
    prepares the next block itself (a copy costs it about half of what preparing costs a
    worker, so it would otherwise wait). On two cores that keeps two processes busy instead of
    three fighting over the cores (measured: ~1 us less CPU per event than two workers).
    """
    pool = ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_started
    )
    pending: deque[Future[_Ready] | _Ready] = deque()
    spans = _line_spans(handle, chunk_lines)
    in_workers = 0

    def feed() -> None:
        nonlocal in_workers
        # the worker reads its lines itself (from the page cache): sending 8 MB of lines
        # through a pipe cost the main process a tenth of its time. Up to three blocks per
        # worker are queued, so a worker never waits while the main process copies or
        # prepares (with two, the worker idled a fifth of the time)
        while in_workers <= 2 * workers and (span := next(spans, None)) is not None:
            pending.append(pool.submit(_prepare_file_block, job, *span))
            in_workers += 1

    try:
        feed()
        while pending:
            head = pending[0]
            if isinstance(head, Future) and not head.done() and len(pending) <= 3 * workers + 2:
                span = next(spans, None)
                if span is not None:
                    pending.append(_prepare_file_block(job, *span))
                    continue
            pending.popleft()
            if isinstance(head, Future):
                in_workers -= 1
                yield head.result()
            else:
                yield head
            feed()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _raw(line: bytes) -> str:
    return line.decode("utf-8", errors="replace").rstrip("\r\n")


def _csv_chunks(
    handle: IO[bytes], chunk_lines: int, mapping: ColumnMapping, default_type: str | None
) -> Iterator[_Chunk]:
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
    reader = csv.DictReader(text)
    header = reader.fieldnames or []
    missing = sorted(mapping.columns() - set(header))
    if missing:
        raise ValidationFailed(
            f"the CSV has no column {', '.join(missing)} (columns: {', '.join(header)})",
            field="map",
        )
    mapped = mapping.columns()
    rest = [c for c in header if c not in mapped]
    done = 0
    while True:
        chunk = _Chunk([], [], [], 0)
        for row in itertools.islice(reader, chunk_lines):
            message: dict[str, Any] = {}
            if default_type:
                message["type"] = default_type
            for path, column in mapping.fields:
                value = row.get(column)
                if value is None or value == "":
                    continue
                target = message
                for key in path[:-1]:
                    target = target.setdefault(key, {})
                target[path[-1]] = value
            extras = {c: row[c] for c in rest if row.get(c) not in (None, "")}
            if extras:
                bag = "traits" if message.get("type") in _TRAIT_TYPES else "properties"
                message[bag] = {**extras, **(message.get(bag) or {})}
            chunk.messages.append(message)
            chunk.positions.append(reader.line_num)
        if not chunk.messages:
            return
        position = handle.tell() if handle.seekable() else done
        chunk.size, done = position - done, position
        yield chunk


def import_events(
    store: Store,
    *,
    workspace_id: str,
    source_id: str,
    source_name: str,
    path: Path,
    received_at: datetime,
    fmt: str | None = None,
    mapping: dict[str, str] | None = None,
    default_type: str | None = None,
    rejects_path: Path | None = None,
    chunk_lines: int = DEFAULT_CHUNK,
    workers: int | None = None,
    signals: Signals | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Import a JSONL or CSV file of events; returns the summary.

    Raises ``NotFound`` if the file does not exist, ``BadRequest`` if it cannot be read,
    ``ValidationFailed`` for a bad mapping or type. ``workers``: processes that parse and
    validate JSONL in parallel with the inserts (None: automatic for files over 32 MB on 2+
    cores, one per core but one; 0: none).
    """
    if not path.is_file():
        raise NotFound(f"no such file: {path}", field="FILE")
    chosen = detect_format(path, fmt)
    if default_type is not None and default_type not in MESSAGE_TYPES:
        raise ValidationFailed(
            "type must be one of identify, track, page, screen, group, alias", field="type"
        )
    if chosen == "csv" and not default_type and not (mapping and "type" in mapping):
        raise ValidationFailed("a CSV import needs --type or a mapping for type", field="type")
    column_mapping = ColumnMapping.parse(mapping or {})
    rejects_path = rejects_path or path.with_name(path.name + ".rejects.jsonl")
    origin = f"import:{path.name}"
    started = time.perf_counter()
    lines = accepted = duplicates = rejected = 0
    rejects_file: IO[bytes] | None = None
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise BadRequest(f"cannot read {path}: {exc.strerror}", field="FILE") from None
    # SQLite: chunks are staged in scratch files that the single writer copies in one statement
    scratch = tempfile.TemporaryDirectory(prefix="partitur-import-") if store.is_sqlite else None
    try:
        job = _Job(
            workspace_id=workspace_id,
            source_id=source_id,
            received_at=received_at,
            origin=origin,
            default_type=default_type if chosen == "jsonl" else None,
            check_size=chosen == "csv",
            path=str(path),
            stage_dir=scratch.name if scratch is not None else None,
        )
        if workers is None:
            # Workers parse, validate and stage blocks; the main process copies the staged
            # blocks into the event log (no Python per row) and prepares blocks itself while it
            # would wait. On two cores: one worker and the main process.
            cores = os.cpu_count() or 1
            big = path.stat().st_size > PARALLEL_FROM_BYTES
            workers = min(4, cores - 1) if big and cores >= 2 else 0
        ready: Generator[_Ready, None, None]
        if chosen == "csv":
            csv_chunks = _csv_chunks(handle, chunk_lines, column_mapping, default_type)
            ready = (_prepare_chunk(job, c, f"{c.positions[0]}.db") for c in csv_chunks)
        elif workers > 0:
            ready = _parallel(job, handle, chunk_lines, workers)
        else:
            ready = (_prepare_file_block(job, *span) for span in _line_spans(handle, chunk_lines))
        with (
            store.bulk_writing(),
            _bulk_connection(store) as conn,
            contextlib.closing(ready),
            collector_paused(),
        ):
            for chunk in ready:
                batch = chunk.batch
                try:
                    with ingest.stage_attached(conn, batch), conn.begin():
                        result = ingest.write_prepared(conn, batch)
                finally:
                    if batch.stage_path is not None:
                        os.unlink(batch.stage_path)
                if signals is not None and result.accepted:
                    signals.notify("events")
                lines += chunk.lines
                accepted += result.accepted
                duplicates += result.duplicates
                rejected += len(result.rejected)
                if result.rejected:
                    if rejects_file is None:
                        rejects_file = rejects_path.open("wb")
                    for r, raw in sorted(
                        zip(result.rejected, batch.rejected_payloads, strict=True),
                        key=lambda pair: pair[0].index,
                    ):
                        rejects_file.write(
                            orjson.dumps(
                                {"line": r.index, "reason": r.reason, "field": r.field, "raw": raw}
                            )
                            + b"\n"
                        )
                if on_progress is not None:
                    on_progress(chunk.size)
    except UnicodeDecodeError as exc:
        raise BadRequest(f"{path} is not UTF-8 text: {exc.reason}", field="FILE") from None
    except csv.Error as exc:
        raise BadRequest(f"{path} is not valid CSV: {exc}", field="FILE") from None
    finally:
        handle.close()
        if rejects_file is not None:
            rejects_file.close()
        if scratch is not None:
            scratch.cleanup()
    seconds = time.perf_counter() - started
    return ImportSummary(
        file=str(path),
        source=source_name,
        format=chosen,
        lines=lines,
        accepted=accepted,
        duplicates=duplicates,
        rejected=rejected,
        rejects_file=str(rejects_path) if rejected else None,
        seconds=round(seconds, 3),
        events_per_second=round((accepted + duplicates) / seconds, 1) if seconds else 0.0,
    )


@contextlib.contextmanager
def _bulk_connection(store: Store) -> Iterator[Connection]:
    """One connection for the whole import. On SQLite its chunks commit with
    ``synchronous=NORMAL``: WAL stays consistent, and a power cut may roll back only the last
    whole chunks, which a re-run restores by idempotency. The WAL is checkpointed on a thread
    of its own meanwhile (see ``_checkpoints``) and fully at the end, which makes everything
    durable; the connection's own settings are restored before it goes back to the pool.
    """
    with store.engine.connect() as conn:
        if not store.is_sqlite:
            yield conn
            return
        raw = conn.connection.driver_connection
        level = raw.execute("PRAGMA synchronous").fetchone()[0]  # type: ignore[union-attr]
        pages = raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0]  # type: ignore[union-attr]
        raw.execute("PRAGMA synchronous=NORMAL")  # type: ignore[union-attr]
        raw.execute("PRAGMA wal_autocheckpoint=0")  # type: ignore[union-attr]
        try:
            with _checkpoints(store):
                yield conn
        finally:
            raw.execute("PRAGMA wal_checkpoint(FULL)")  # type: ignore[union-attr]
            raw.execute(f"PRAGMA wal_autocheckpoint={int(pages)}")  # type: ignore[union-attr]
            raw.execute(f"PRAGMA synchronous={int(level)}")  # type: ignore[union-attr]


@contextlib.contextmanager
def _checkpoints(store: Store, every: float = 0.25) -> Iterator[None]:
    """Copy the WAL into the database file from a thread with its own connection while the
    import writes: the writer's commits then never wait for the copy and its fsyncs (a
    ``PASSIVE`` checkpoint runs beside a writer; SQLite releases the GIL while it works)."""
    stop = threading.Event()
    raw = store.engine.raw_connection()  # autocommit: the PRAGMA runs outside a transaction

    def run() -> None:
        while not stop.wait(every):
            raw.cursor().execute("PRAGMA wal_checkpoint(PASSIVE)")

    thread = threading.Thread(target=run, name="partitur-import-checkpoints", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        raw.close()
