"""Workspaces are sealed: one workspace's credentials never reach another workspace's data.

The test walks ``/openapi.json``. Workspaces A and B each hold one of every kind of object the
API names by id or key. For every operation that takes an id (a path parameter, a query
parameter that names an object, or an id in the body) it sends, with A's admin token:

- the request with every id A's own (the control: it must succeed, so the refusals below come
  from the id and not from a malformed request);
- for each id in turn, the same request with that id taken from B: the answer is 404 (or 403),
  nothing of A or B changed (every row of every table that belongs to a workspace) and the
  answer holds none of B's data;
- the same with an id that exists nowhere: 404 and no row created.

Parameters and body fields are filled by their meaning (``PARAMETERS`` and ``BODIES``); an
operation this test cannot classify, a path or query parameter it does not know, or an id-like
body field it does not fill fails the test until someone decides what it is. Operations that
take no foreign id are listed in ``NO_FOREIGN_ID`` with the reason; their answers (reads) are
still scanned for B's data.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, Select, Text, cast, literal, literal_column, select, union_all

from partitur.context import Context
from tests.support.world import (
    B_MARK,
    PARAMETER_KINDS,
    Ids,
    World,
    build_world,
    journey_document,
    lookup,
)

#: parameters that choose among fixed values, not an object of a workspace
CHOICES: dict[str | tuple[str, str], str] = {
    "action": "pause",
    ("kind", "/api/decisions/policies/"): "routing",
}
#: query parameters that are not ids: paging, formats, periods, flags and free filters
NOT_IDS = {
    "create",
    "samples",
    "cursor",
    "limit",
    "after",
    "status",
    "state",
    "format",
    "since",
    "until",
    "start",
    "end",
    "days",
    "hours",
    "interval",
    "inactive_days",
    "top",
    "q",
    "draft",
    "measured",
    "note",
    "expected_version",
    "channel",
    "queue",
    "unread",
    "seconds",
    "event",
    "confidence",
    # a version number counts within the journey or map the path names
    "version",
    # lookups by identifier other than the e-mail (the e-mail stands for them all)
    "user_id",
    "anonymous_id",
    "phone",
    # filters of the audit trail and of the map list: they narrow the caller's own rows
    "subject_type",
    "action",
    "kind",
    "subject_id",
    "actor",
    "parent",
    "variant_of",
    # the customer's own credential (inbox) is checked by its signature
    "token",
    # sign-in: the workspace a person signs in to (by name, before any credential) and the
    # OpenID Connect round trip's parameters, checked against the state it started with
    "workspace",
    "next",
    "code",
    "iss",
    "error",
    # a filter of the audit trail: the caller's own entries made with a credential
    "credential",
}
#: kinds whose value only means something inside another object (checked with that object)
SCOPED = {"model_version", "split_node", "insight"}

#: operations that take no id of a workspace object, and why
NO_FOREIGN_ID = {
    # the caller's own workspace as a whole: lists, settings, schemas, queries over everything
    "GET /healthz": "no workspace",
    "GET /api/sources": "list",
    "POST /api/sources": "creates in the caller's workspace",
    "GET /api/tokens": "list",
    "GET /api/session": "the caller",
    "GET /api/session/methods": "public: the sign-in methods of a workspace named",
    "GET /api/session/oidc/start": "sign-in flow",
    "GET /api/session/oidc/callback": "sign-in flow (state bound to its start)",
    "GET /api/sessions": "the caller's own sessions",
    "PUT /api/account": "the caller's own account",
    "POST /api/account/password": "the caller's own account",
    # the one-time link in the body is the credential, verified by its hash
    "POST /api/account/activate": "credential",
    "GET /api/access/roles": "the policy table",
    "GET /api/users": "list",
    "POST /api/users": "invites into the caller's workspace",
    "POST /api/service-accounts": "creates in the caller's workspace",
    "GET /api/access/settings": "settings",
    "PUT /api/access/settings": "settings",
    "GET /api/access/oidc": "settings",
    "PUT /api/access/oidc": "settings",
    "GET /api/journey-submissions": "list",
    # the token in the body is the credential: it signs in to its own workspace by design
    "POST /api/session": "credential",
    "DELETE /api/session": "the caller",
    "GET /api/quarantine": "list",
    "GET /api/events/volume": "aggregate",
    "POST /api/events/fan-out": "audience is a rule over the caller's profiles",
    "GET /api/identity/status": "aggregate",
    "GET /api/identity/suppressions": "list",
    "GET /api/profiles/search": "search within the caller's workspace",
    "GET /api/profiles/count": "aggregate",
    "GET /api/segments": "list",
    "POST /api/segments": "creates (the document's key is its own)",
    "POST /api/segments/preview": "rule over the caller's profiles",
    "GET /api/segments/changes": "feed of the caller's workspace",
    "GET /api/journeys": "list",
    "GET /api/journeys/schema": "schema",
    # a draft from the canvas, run over the caller's own history (nothing is written)
    "POST /api/journeys/simulate": "document over the caller's history",
    "POST /api/journeys/export": "converts the document sent",
    "GET /api/analytics/events/names": "list",
    # a draft may name templates that do not exist yet: publishing checks them with the same
    # validation as POST /api/journeys/validate, which is walked below
    "POST /api/journeys": "creates (the document's key is its own)",
    "POST /api/channels/dispatch": "the served workspace's outbox",
    "GET /api/channels/providers": "list",
    "PUT /api/channels/providers": "saves by name in the caller's workspace",
    "GET /api/channels/policy": "settings",
    "GET /api/decisions/policies/{kind}": "settings (a fixed kind)",
    "PUT /api/decisions/policies/{kind}": "settings (a fixed kind)",
    "PUT /api/channels/policy": "settings",
    "GET /api/channels/templates": "list",
    "GET /api/channels/groups": "list",
    "POST /api/channels/groups": "creates in the caller's workspace",
    "GET /api/channels/suppressions": "list",
    "POST /api/channels/suppressions": "an address, not an object",
    "POST /api/channels/bounces/dsn": "a bounce report about addresses",
    "GET /api/channels/inbound/sms-url": "the caller's own signed URL",
    # the signed token in the path (or header) is the credential, verified by its signature
    "POST /api/channels/inbound/sms/{token}": "credential",
    "GET /api/channels/inbox": "credential",
    "GET /api/channels/inbox/stream": "credential",
    "GET /api/channels/tasks": "list",
    "POST /api/decisions/value/refresh": "the caller's workspace",
    "GET /api/decisions/catalogue": "list",
    "POST /api/ml/sentiment": "texts",
    "POST /api/ml/topics": "texts",
    "GET /api/ml/models": "list",
    "GET /api/ml/models/clv/report": "the caller's model",
    "GET /api/analytics/journeys/kpis": "the caller's journeys",
    "POST /api/analytics/funnels": "query over the caller's events",
    "POST /api/analytics/paths/conversions": "query over the caller's events",
    "POST /api/analytics/experiments/compare": "numbers",
    "POST /api/analytics/attribution": "query over the caller's events",
    "POST /api/analytics/scores": "numbers",
    "GET /api/analytics/alerts": "list",
    "GET /api/analytics/monitor/config": "settings",
    "PUT /api/analytics/monitor/config": "settings",
    "POST /api/analytics/monitor/run": "the served workspace",
    "GET /api/maps/schema": "schema",
    "GET /api/maps/taxonomy": "settings",
    "PUT /api/maps/taxonomy": "settings",
    "GET /api/maps": "list",
    "POST /api/maps/import": "creates (as POST /api/maps)",
    "GET /api/audit": "the caller's audit trail (filters narrow it)",
    # the Segment-compatible tracking API: the write key is the credential
    **{
        f"POST /v1/{kind}": "credential"
        for kind in ("identify", "track", "page", "screen", "group", "alias", "batch")
    },
}

#: a body field whose name says it holds an id or key
ID_FIELD = re.compile(
    r"(^|_)(id|ids|key|keys)$|^(template|layout|group|segment|journey|offer|parent|variant_of)$"
)
#: id-like body fields that are no reference: the key of the object being created or saved
#: in the caller's workspace, or a label
OWN_KEYS = {
    ("POST /api/maps", "segment"),
    # a layout is looked up in the caller's workspace when the template renders (it may be
    # saved later; a missing one is reported by the template check at publish)
    ("PUT /api/channels/templates", "layout"),
    ("PUT /api/channels/templates", "key"),
    ("POST /api/channels/groups", "key"),
    ("POST /api/channels/messages", "idempotency_key"),
    ("POST /api/maps", "key"),
    ("POST /v1/batch", "writeKey"),
}


#: ids that exist nowhere, well-formed
NOWHERE: dict[str, Any] = {
    "profile": "prf_nowhere000000000000",
    "email": "nobody@nowhere.example",
    "message": "msg_nowhere000000000000",
    "task": "tsk_nowhere000000000000",
    "source": "src_nowhere000000000000",
    "token": "tok_nowhere000000000000",
    "journey": "nowhere-journey",
    "journey_id": "jrn_nowhere000000000000",
    "split_node": "nowhere-split",
    "insight": "nowhere-insight",
    "model": "nowhere-model",
    "model_version": 999_999,
    "segment": "nowhere-segment",
    "template": "nowhere-template",
    "offer": "nowhere-offer",
    "map": "nowhere-map",
    "group": "nowhere-group",
    "inbox_item": "inb_nowhere000000000000",
    "user": "usr_nowhere000000000000",
    "service_account": "svc_nowhere000000000000",
    "session": "ses_nowhere000000000000",
    "submission": "sub_nowhere000000000000",
    "parent_map": "nowhere-map",
}

Values = Callable[[str], Any]


@dataclass(frozen=True)
class Body:
    """How to build an operation's body from a workspace's ids (``v(kind)``)."""

    build: Callable[[Values], dict[str, Any]]
    #: send as form data instead of JSON
    form: bool = False
    #: the customer's inbox token instead of the admin's bearer token
    inbox: bool = False


BODIES: dict[str, Body] = {
    "POST /api/tokens": Body(lambda v: {"name": "sealed", "user_id": v("service_account")}),
    "PUT /api/users/{user_id}/role": Body(lambda v: {"role": "viewer"}),
    "PUT /api/users/{user_id}/enabled": Body(lambda v: {"enabled": True}),
    "POST /api/journeys/{key}/submissions/{submission_id}/reject": Body(
        lambda v: {"comment": "not yet"}
    ),
    "PUT /api/sources/{source_id}/enabled": Body(lambda v: {"enabled": True}),
    "PATCH /api/profiles/{profile_id}": Body(lambda v: {"traits": {"plan": "basic"}}),
    "PUT /api/segments/{key}": Body(
        lambda v: {"name": "Renamed", "rule": {"trait": "plan", "op": "eq", "value": "pro"}}
    ),
    "PUT /api/journeys/{key}/test-mode": Body(lambda v: {"enabled": False}),
    "POST /api/journeys/{key}/enrolments": Body(lambda v: {"profile_ids": [v("profile")]}),
    "POST /api/journeys/{key}/backfill": Body(lambda v: {"since": "2020-01-01T00:00:00Z"}),
    "POST /api/channels/messages": Body(
        lambda v: {
            "idempotency_key": "sealed-check",
            "profile_id": v("profile"),
            "channel": "email",
            "template": v("template"),
        }
    ),
    "POST /api/channels/templates/{key}/preview": Body(lambda v: {"profile_id": v("profile")}),
    "POST /api/channels/consents": Body(
        lambda v: {
            "profile_id": v("profile"),
            "channel": "email",
            "group": v("group"),
            "status": "granted",
        }
    ),
    "POST /api/channels/bounces": Body(
        lambda v: {"message_id": v("message"), "address": "jo@example.com", "kind": "soft"}
    ),
    "POST /api/channels/devices": Body(
        lambda v: {"profile_id": v("profile"), "token": "sealed-device", "platform": "ios"}
    ),
    "POST /api/channels/tasks/{task_id}/claim": Body(lambda v: {"assignee": "Jo"}),
    "POST /api/channels/tasks/{task_id}/complete": Body(
        lambda v: {"assignee": "Jo", "outcome": "called back"}
    ),
    "POST /api/channels/inbox-tokens": Body(lambda v: {"profile_id": v("profile")}),
    "POST /api/channels/inbox/read": Body(lambda v: {"ids": [v("inbox_item")]}, inbox=True),
    "POST /api/decisions/route": Body(
        lambda v: {"profile_id": v("profile"), "intent": "cancel", "channel": "chat"}
    ),
    "POST /api/decisions/offers": Body(lambda v: {"profile_id": v("profile"), "placement": "home"}),
    "PUT /api/decisions/catalogue/{key}": Body(lambda v: {"name": "Renamed offer"}),
    "POST /api/ml/models/{name}/score": Body(lambda v: {"profile_id": v("profile")}),
    "POST /api/maps/{key}/comments": Body(
        lambda v: {"body": "Checkout is slow", "element_id": v("insight")}
    ),
    "PUT /api/channels/templates": Body(
        lambda v: {
            "key": "sealed-sample",
            "channel": "email",
            "subject": "Hi",
            "body_text": "Hi",
            "sample_profile_id": v("profile"),
        }
    ),
    "POST /api/maps": Body(
        lambda v: {
            "key": "sealed-child",
            "name": "Child map",
            "parent": v("parent_map"),
            "variant_of": v("parent_map"),
            "stages": [{"key": "purchase"}],
        }
    ),
}


BODIES |= {
    "POST /api/journeys/validate": Body(
        lambda v: journey_document("sealed-new", "New", "ab", v("template"))
    ),
}
#: operations whose id sits inside a document: an id of another workspace is refused like an
#: id that exists nowhere, as a problem of the document (422)
DOCUMENT_REFERENCES = {"POST /api/journeys/validate", "POST /api/maps"}
#: operations that create or replace the object their path names in the caller's workspace: a
#: key that B uses makes A's own object and leaves B's alone
UPSERTS = {"PUT /api/decisions/catalogue/{key}"}
#: lookups of many ids at once that leave unknown ones out (lists of people hold ids of erased
#: profiles): B's ids are left out like ids that exist nowhere
LENIENT_LOOKUPS = {"GET /api/profiles/summaries"}
#: values for required query parameters that are not ids
REQUIRED_QUERY = {"channel": "email"}


@pytest.fixture
def world(ctx: Context, client: TestClient) -> World:
    return build_world(ctx, client)


# --- the walk ---------------------------------------------------------------------------


@dataclass
class Plan:
    """How to call one operation with a workspace's ids."""

    operation: str
    method: str
    path: str
    #: parameter -> kind of object, for path and query parameters
    path_kinds: dict[str, str]
    query_kinds: dict[str, str]
    choices: dict[str, str]
    #: required query parameters that are not ids
    required: dict[str, str]
    body: Body | None
    #: every kind the request names (parameters and body)
    kinds: list[str]


