"""The demo workspace runs its example journeys: after ``partitur demo`` every example journey
has instances replayed from the recent history through the journey runtime (SQLite,
PostgreSQL)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from partitur.access.contracts import Scope
from partitur.channels.dispatch import Dispatcher
from partitur.context import Context
from partitur.demo.loader import run_demo
from partitur.journeys import service as journeys
from partitur.journeys.contracts import InstanceInfo
from partitur.settings import Settings
from tests.channels.conftest import MailSink, smtp_server  # noqa: F401 - a fixture
from tests.integration.test_studio_api import token

#: big enough for the churn model (50 customers of each class) and a premium tier; the history
#: ends at the test clock's hour, so the models see recent activity
SIZE = {"customers": 2000, "days": 182, "seed": 42}


@pytest.fixture
def settings(database_url: str, tmp_path: Path, smtp_server: MailSink) -> Settings:  # noqa: F811
    """The usual test settings, delivering e-mail to a local SMTP sink (as ``make run``)."""
    return Settings(
        database_url=database_url,
        var_dir=tmp_path / "var",
        sqlite_synchronous="NORMAL",
        analytics_snapshot_seconds=0,
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
    )


def instances(ctx: Context, key: str) -> list[InstanceInfo]:
    with ctx.store.read() as conn:
        return journeys.list_instances(conn, workspace_id=ctx.workspace_id, key=key, limit=100000)


def routes(ctx: Context, key: str) -> dict[str, list[str]]:
    """Profile id -> the nodes its instances of ``key`` went through."""
    out: dict[str, list[str]] = {}
    with ctx.store.read() as conn:
        for pid in sorted({i.profile_id for i in instances(ctx, key)}):
            for info in journeys.profile_journeys(
                conn, workspace_id=ctx.workspace_id, profile_id=pid
            ):
                if info.journey_key == key:
                    out.setdefault(pid, []).extend(t.node_id or "end" for t in info.history or [])
    return out


# the whole demo (or every operation of the API) on each store: a hang guard, not a budget
@pytest.mark.timeout(300)
def test_the_demo_runs_its_example_journeys_over_the_recent_history(
    ctx: Context,
    client: TestClient,
    smtp_server: MailSink,  # noqa: F811
) -> None:
    from partitur.profiles import service as profiles
    from partitur.segments import service as segments

    report = run_demo(ctx, **SIZE)
    with ctx.store.read() as conn:
        keys = [j.key for j in journeys.list_journeys(conn, workspace_id=ctx.workspace_id)]
        at_risk = {
            pid
            for chunk in segments.audience(
                conn, workspace_id=ctx.workspace_id, segment_key="churn-risk"
            )
            for pid in chunk
        }
        cart_nodes = {
            n.node_id: n.entered
            for n in journeys.node_counts(
                conn, workspace_id=ctx.workspace_id, key="cart-abandonment"
            )
        }
    assert len(keys) == 7 and "priority-care" in keys
    for key in keys:
        assert instances(ctx, key), f"{key} has no instances"

    # cart abandonment: buyers convert, abandoners get the reminder and a day later an SMS
    carts = Counter(i.status for i in instances(ctx, "cart-abandonment"))
    assert carts["converted"] > 0 and carts["completed"] > 0
    assert 0 < cart_nodes["reminder_email"] < cart_nodes["wait_order"]
    assert cart_nodes["reminder_sms"] + cart_nodes["discount_sms"] > 0

    # win-back: members of the score-based churn-risk segment, split between both offers
    winback = instances(ctx, "churn-winback")
    assert at_risk and {i.profile_id for i in winback} <= at_risk
    variants = Counter((i.split_variants or {}).get("offer_test") for i in winback)
    assert variants["discount"] > 0 and variants["free-shipping"] > 0

    # priority care: the value tier routes premium customers to a specialist
    tiers: dict[str, str | None] = {}
    care = routes(ctx, "priority-care")
    with ctx.store.read() as conn:
        for pid in care:
            profile = profiles.get_profile(conn, workspace_id=ctx.workspace_id, profile_id=pid)
            tiers[pid] = profile.computed.get("tier")
    first_hop = {pid: nodes[1] for pid, nodes in care.items() if len(nodes) > 1}
    premium = {hop for pid, hop in first_hop.items() if tiers[pid] == "premium"}
    assert premium == {"specialist"}
    assert "self_service" in set(first_hop.values())

    # the outage notice reached the customers of the outage region
    assert 0 < len(instances(ctx, "outage-notice")) <= report.facts["outage"]["affected_customers"]

    # analytics shows the journeys' KPIs and the win-back split as an experiment whose arms
    # convert (the control, no offer, has the same follow-up without the e-mail; at the demo's
    # churn threshold it reaches a few dozen people, too few to promise one of them converts)
    from partitur.analytics import kpis
    from partitur.analytics import service as analytics
    from partitur.analytics.engine import open_engine

    with ctx.store.read() as conn:
        ids = {j.key: j.id for j in journeys.list_journeys(conn, workspace_id=ctx.workspace_id)}
    with open_engine(ctx.store, ctx.workspace_id) as engine:
        summary = kpis.journey_kpis(engine, journey_id=ids["cart-abandonment"], now=ctx.clock.now())
    (split,) = analytics.experiment_reports(
        ctx, workspace_id=ctx.workspace_id, journey="churn-winback", now=ctx.clock.now()
    )
    assert summary.entered == len(instances(ctx, "cart-abandonment"))
    assert summary.converted == carts["converted"] and summary.attributed_revenue > 0
    arms = {a.arm: a for a in split.arms}
    assert split.control == "no-offer" and set(arms) == {"no-offer", "discount", "free-shipping"}
    assert sum(a.conversions for a in arms.values()) > 0
    assert all(a.closed > 0 for a in arms.values())
    assert not split.srm.mismatch
    assert split.decision.status != "no_goal" and "mSPRT" in split.method

    # running the demo again (as make run does) adds nothing; its identity pass resolves the
    # delivery events of the replayed sends onto their recipients: no new profiles either
    before = {key: len(instances(ctx, key)) for key in keys}
    again = run_demo(ctx, **SIZE, if_empty=True)
    assert "journey instances (replayed)" not in again.extras
    assert {key: len(instances(ctx, key)) for key in keys} == before
    assert again.profiles == report.profiles

    # the replayed sends go out (e-mail to the SMTP sink; no SMS provider is configured)
    dispatcher = Dispatcher(ctx, threads=2)
    try:
        while dispatcher.run_once(ctx.clock.now()).claimed:
            pass
    finally:
        dispatcher.close()
    assert smtp_server.mails
    # attribution credits the channel that reached the customers before their orders, at the
    # times the replay made the sends; agent tasks are no customer touches
    paid = analytics.attribute_conversions(
        ctx, workspace_id=ctx.workspace_id, conversion_event="Order Completed"
    )
    credit = {c.channel: c.conversions for c in paid.models["markov"]}
    assert paid.conversions > 0 and credit["email"] > 0 and "agent_task" not in credit
    # the journey page shows the e-mails sent and the SMS failed, with the reason
    report = client.get(
        "/api/analytics/journeys/cart-abandonment/report", headers=token(ctx, Scope.read)
    ).json()
    nodes = {n["node_id"]: n for n in report["nodes"]}
    assert nodes["reminder_email"]["sent"] > 0
    assert nodes["reminder_sms"]["failed"] > 0
    assert "no sms provider" in nodes["reminder_sms"]["failure_reason"].lower()
