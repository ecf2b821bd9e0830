"""The tracking API's group-commit writer: prepared batches of events, many requests per
transaction (see ``partitur.storage.group_commit``); loops waiting on events are woken after
each commit that stored something."""

from __future__ import annotations

from sqlalchemy import Connection

from partitur.core.signals import Signals
from partitur.events.contracts import IngestResult
from partitur.events.service import PreparedBatch, write_prepared
from partitur.storage.engine import Store
from partitur.storage.group_commit import GroupCommitWriter


def _write(conn: Connection, batches: list[PreparedBatch]) -> list[IngestResult]:
    return [write_prepared(conn, batch) for batch in batches]


def event_writer(
    store: Store, signals: Signals, *, max_rows: int = 20_000, idle_exit: float = 5.0
) -> GroupCommitWriter[PreparedBatch, IngestResult]:
    def wake(results: list[IngestResult]) -> None:
        if any(r.accepted for r in results):
            signals.notify("events")

    return GroupCommitWriter(
        store,
        _write,
        size=lambda batch: len(batch.rows),
        after_commit=wake,
        max_rows=max_rows,
        idle_exit=idle_exit,
        name="partitur-event-commit",
    )