def _body_schema(spec: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any]:
    content = operation.get("requestBody", {}).get("content", {})
    schema = next(iter(content.values()), {}).get("schema", {})
    ref = schema.get("$ref")
    if ref:
        schema = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return dict(schema)


def _plans(spec: dict[str, Any], a: Ids) -> tuple[list[Plan], list[str]]:
    """A plan for every operation that names an id; the problems of classification."""
    plans: list[Plan] = []
    problems: list[str] = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            name = f"{method.upper()} {path}"
            path_kinds, query_kinds, choices, required = {}, {}, {}, {}
            for parameter in operation.get("parameters", []):
                pname, where = parameter["name"], parameter["in"]
                kind = lookup(PARAMETER_KINDS, pname, path)
                choice = lookup(CHOICES, pname, path)
                if where == "path":
                    if kind:
                        path_kinds[pname] = kind
                    elif choice:
                        choices[pname] = choice
                    elif name not in NO_FOREIGN_ID:
                        problems.append(f"{name}: what does path parameter {pname!r} name?")
                elif where == "query":
                    if kind:
                        query_kinds[pname] = kind
                    elif pname not in NOT_IDS:
                        problems.append(f"{name}: is query parameter {pname!r} an id?")
                    elif parameter.get("required"):
                        required[pname] = REQUIRED_QUERY[pname]
            body = BODIES.get(name)
            used: list[str] = []
            if body is not None:

                def record(kind: str, used: list[str] = used) -> Any:
                    used.append(kind)
                    return a[kind]

                built = body.build(record)
                own = {str(v) for v in a.values.values() if isinstance(v, str | int)}
                for prop in _body_schema(spec, operation).get("properties", {}):
                    if not ID_FIELD.search(prop) or (name, prop) in OWN_KEYS:
                        continue
                    value = built.get(prop)
                    values = value if isinstance(value, list) else [value]
                    if not any(str(x) in own for x in values):
                        problems.append(f"{name}: body field {prop!r} names an id: fill it")
            elif (
                operation.get("requestBody", {}).get("required")
                and path_kinds
                and name not in NO_FOREIGN_ID
            ):
                problems.append(f"{name}: give a valid body in BODIES")
            kinds = list(dict.fromkeys([*path_kinds.values(), *query_kinds.values(), *used]))
            if name in NO_FOREIGN_ID:
                if kinds:
                    problems.append(f"{name} names {kinds}: remove it from NO_FOREIGN_ID")
                continue
            if not kinds:
                problems.append(f"{name}: names no id; list it in NO_FOREIGN_ID with the reason")
                continue
            plans.append(
                Plan(
                    name,
                    method.upper(),
                    path,
                    path_kinds,
                    query_kinds,
                    choices,
                    required,
                    body,
                    kinds,
                )
            )
    order = {"GET": 0, "POST": 1, "PUT": 1, "PATCH": 1, "DELETE": 2}
    # upserts last: what they make in A under B's keys must not meet the other checks
    return sorted(plans, key=lambda p: (p.operation in UPSERTS, order[p.method])), problems


