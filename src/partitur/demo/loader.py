"""Loading the demo workspace: sources, the generated history, identity resolution, demo steps.

This is the imperative shell around the pure generator. Messages go in through the same
ingestion function as the HTTP API and ``partitur import`` (one transaction per chunk), so the
demo exercises validation, dedupe and quarantine like real traffic; identity resolution then
runs until it has nothing left to do, so that profiles exist when the UI opens.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, text

from partitur.access import service as access
from partitur.access.contracts import Scope
from partitur.channels import demo as channels_demo
from partitur.context import Context
from partitur.core.actions import Actor, Role
from partitur.decisions import demo as decisions_demo
from partitur.demo.generator import SOURCES, DemoConfig, DemoDataset, generate
from partitur.demo.steps import DemoReport, DemoStep, step_name
from partitur.identity import loops as identity_loops
from partitur.journey_maps import demo as maps_demo
from partitur.journeys import demo as journeys_demo
from partitur.ml import demo as ml_demo
from partitur.segments import demo as segments_demo
from partitur.workspaces import service as workspaces

log = logging.getLogger(__name__)

#: ``progress(phase, done, total)``; phases: generate, load, identity, steps
Progress = Callable[[str, int, int], None]

CHUNK_SIZE = 5_000
#: An identity pass that keeps finding work this often is stuck; stop and say so.
MAX_IDENTITY_PASSES = 100_000


def _no_progress(_phase: str, _done: int, _total: int) -> None:
    return None


def event_count(conn: Connection, *, workspace_id: str) -> int:
    """How many events the workspace holds (read model; the events domain owns the table)."""
    value = conn.execute(
        text("SELECT count(*) FROM events WHERE workspace_id = :ws"), {"ws": workspace_id}
    ).scalar_one()
    return int(value)


def newest_event_time(conn: Connection, *, workspace_id: str) -> datetime | None:
    """The timestamp of the workspace's newest event (read model, like ``event_count``)."""
    value = conn.execute(
        text("SELECT max(timestamp) FROM events WHERE workspace_id = :ws"), {"ws": workspace_id}
    ).scalar()
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


#: the demo workspace's owner, who signs in to the Studio with the password the demo prints
DEMO_OWNER_EMAIL = "owner@demo.partitur.dev"


def issue_admin_token(ctx: Context, *, name: str = "demo") -> str:
    with ctx.store.begin() as conn:
        return access.create_token(
            conn,
            workspace_id=ctx.workspace_id,
            name=name,
            scopes=[Scope.admin],
            now=ctx.clock.now(),
            actor=Actor.system(ctx.workspace_id, "demo"),
        ).token


def ensure_demo_owner(ctx: Context) -> tuple[str, str]:
    """The demo's owner (created when missing) with a new random password: (e-mail,
    password). Each load prints a fresh one, since the old one is never shown again."""
    password = secrets.token_urlsafe(15)
    actor = Actor.system(ctx.workspace_id, "demo")
    with ctx.store.begin() as conn:
        owner = access.user_by_email(conn, workspace_id=ctx.workspace_id, email=DEMO_OWNER_EMAIL)
        if owner is None:
            access.create_user(
                conn,
                workspace_id=ctx.workspace_id,
                email=DEMO_OWNER_EMAIL,
                name="Demo Owner",
                role=Role.owner,
                password=password,
                now=ctx.clock.now(),
                actor=actor,
            )
        else:
            access.set_password(
                conn,
                workspace_id=ctx.workspace_id,
                user_id=owner.id,
                password=password,
                now=ctx.clock.now(),
                actor=actor,
            )
    return DEMO_OWNER_EMAIL, password


def ensure_demo_sources(ctx: Context) -> dict[str, str]:
    """The demo's sources (created if missing) as name -> write key."""
    with ctx.store.begin() as conn:
        return {
            name: workspaces.ensure_source(
                conn, workspace_id=ctx.workspace_id, name=name, now=ctx.clock.now()
            ).write_key
            for name in SOURCES
        }


def load_dataset(
    ctx: Context,
    dataset: DemoDataset,
    *,
    chunk_size: int = CHUNK_SIZE,
    progress: Progress = _no_progress,
) -> tuple[int, int]:
    """Ingest the dataset in time order, one transaction per chunk.

    Returns (accepted, rejected) message counts.
    """
    from partitur.events.service import ingest_messages

    with ctx.store.read() as conn:
        source_ids = {
            s.name: s.id for s in workspaces.list_sources(conn, workspace_id=ctx.workspace_id)
        }
    total = len(dataset.messages)
    done = accepted = rejected = 0
    progress("load", 0, total)
    for chunk in dataset.chunks(chunk_size):
        received_at = ctx.clock.now()
        with ctx.store.begin() as conn:
            for source, messages in chunk.items():
                result = ingest_messages(
                    conn,
                    workspace_id=ctx.workspace_id,
                    source_id=source_ids[source],
                    messages=messages,
                    received_at=received_at,
                    origin="demo",
                )
                accepted += _count(result, "accepted", len(messages))
                rejected += _count(result, "rejected", 0)
                done += len(messages)
        ctx.signals.notify("events")
        progress("load", done, total)
    return accepted, rejected


