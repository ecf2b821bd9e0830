"""Demo step of the segments domain: segments built from the intelligence scores.

``churn-risk`` (lapsed buyers with a churn probability >= 0.2; the churn-winback journey enters
on it) and ``vip`` (value
tier premium; the cart-abandonment discount) need the scores, so this step runs after the ml
and decisions steps. They are built as of the start of the demo's replay window
(:func:`partitur.demo.steps.replay_start`) with today's scores, so the journeys that use them
have the whole window of history when the journeys step backfills them.
"""

from __future__ import annotations

from typing import Any

from partitur.context import Context
from partitur.core.actions import Actor
from partitur.core.errors import NotFound
from partitur.demo.steps import DemoReport, replay_start
from partitur.segments import service
from partitur.segments.contracts import SegmentDefinition

DEMO_SEGMENTS: list[dict[str, Any]] = [
    {
        "key": "churn-risk",
        "name": "Churn risk",
        "description": (
            "Lapsed buyers with a churn probability of at least 0.2, above the base "
            "rate (the ml domain's calibrated churn model): "
            "ordered in the last 180 days, but not in the last 45."
        ),
        "rule": {
            "all": [
                {"score": "churn", "op": "gte", "value": 0.2},
                {"event": "Order Completed", "within": "P180D"},
                {"last_event": "Order Completed", "within": "P45D", "negate": True},
            ]
        },
    },
    {
        "key": "vip",
        "name": "VIP (premium tier)",
        "description": "Customers in the premium value tier (decisions' value scoring).",
        "rule": {"trait": "computed.tier", "op": "eq", "value": "premium"},
    },
]


def score_segments(ctx: Context, report: DemoReport) -> None:
    """Create the score-based segments that are missing."""
    sizes: dict[str, int] = {}
    with ctx.store.begin() as conn:
        for document in DEMO_SEGMENTS:
            definition = SegmentDefinition.model_validate(document)
            try:
                found = service.get_segment(conn, workspace_id=ctx.workspace_id, key=definition.key)
            except NotFound:
                found = service.create_segment(
                    conn,
                    workspace_id=ctx.workspace_id,
                    definition=definition,
                    now=replay_start(ctx, report),
                    actor=Actor.system(ctx.workspace_id, "demo"),
                )
            sizes[definition.key] = found.size
    report.add("score segments", ", ".join(f"{k} {v}" for k, v in sizes.items()))


DEMO_STEPS = [score_segments]