def _call(client: TestClient, plan: Plan, own: Ids, value: Values) -> Any:
    path = plan.path.format(**{p: value(k) for p, k in plan.path_kinds.items()}, **plan.choices)
    params = {p: value(k) for p, k in plan.query_kinds.items()} | plan.required
    headers = dict(own.headers)
    kwargs: dict[str, Any] = {}
    if plan.body is not None:
        if plan.body.inbox:
            headers = {"X-Inbox-Token": own.inbox_token}
        built = plan.body.build(value)
        kwargs = {"data": built} if plan.body.form else {"json": built}
    return client.request(plan.method, path, params=params, headers=headers, **kwargs)


def _field(plan: Plan, kind: str) -> str:
    """The parameter or body field that holds ``kind`` in ``plan``'s request."""
    for name, named in (plan.path_kinds | plan.query_kinds).items():
        if named == kind:
            return name
    assert plan.body is not None
    marker = object()
    built = plan.body.build(lambda k: marker if k == kind else "x")
    return next(
        name
        for name, value in built.items()
        if value is marker or (isinstance(value, list) and marker in value)
    )


def _override(own: Ids, kind: str, replacement: Any) -> Values:
    return lambda k: replacement if k == kind else own[k]


# --- what belongs to a workspace --------------------------------------------------------------

