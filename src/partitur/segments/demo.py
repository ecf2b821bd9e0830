"""Demo step of the segments domain: segments built from the intelligence scores.

``churn-risk`` (churn score >= 0.5; the churn-winback journey enters on it) and ``vip`` (value
tier premium; the cart-abandonment discount) need the scores, so this step runs after the ml
and decisions steps. They are built as of the start of the demo's replay window
(:func:`partitur.demo.steps.replay_start`) with today's scores, so the journeys that use them
have the whole window of history when the journeys step backfills them.
"""

from __future__ import annotations

from typing import Any

from partitur.context import Context
from partitur.core.errors import NotFound
from partitur.demo.steps import DemoReport, replay_start
from partitur.segments import service
from partitur.segments.contracts import SegmentDefinition

DEMO_SEGMENTS: list[dict[str, Any]] = [
    {
        "key": "churn-risk",
        "name": "Churn risk",
        "description": "Churn score of 0.5 or more (the churn model of the ml domain).",
        "rule": {"score": "churn", "op": "gte", "value": 0.5},
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
                    actor="demo",
                )
            sizes[definition.key] = found.size
    report.add("score segments", ", ".join(f"{k} {v}" for k, v in sizes.items()))


DEMO_STEPS = [score_segments]