def _count(result: Any, name: str, default: int) -> int:
    """The number behind ``result.<name>`` (an int or a list of items)."""
    value = getattr(result, name, default)
    return len(value) if isinstance(value, list | tuple) else int(value)


def resolve_identities(ctx: Context, *, progress: Progress = _no_progress) -> int:
    """Run the identity loops until a full pass over all of them finds no work."""
    loops = identity_loops.build_loops(ctx)
    handled = 0
    for _ in range(MAX_IDENTITY_PASSES):
        did = sum(loop.run_once(ctx.clock.now()) for loop in loops)
        if did == 0:
            return handled
        handled += did
        progress("identity", handled, 0)
    raise RuntimeError("identity resolution did not settle; see the worker log")


#: The domains' demo steps in running order: templates before the journeys that send them,
#: models before the decisions that read their scores, score-based segments after both and
#: before the journeys that use them (journeys replay the recent history, so everything they
#: branch on must exist), maps last since they link to everything else.
DEMO_STEPS: list[DemoStep] = [
    *channels_demo.DEMO_STEPS,
    *ml_demo.DEMO_STEPS,
    *decisions_demo.DEMO_STEPS,
    *segments_demo.DEMO_STEPS,
    *journeys_demo.DEMO_STEPS,
    *maps_demo.DEMO_STEPS,
]


def run_steps(
    ctx: Context,
    report: DemoReport,
    *,
    steps: list[DemoStep] | None = None,
    progress: Progress = _no_progress,
) -> None:
    chosen = DEMO_STEPS if steps is None else steps
    for k, step in enumerate(chosen):
        log.info("demo step %s", step_name(step))
        step(ctx, report)
        progress("steps", k + 1, len(chosen))


def run_demo(
    ctx: Context,
    *,
    customers: int,
    days: int,
    seed: int,
    end: datetime | None = None,
    if_empty: bool = False,
    chunk_size: int = CHUNK_SIZE,
    steps: list[DemoStep] | None = None,
    progress: Progress = _no_progress,
) -> DemoReport:
    """Create the demo workspace (or, with ``if_empty``, leave a loaded one alone).

    The data window ends at ``end`` (default: the current hour), so the same seed, sizes and
    end give the same history. Steps run on every call (they are idempotent), also when the
    data load is skipped.
    """
    report = DemoReport(workspace=ctx.settings.workspace, customers=customers)
    write_keys = ensure_demo_sources(ctx)
    report.write_keys = write_keys
    with ctx.store.read() as conn:
        existing = event_count(conn, workspace_id=ctx.workspace_id)
    if if_empty and existing > 0:
        report.skipped = True
        report.events = existing
        with ctx.store.read() as conn:
            report.history_end = newest_event_time(conn, workspace_id=ctx.workspace_id)
    else:
        window_end = end or ctx.clock.now().replace(minute=0, second=0, microsecond=0)
        report.history_end = window_end
        began = time.perf_counter()
        progress("generate", 0, 1)
        dataset = generate(
            DemoConfig(customers=customers, days=days, seed=seed, end=window_end.astimezone(UTC))
        )
        progress("generate", 1, 1)
        report.timings["generate"] = round(time.perf_counter() - began, 2)
        report.facts = _facts(dataset)
        began = time.perf_counter()
        accepted, rejected = load_dataset(ctx, dataset, chunk_size=chunk_size, progress=progress)
        report.timings["load"] = round(time.perf_counter() - began, 2)
        report.events = existing + accepted
        report.quarantined = rejected
        del dataset
    began = time.perf_counter()
    resolve_identities(ctx, progress=progress)
    report.timings["identity"] = round(time.perf_counter() - began, 2)
    report.profiles = profile_count(ctx)
    began = time.perf_counter()
    run_steps(ctx, report, steps=steps, progress=progress)
    report.timings["steps"] = round(time.perf_counter() - began, 2)
    report.admin_token = issue_admin_token(ctx)
    report.owner_email, report.owner_password = ensure_demo_owner(ctx)
    return report


def profile_count(ctx: Context) -> int:
    """Live (not merged-away) profiles (read model; the profiles domain owns the table)."""
    with ctx.store.read() as conn:
        value = conn.execute(
            text("SELECT count(*) FROM profiles WHERE workspace_id = :ws AND merged_into IS NULL"),
            {"ws": ctx.workspace_id},
        ).scalar_one()
    return int(value)


def _facts(dataset: DemoDataset) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(dataset.facts)