#: tables without a workspace column, owned through a column pointing at one that has it
_OWNED_THROUGH = {"profile_id": "profiles", "map_id": "journey_maps"}


class Snapshot:
    """Every row that belongs to one of the given workspaces, per workspace and table."""

    def __init__(self, ctx: Context, workspace_ids: list[str]) -> None:
        self.ctx = ctx
        self.workspace_ids = workspace_ids
        metadata = MetaData()
        metadata.reflect(ctx.store.engine)
        #: per table: its rows with the workspace they belong to (first column)
        self.queries: dict[str, Select[Any]] = {}
        for name, table in sorted(metadata.tables.items()):
            if "workspace_id" in table.c:
                owner_column = table.c.workspace_id
                query = select(owner_column, table)
            else:
                through = [c for c in _OWNED_THROUGH if c in table.c]
                if not through:
                    continue
                owner = metadata.tables[_OWNED_THROUGH[through[0]]]
                owner_column = owner.c.workspace_id
                query = select(owner_column, table).join(owner, owner.c.id == table.c[through[0]])
            self.queries[name] = query.where(owner_column.in_(workspace_ids))
        self.postgres = ctx.store.dialect == "postgresql"

    def take(self) -> dict[str, dict[str, list[str]]]:
        found: dict[str, dict[str, list[str]]] = {
            w: {name: [] for name in self.queries} for w in self.workspace_ids
        }
        with self.ctx.store.read() as conn:
            if self.postgres:
                # one round trip: each row as PostgreSQL's text form of the record
                parts = [
                    query.with_only_columns(
                        literal(name).label("t"),
                        query.selected_columns[0].label("w"),
                        cast(literal_column(f'"{name}"'), Text).label("r"),
                    )
                    for name, query in self.queries.items()
                ]
                for table, workspace, row in conn.execute(union_all(*parts)):
                    found[workspace][table].append(row)
            else:
                for name, query in self.queries.items():
                    for row in conn.execute(query):
                        found[row[0]][name].append(repr(tuple(row)[1:]))
        for tables in found.values():
            for rows in tables.values():
                rows.sort()
        return found


