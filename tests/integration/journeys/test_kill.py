"""Reliability: a worker killed with SIGKILL at random moments loses no instance and sends
nothing twice."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from partitur.context import Context
from partitur.core.actions import Actor
from partitur.core.clock import VirtualClock, isoformat
from partitur.journeys import service
from partitur.journeys.tables import journey_instances
from partitur.settings import Settings
from tests.support.journeys import add_events, add_templates, outbox_table

ENROLMENTS = 10_000
KILLS = 6
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
# The wait is 20 simulated minutes = 10 s of wall time on the worker's 120x clock, so the
# kills (each within ~2 s of a restart) land while instances are still in flight.
JOURNEY = {
    "key": "kill",
    "name": "Kill test",
    "entry": {"type": "event", "event": "Signed Up"},
    "start": "hello",
    "nodes": [
        {"id": "hello", "type": "send", "channel": "email", "template": "hello", "next": "wait"},
        {"id": "wait", "type": "wait", "duration": "PT20M", "next": "nudge"},
        {"id": "nudge", "type": "send", "channel": "sms", "template": "nudge", "next": "done"},
        {"id": "done", "type": "exit"},
    ],
}


def start_worker(url: str, epoch: float) -> subprocess.Popen[bytes]:
    root = Path(__file__).resolve().parents[3]
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.journey_worker",
            url,
            str(epoch),
            isoformat(START),
            "120",
        ],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(root)},
    )


@pytest.mark.slow
def test_sigkilled_workers_lose_nothing_and_send_everything_exactly_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kill.db'}"
    ctx = Context.open(
        Settings(database_url=url, sqlite_synchronous="NORMAL"), clock=VirtualClock(START)
    )
    with ctx.store.begin() as conn:
        add_templates(
            conn,
            workspace_id=ctx.workspace_id,
            refs={("email", "hello"), ("sms", "nudge")},
            now=START,
        )
        service.save_draft(
            conn,
            workspace_id=ctx.workspace_id,
            document=JOURNEY,
            now=START,
            actor=Actor.system(ctx.workspace_id, "test"),
        )
        service.publish(
            conn,
            workspace_id=ctx.workspace_id,
            key="kill",
            now=START,
            actor=Actor.system(ctx.workspace_id, "test"),
        )
        add_events(
            conn,
            workspace_id=ctx.workspace_id,
            rows=[(f"p{i:05d}", "Signed Up", START) for i in range(ENROLMENTS)],
        )

    def progress() -> tuple[int, int]:
        with ctx.store.read() as conn:
            ended = conn.execute(
                select(func.count()).where(journey_instances.c.status != "active")
            ).scalar()
            total = conn.execute(select(func.count()).select_from(journey_instances)).scalar()
        return int(total or 0), int(ended or 0)

    rng = random.Random(4)
    epoch = time.time()
    kills = 0
    deadline = time.monotonic() + 100
    worker = start_worker(url, epoch)
    try:
        # kill at random moments while work is in flight, then let the last worker finish
        while kills < KILLS and progress()[1] < ENROLMENTS:
            assert worker.stdout is not None
            worker.stdout.readline()  # "ready": the worker is running its loops
            time.sleep(rng.uniform(0.05, 1.2))
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            kills += 1
            worker = start_worker(url, epoch)
        while time.monotonic() < deadline and progress() != (ENROLMENTS, ENROLMENTS):
            time.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()

    total, ended = progress()
    assert kills >= 3, "the worker was killed several times mid-run"
    assert (total, ended) == (ENROLMENTS, ENROLMENTS), "every enrolment reached its end"
    with ctx.store.read() as conn:
        statuses = dict(
            conn.execute(
                select(journey_instances.c.status, func.count()).group_by(
                    journey_instances.c.status
                )
            ).all()
        )
        journey_sends = outbox_table()
        per_instance = conn.execute(
            select(journey_sends.c.instance_id, func.count())
            .group_by(journey_sends.c.instance_id)
            .having(func.count() != 2)
        ).all()
        keys = conn.execute(
            select(func.count(), func.count(journey_sends.c.idempotency_key.distinct()))
        ).one()
        profiles = conn.execute(
            select(func.count(journey_instances.c.profile_id.distinct()))
        ).scalar()
    ctx.close()
    assert statuses == {"completed": ENROLMENTS}
    assert profiles == ENROLMENTS, "one instance per enrolled profile, none lost or doubled"
    assert per_instance == [], "each instance handed exactly its two sends to the channels"
    assert tuple(keys) == (2 * ENROLMENTS, 2 * ENROLMENTS)
