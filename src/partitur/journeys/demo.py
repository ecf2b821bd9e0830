"""Demo step: the example journeys from ``examples/journeys``, published and run over the last
``REPLAY_DAYS`` of the demo history (``journeys backfill``), so that the demo shows them running:
instances that entered, waited, branched, converted and ended, sends in the outbox, per-node
counts and KPIs.

Idempotent: a journey whose published version equals its file is left alone, and a journey is
backfilled once (a journey that was backfilled or has instances is not replayed again).
"""

from __future__ import annotations

from typing import Any

from partitur.context import Context
from partitur.core.actions import Actor
from partitur.core.clock import parse_iso8601
from partitur.core.safe_yaml import load_yaml
from partitur.demo.steps import REPLAY_DAYS, DemoReport, examples_dir, replay_start
from partitur.journeys import service
from partitur.journeys.backfill import backfill


def publish_example_journeys(ctx: Context, report: DemoReport) -> None:
    documents: list[dict[str, Any]] = [
        load_yaml(path.read_text(encoding="utf-8"))
        for path in sorted(examples_dir("journeys").glob("*.yaml"))
    ]
    with ctx.store.begin() as conn:
        published = service.load_documents(
            conn,
            workspace_id=ctx.workspace_id,
            documents=documents,
            now=ctx.clock.now(),
            actor=Actor.system(ctx.workspace_id, "demo"),
        )
        fresh = [
            j.key
            for j in published
            if j.status == "active"
            and not service.was_backfilled_or_started(
                conn, workspace_id=ctx.workspace_id, key=j.key
            )
        ]
    report.add("journeys published", len(published))
    since = replay_start(ctx, report)
    # the regional outage lies further back than the replay window (about 50 days before the
    # end of the full demo): its journey replays from the outage on
    outage = (report.facts or {}).get("outage") or {}
    groups = [(since, [k for k in fresh if k != "outage-notice"])]
    if "outage-notice" in fresh:
        start = parse_iso8601(outage["start"]) if outage.get("start") else since
        groups.append((min(start, since), ["outage-notice"]))
    instances = 0
    seconds = 0.0
    for start, keys in groups:
        if keys:
            # the demo delivers them (to the local SMTP sink), so it shows delivered messages
            result = backfill(
                ctx,
                keys=keys,
                since=start,
                actor=Actor.system(ctx.workspace_id, "demo"),
                deliver=True,
            )
            instances += sum(sum(c.values()) for c in result.instances.values())
            seconds += result.seconds
    if fresh:
        report.add("journey instances (replayed)", instances)
        report.note(
            f"journeys backfilled over the last {REPLAY_DAYS} days in {seconds:.1f} s "
            "(partitur journeys backfill)"
        )
    report.note(
        "journeys: partitur journeys list; partitur journeys nodes cart-abandonment; "
        "partitur analytics kpis cart-abandonment"
    )


DEMO_STEPS = [publish_example_journeys]