def _changes(before: dict[str, list[str]], after: dict[str, list[str]]) -> list[str]:
    changed = []
    for name in before:
        if before[name] != after[name]:
            gone = set(before[name]) - set(after[name])
            new = set(after[name]) - set(before[name])
            changed.append(f"{name}: -{sorted(gone)[:2]} +{sorted(new)[:2]}")
    return changed


# --- the test ---------------------------------------------------------------------------------


# every operation, twice or more, on each store: a hang guard, not a budget
@pytest.mark.timeout(300)
def test_no_operation_reaches_into_another_workspace(
    ctx: Context, client: TestClient, world: World
) -> None:
    spec = client.get("/openapi.json").json()
    plans, problems = _plans(spec, world.a)
    unknown = (
        {f"{m.upper()} {p}" for p, ops in spec["paths"].items() for m in ops}
        - set(NO_FOREIGN_ID)
        - {p.operation for p in plans}
    )
    assert not problems and not unknown, "\n".join(problems + sorted(unknown))
    a, b = world.a, world.b
    snapshot = Snapshot(ctx, [a.workspace_id, b.workspace_id])
    leaks: list[str] = []
    state = snapshot.take()
    reads_compared = False

    def compare(where: str, operation: str) -> None:
        nonlocal state
        after = snapshot.take()
        # an upsert makes A's own object; anything else refused leaves A alone too
        for owner, workspace_id in (("A", a.workspace_id), ("B", b.workspace_id)):
            before, now = state[workspace_id], after[workspace_id]
            if before != now and (owner == "B" or operation not in UPSERTS):
                leaks.append(f"{where}: changed {owner}'s {_changes(before, now)}")
        state = after

    def attempt(plan: Plan, kind: str, label: str, value: Any, expected: set[int]) -> int:
        response = _call(client, plan, a, _override(a, kind, value))
        where = f"{plan.operation} with {label} {kind}"
        if response.status_code not in expected:
            leaks.append(f"{where}: {response.status_code} {response.text[:300]}")
        elif response.status_code == 404 and response.json().get("field") != _field(plan, kind):
            # refused for this id, not for another one
            leaks.append(f"{where}: the 404 names {response.json().get('field')!r}")
        if B_MARK in response.text:
            leaks.append(f"{where}: the answer holds B's data")
        # reads (first in the walk) are compared once, together; each change on its own
        if plan.method != "GET":
            compare(where, plan.operation)
        return int(response.status_code)

    for plan in plans:
        if plan.method != "GET" and not reads_compared:
            compare("the reads (GET) with unknown and B's ids", "GET")
            reads_compared = True
        for kind in plan.kinds:
            if plan.operation in UPSERTS:
                attempt(plan, kind, "B's", b[kind], {200, 201})
                continue
            if plan.operation in LENIENT_LOOKUPS:
                attempt(plan, kind, "unknown", NOWHERE[kind], {200})
                attempt(plan, kind, "B's", b[kind], {200})
                continue
            document = plan.operation in DOCUMENT_REFERENCES
            nowhere = attempt(plan, kind, "unknown", NOWHERE[kind], {422} if document else {404})
            if kind not in SCOPED:
                attempt(plan, kind, "B's", b[kind], {nowhere} if document else {403, 404})

    # reads that take no id: the caller's own rows only (the sign-in round trip of a browser
    # is no read)
    for path, operations in spec["paths"].items():
        if "get" not in operations or f"GET {path}" not in NO_FOREIGN_ID or "{" in path:
            continue
        if path.startswith("/api/session/oidc/"):
            continue
        headers = {"X-Inbox-Token": a.inbox_token} if "/inbox" in path else a.headers
        params = {"seconds": 1} if path.endswith("/stream") else {}
        response = client.get(path, headers=headers, params=params)
        if response.status_code >= 500 or B_MARK in response.text:
            leaks.append(f"GET {path}: {response.status_code} {response.text[:300]}")

    # the controls: with A's own ids every request succeeds
    for plan in plans:
        response = _call(client, plan, a, a.__getitem__)
        if not 200 <= response.status_code < 300 and plan.operation not in CONTROL_REFUSED:
            leaks.append(
                f"{plan.operation} with A's ids: {response.status_code} {response.text[:300]}"
            )
    assert not leaks, "\n".join(leaks)


#: operations whose control is refused for a reason of their own, after the ids were found
CONTROL_REFUSED = {
    # A's model is registered without artefacts: it is no propensity model to score or compare
    "POST /api/ml/models/{name}/score",
    "GET /api/ml/models/{name}/comparison",
    # A's journey has instances already: a backfill is refused as a conflict
    "POST /api/journeys/{key}/backfill",
    # four eyes: the token that submitted the draft may not approve it
    "POST /api/journeys/{key}/submissions/{submission_id}/approve",
}
