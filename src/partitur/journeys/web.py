"""Journeys in the web UI (read-only): the list with each journey's KPI headline, and one
journey's flow with per-node KPIs, exit reasons, KPIs over time, split experiments and its
latest instances.

Journey data comes from ``journeys.service``; the figures from ``analytics`` over one DuckDB
engine per page (opening one copies an SQLite store, so never one per journey), with the
journey tables copied into it once (each query would otherwise scan the store again).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from partitur.analytics import service as analytics
from partitur.analytics.contracts import (
    ExperimentReport,
    JourneyKpis,
    JourneyScore,
    KpiPoint,
    NodeKpis,
)
from partitur.analytics.service import AnalyticsEngine, open_engine
from partitur.api.deps import ContextDep
from partitur.core.errors import NotFound
from partitur.journeys import service
from partitur.journeys.definition import (
    AgentTaskNode,
    AudienceEntry,
    BranchNode,
    DecideNode,
    EventEntry,
    ExitNode,
    JourneyDefinition,
    JumpNode,
    Node,
    SegmentEntry,
    SendNode,
    SplitNode,
    UpdateProfileNode,
    WaitForEventNode,
    WaitNode,
    WebhookNode,
    parse_definition,
)
from partitur.web.charts import inline_svg
from partitur.web.ui import NavItem, UiPrincipal, login_redirect, register_templates, render

router = APIRouter(prefix="/ui/journeys", include_in_schema=False)
NAV_ITEMS = [NavItem("journeys", "Journeys", "/ui/journeys", 30, "route")]
register_templates(Path(__file__).parent / "templates")

#: Instances shown on a journey's page (newest first).
LATEST_INSTANCES = 20
#: The tables the figures of a page query again and again, copied into DuckDB once per page,
#: without the bulky documents those queries never read.
SCANNED = ("journey_instances", "journey_transitions", "messages")
UNREAD = ("state", "payload", "data")
#: Node types whose figures include messages (sent, delivered, opened, clicked).
MESSAGE_TYPES = frozenset({"send", "webhook", "agent_task"})
#: Beyond this many days of entries the KPI chart counts weeks instead of days.
MAX_DAILY_POINTS = 120


# --- the flow (pure) ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FlowEdge:
    label: str
    target: str


@dataclass(frozen=True)
class FlowStep:
    """One node as the page shows it, with its figures (None: nothing reached it yet)."""

    id: str
    type: str
    label: str | None
    summary: str
    edges: list[FlowEdge]
    kpis: NodeKpis | None
    in_definition: bool = True


def _edge_label(name: str) -> str:
    if name.startswith("cases["):
        return f"case {int(name[6:-1]) + 1}"
    if name.startswith(("variants[", "offers[")):
        return name[name.index("[") + 1 : -1]
    return {
        "next": "",
        "timeout_next": "timeout",
        "missing_next": "no date",
        "any_offer": "any offer",
        "else": "else",
        "to": "jump",
        "then": "then",
    }.get(name, name)


def describe(node: Node) -> str:
    """What a node does, in a few words."""
    if isinstance(node, WaitNode):
        if node.duration:
            text = f"for {node.duration}"
            return text + (f", then until {node.local_time} local" if node.local_time else "")
        if node.until:
            return f"until {node.until.astimezone(UTC):%d %b %Y %H:%M} UTC"
        if node.attribute:
            days = f"{node.offset_days:+d} days from " if node.offset_days else ""
            yearly = ", every year" if node.annually else ""
            return f"{days}{node.attribute} at {node.local_time or '09:00'} local{yearly}"
        return f"until {node.local_time} local"
    if isinstance(node, WaitForEventNode):
        return f"for “{node.event}”, at most {node.timeout}"
    if isinstance(node, BranchNode):
        return f"{len(node.cases)} case{'s' if len(node.cases) > 1 else ''}, else"
    if isinstance(node, SplitNode):
        total = sum(v.weight for v in node.variants) + node.control_weight
        parts = [f"{v.key} {v.weight / total:.0%}" for v in node.variants]
        if node.control_weight:
            parts.append(f"control group {node.control_weight / total:.0%}")
        return ", ".join(parts)
    if isinstance(node, SendNode):
        channel = node.channel
        if channel == "preferred":
            channel = f"preferred channel (else {node.fallback_channel})"
        return f"{channel}: {node.template}"
    if isinstance(node, UpdateProfileNode):
        return "sets " + ", ".join(sorted(node.traits))
    if isinstance(node, WebhookNode):
        return f"calls {node.template}"
    if isinstance(node, AgentTaskNode):
        return f"queue {node.queue}: {node.template}"
    if isinstance(node, DecideNode):
        return f"next best offer at {node.placement}"
    if isinstance(node, JumpNode):
        if node.journey:
            return f"into journey {node.journey}"
        return f"to {node.to}" + (f" at most {node.max_times}×" if node.max_times else "")
    if isinstance(node, ExitNode):
        return f"reason: {node.reason}"
    return ""


def flow(definition: JourneyDefinition, figures: list[NodeKpis]) -> list[FlowStep]:
    """The nodes in reading order (breadth-first from the start, then any others in document
    order), each with its figures; nodes known only from older versions come last."""
    nodes = definition.node_map()
    order: list[str] = []
    queue = deque([definition.start] if definition.start in nodes else [])
    while queue:
        node_id = queue.popleft()
        if node_id in order:
            continue
        order.append(node_id)
        queue.extend(t for _, t in nodes[node_id].edges() if t in nodes and t not in order)
    order += [n.id for n in definition.nodes if n.id not in order]
    by_node = {k.node_id: k for k in figures}
    steps = [
        FlowStep(
            id=node_id,
            type=nodes[node_id].type,
            label=nodes[node_id].label,
            summary=describe(nodes[node_id]),
            edges=[FlowEdge(_edge_label(name), t) for name, t in nodes[node_id].edges()],
            kpis=by_node.get(node_id),
        )
        for node_id in order
    ]
    steps += [
        FlowStep(k.node_id, "—", None, "in an earlier version", [], k, in_definition=False)
        for k in sorted(figures, key=lambda k: k.node_id)
        if k.node_id not in nodes
    ]
    return steps


def entry_text(definition: JourneyDefinition) -> str:
    entry = definition.entry
    if isinstance(entry, EventEntry):
        return f"on “{entry.event}”"
    if isinstance(entry, SegmentEntry):
        verb = "enters" if entry.change == "entered" else "leaves"
        return f"when a profile {verb} segment {entry.segment}"
    if isinstance(entry, AudienceEntry):
        return f"audience of segment {entry.segment}" + (
            f", every {entry.every}" if entry.every else ""
        )
    return "manual (API / CLI enrolment)"


# --- pages --------------------------------------------------------------------------------------


def _not_found(request: Request, who: UiPrincipal, message: str) -> HTMLResponse:
    return render(
        request,
        "not_found.html",
        who=who,
        active="journeys",
        title="Journey not found",
        detail=message,
        back_href="/ui/journeys",
        back_label="Back to journeys",
        status_code=404,
    )


@router.get("", response_class=HTMLResponse)
def journeys_page(request: Request, ctx: ContextDep, who: UiPrincipal) -> Response:
    if who is None:
        return login_redirect(request)
    with ctx.store.read() as conn:
        journeys = service.list_journeys(conn, workspace_id=who.workspace_id)
    figures: dict[str, JourneyKpis] = {}
    published = [j for j in journeys if j.latest_version is not None]
    if published:
        now = ctx.clock.now()
        with open_engine(ctx.store, who.workspace_id) as engine:
            engine.materialize(*SCANNED, omit=UNREAD)
            figures = {
                j.id: analytics.journey_kpis(engine, journey_id=j.id, now=now) for j in published
            }
    return render(
        request,
        "journeys/list.html",
        who=who,
        active="journeys",
        title="Journeys",
        journeys=journeys,
        figures=figures,
    )


def _timeseries(engine: AnalyticsEngine, journey_id: str) -> tuple[list[KpiPoint], str]:
    points = analytics.kpi_timeseries(engine, journey_id=journey_id, interval="day")
    if len(points) > 1 and (points[-1].period - points[0].period).days > MAX_DAILY_POINTS:
        return analytics.kpi_timeseries(engine, journey_id=journey_id, interval="week"), "week"
    return points, "day"


@router.get("/{key}", response_class=HTMLResponse)
def journey_page(request: Request, ctx: ContextDep, who: UiPrincipal, key: str) -> Response:
    if who is None:
        return login_redirect(request)
    with ctx.store.read() as conn:
        try:
            journey = service.get_journey(conn, workspace_id=who.workspace_id, key=key)
        except NotFound:
            return _not_found(request, who, f"There is no journey {key}.")
        instances = service.latest_instances(
            conn, workspace_id=who.workspace_id, key=key, limit=LATEST_INSTANCES
        )
    definition = parse_definition(journey.published or journey.draft)
    summary: JourneyKpis | None = None
    figures: list[NodeKpis] = []
    points: list[KpiPoint] = []
    interval = "day"
    experiments: list[ExperimentReport] = []
    score: JourneyScore | None = None
    if journey.latest_version is not None:
        with open_engine(ctx.store, who.workspace_id) as engine:
            engine.materialize(*SCANNED, omit=UNREAD)
            summary = analytics.journey_kpis(engine, journey_id=journey.id, now=ctx.clock.now())
            figures = analytics.node_kpis(engine, journey_id=journey.id)
            points, interval = _timeseries(engine, journey.id)
            experiments = analytics.experiment_reports(
                ctx, workspace_id=who.workspace_id, journey=key, engine=engine, now=ctx.clock.now()
            )
            score = analytics.journey_score(
                ctx, workspace_id=who.workspace_id, journey=key, engine=engine, now=ctx.clock.now()
            )
    chart = None
    if len(points) > 1:  # a line needs two periods; one is said in words
        title = f"{journey.name}: entered and converted per {interval} of entry (UTC)"
        chart = inline_svg(analytics.kpi_chart(points, "svg", title=journey.key), title=title)
    return render(
        request,
        "journeys/detail.html",
        who=who,
        active="journeys",
        title=journey.name,
        journey=journey,
        definition=definition,
        entry=entry_text(definition),
        summary=summary,
        steps=flow(definition, figures),
        chart=chart,
        points=points,
        interval=interval,
        experiments=experiments,
        score=score,
        instances=instances,
        message_types=MESSAGE_TYPES,
    )
