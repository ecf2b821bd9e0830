"""Sentiment on profiles from the texts customers wrote, as routing reads it."""

from __future__ import annotations

from datetime import timedelta

from partitur.context import Context
from partitur.decisions import service as decisions
from partitur.decisions.contracts import RouteRequest
from partitur.ml import ports, service
from tests.support.ml_data import add_events, add_profile


def test_profile_sentiment_from_tickets_and_surveys_drives_complaint_routing(
    ctx: Context,
) -> None:
    now = ctx.clock.now()
    with ctx.store.begin() as conn:
        for pid in ("anna", "ben", "carl"):
            add_profile(
                conn,
                workspace_id=ctx.workspace_id,
                profile_id=pid,
                now=now,
                computed={"tier": "valuable"},
            )
        add_events(
            conn,
            workspace_id=ctx.workspace_id,
            rows=[
                (
                    "anna",
                    "Ticket Created",
                    now - timedelta(days=2),
                    {"text": "Die Rechnung ist schon wieder falsch, das ist eine Frechheit!"},
                ),
                (
                    "anna",
                    "Survey Answered",
                    now - timedelta(days=1),
                    {"comment": "Sehr enttäuscht vom Kundenservice."},
                ),
                (
                    "ben",
                    "Review Submitted",
                    now - timedelta(days=3),
                    {"review": "Great service, quick delivery, thank you!"},
                ),
                (
                    "ben",
                    "Ticket Created",
                    now - timedelta(days=200),
                    {"text": "Terrible, nothing works."},
                ),  # older than 90 days: ignored
                ("carl", "Page Viewed", now, {"text": "awful"}),  # not a text event
            ],
        )
        updated = service.refresh_profile_sentiment(conn, workspace_id=ctx.workspace_id, now=now)
    assert updated == 2
    with ctx.store.read() as conn:
        anna = ports.get_profile_snapshot(conn, workspace_id=ctx.workspace_id, profile_id="anna")
        ben = ports.get_profile_snapshot(conn, workspace_id=ctx.workspace_id, profile_id="ben")
        carl = ports.get_profile_snapshot(conn, workspace_id=ctx.workspace_id, profile_id="carl")
        decision = decisions.route_request(
            conn,
            workspace_id=ctx.workspace_id,
            now=now,
            request=RouteRequest(
                profile_id="anna", intent="billing", channel="phone", escalated=True
            ),
        )
    assert anna and ben and carl
    assert anna.computed["sentiment"]["label"] == "negative"
    assert anna.computed["sentiment"]["language"] == "de"
    assert anna.computed["sentiment"]["texts"] == 2
    assert ben.computed["sentiment"]["label"] == "positive"
    assert ben.computed["sentiment"]["texts"] == 1
    assert "sentiment" not in carl.computed
    assert decision.target == "complaint_management"
