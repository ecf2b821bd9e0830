"""Every operation of the API that changes state is an action: it leaves exactly one audit entry.

The test walks ``/openapi.json``: each POST/PUT/PATCH/DELETE operation is either run below (in
an order that creates what later steps change) and must add exactly one audit entry naming the
expected action and the caller, or is declared here as not changing anything an operator
audits (queries sent as POST, the tracking API, runtime decisions). A new operation that is in
neither list fails the test until someone decides which it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from partitur.channels.dispatch import Dispatcher
from partitur.channels.signing import sign
from partitur.context import Context
from partitur.core.actions import Role
from partitur.storage.audit import audit_log
from tests.channels.conftest import make_profile, send
from tests.support.access import PASSWORD, make_person, token_for

#: POST operations that only read (a query that does not fit a URL) or validate
READS = {
    "POST /api/segments/preview",
    "POST /api/journeys/validate",
    "POST /api/channels/templates/{key}/preview",
    "POST /api/decisions/route",
    "POST /api/ml/sentiment",
    "POST /api/ml/topics",
    "POST /api/ml/models/{name}/score",
    "POST /api/analytics/funnels",
    "POST /api/analytics/paths/conversions",
    "POST /api/analytics/experiments/compare",
    "POST /api/analytics/attribution",
    "POST /api/analytics/scores",
}
#: customer data coming in: every event is its own record (the event log), not an action
INGESTION = {f"POST /v1/{kind}" for kind in ("identify", "track", "page", "screen", "group")} | {
    "POST /v1/alias",
    "POST /v1/batch",
}
#: runtime decisions at request rate; each is recorded in the decision's own log (impressions)
DECISIONS = {"POST /api/decisions/offers"}

JOURNEY = {
    "key": "welcome",
    "name": "Welcome",
    "entry": {"type": "event", "event": "Signed Up"},
    "start": "bye",
    "nodes": [{"id": "bye", "type": "exit"}],
}
SEGMENT = {"key": "vip", "name": "VIPs", "rule": {"trait": "plan", "op": "eq", "value": "pro"}}
MAP = {"key": "purchase", "name": "Online purchase", "stages": [{"key": "purchase"}]}


@dataclass
class Step:
    operation: str
    action: str
    request: Callable[[], dict[str, Any]]
    status: int = 200
    #: who calls: the admin token (a service account), a person's token, or nobody (signed
    #: links: the link is the credential)
    caller: Literal["admin", "person", "nobody"] = "admin"


def _audit_count(ctx: Context) -> int:
    with ctx.store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(audit_log)).scalar_one())


def _last_entry(ctx: Context) -> Any:
    with ctx.store.read() as conn:
        return conn.execute(select(audit_log).order_by(audit_log.c.id.desc()).limit(1)).one()


def _mutating_operations(client: TestClient) -> set[str]:
    spec = client.get("/openapi.json").json()
    return {
        f"{method.upper()} {path}"
        for path, operations in spec["paths"].items()
        for method in operations
        if method in ("post", "put", "patch", "delete")
    }


@pytest.fixture
def dispatcher(ctx: Context) -> Dispatcher:
    return Dispatcher(ctx)


# the whole demo (or every operation of the API) on each store: a hang guard, not a budget
@pytest.mark.timeout(300)
def test_every_mutating_operation_writes_exactly_one_audit_entry(
    ctx: Context, client: TestClient, admin_headers: dict[str, str], dispatcher: Dispatcher
) -> None:
    pid = make_profile(ctx, email="ada@example.com", plan="pro")
    gone = make_profile(ctx, email="grace@example.com")
    task_message = send(ctx, pid, "agent_task", payload={"reason": "callback", "queue": "care"})
    inbox_message = send(ctx, pid, "in_app", category="transactional", payload={"text": "Hi"})
    dispatcher.run_once(ctx.clock.now())
    assert task_message and inbox_message
    made: dict[str, Any] = {}

    def keep(name: str, response: dict[str, Any]) -> dict[str, Any]:
        made[name] = response
        return response

    inbox = sign(ctx.settings.secret_key, "inbox", {"w": ctx.workspace_id, "p": pid})
    sms = sign(ctx.settings.secret_key, "sms-inbound", {"w": ctx.workspace_id})
    owner = make_person(ctx, "owner@example.com", Role.owner)
    person_headers = token_for(ctx, owner.id)

    steps = [
        Step("POST /api/sources", "source.create", lambda: {"json": {"name": "shop"}}, 201),
        Step(
            "POST /api/sources/{source_id}/rotate-key",
            "source.rotate_key",
            lambda: {"path": {"source_id": made["source"]["id"]}},
        ),
        Step(
            "PUT /api/sources/{source_id}/enabled",
            "source.set_enabled",
            lambda: {"path": {"source_id": made["source"]["id"]}, "json": {"enabled": False}},
        ),
        Step(
            "POST /api/tokens",
            "token.create",
            lambda: {"json": {"name": "ci", "scopes": ["read"]}},
            201,
        ),
        Step(
            "DELETE /api/tokens/{token_id}",
            "token.revoke",
            lambda: {"path": {"token_id": made["token"]["id"]}},
            204,
        ),
        Step(
            "POST /api/session",
            "session.sign_in",
            lambda: {"json": {"token": admin_headers["Authorization"].split()[1]}},
        ),
        Step("DELETE /api/session", "session.sign_out", dict, 204),
        Step(
            "POST /api/session",
            "session.sign_in",
            lambda: {"json": {"email": "owner@example.com", "password": PASSWORD}},
            caller="nobody",
        ),
        Step(
            "DELETE /api/sessions/{session_id}",
            "session.revoke",
            lambda: {"path": {"session_id": made["session"]["session_id"]}},
            204,
        ),
        Step(
            "POST /api/users",
            "user.invite",
            lambda: {"json": {"email": "ada@example.com", "role": "designer"}},
            201,
        ),
        Step(
            "POST /api/account/activate",
            "account.activate",
            lambda: {"json": {"token": made["invitation"]["token"], "password": PASSWORD}},
            caller="nobody",
        ),
        Step(
            "PUT /api/users/{user_id}/role",
            "user.change_role",
            lambda: {
                "path": {"user_id": made["invitation"]["user"]["id"]},
                "json": {"role": "analyst"},
            },
        ),
        Step(
            "POST /api/users/{user_id}/password-reset",
            "user.reset_password",
            lambda: {"path": {"user_id": made["invitation"]["user"]["id"]}},
        ),
        Step(
            "DELETE /api/users/{user_id}/sessions",
            "user.end_sessions",
            lambda: {"path": {"user_id": made["invitation"]["user"]["id"]}},
        ),
        Step(
            "PUT /api/users/{user_id}/enabled",
            "user.set_enabled",
            lambda: {
                "path": {"user_id": made["invitation"]["user"]["id"]},
                "json": {"enabled": False},
            },
        ),
        Step(
            "POST /api/service-accounts",
            "service_account.create",
            lambda: {"json": {"name": "crm sync", "role": "agent"}},
            201,
        ),
        Step(
            "PUT /api/account",
            "account.update",
            lambda: {"json": {"name": "The Owner", "language": "de"}},
            caller="person",
        ),
        Step(
            "POST /api/account/password",
            "account.change_password",
            lambda: {"json": {"current_password": PASSWORD, "new_password": PASSWORD + "!"}},
            204,
            caller="person",
        ),
        Step(
            "PUT /api/access/settings",
            "access_settings.save",
            lambda: {"json": {"four_eyes_publish": False, "session_idle_minutes": 60}},
        ),
        Step(
            "PUT /api/access/oidc",
            "oidc.configure",
            lambda: {
                "json": {
                    "issuer": "https://login.example.com",
                    "client_id": "partitur",
                    "client_secret": "s3cret",
                }
            },
        ),
        Step("POST /api/segments", "segment.create", lambda: {"json": SEGMENT}, 201),
        Step(
            "PUT /api/segments/{key}",
            "segment.update",
            lambda: {
                "path": {"key": "vip"},
                "json": {"name": "Very important", "rule": SEGMENT["rule"]},
            },
        ),
        Step(
            "POST /api/segments/{key}/rebuild", "segment.rebuild", lambda: {"path": {"key": "vip"}}
        ),
        Step("DELETE /api/segments/{key}", "segment.delete", lambda: {"path": {"key": "vip"}}, 204),
        Step("POST /api/journeys", "journey.save_draft", lambda: {"json": JOURNEY}, 201),
        Step(
            "PUT /api/journeys/{key}/test-mode",
            "journey.set_test_mode",
            lambda: {"path": {"key": "welcome"}, "json": {"enabled": False}},
        ),
        Step(
            "POST /api/journeys/{key}/publish",
            "journey.publish",
            lambda: {"path": {"key": "welcome"}},
            201,
        ),
        Step(
            "POST /api/journeys/{key}/backfill",
            "journey.backfill",
            lambda: {"path": {"key": "welcome"}, "json": {"since": "2020-01-01T00:00:00Z"}},
        ),
        Step(
            "POST /api/journeys/{key}/enrolments",
            "journey.enrol",
            lambda: {"path": {"key": "welcome"}, "json": {"profile_ids": [pid]}},
        ),
        Step(
            "POST /api/journeys/{key}/{action}",
            "journey.pause",
            lambda: {"path": {"key": "welcome", "action": "pause"}},
        ),
        Step(
            "POST /api/journeys/{key}/submissions",
            "journey.submit",
            lambda: {"path": {"key": "welcome"}, "json": {"comment": "ready"}},
            201,
            caller="person",
        ),
        Step(
            "POST /api/journeys/{key}/submissions/{submission_id}/approve",
            "journey.approve",
            lambda: {"path": {"key": "welcome", "submission_id": made["submission"]["id"]}},
        ),
        Step(
            "POST /api/journeys/{key}/submissions",
            "journey.submit",
            lambda: {"path": {"key": "welcome"}},
            201,
            caller="person",
        ),
        Step(
            "POST /api/journeys/{key}/submissions/{submission_id}/reject",
            "journey.reject",
            lambda: {
                "path": {"key": "welcome", "submission_id": made["submission"]["id"]},
                "json": {"comment": "not yet"},
            },
        ),
        Step(
            "PUT /api/channels/providers",
            "provider.save",
            lambda: {
                "json": {
                    "channel": "webhook",
                    "name": "crm",
                    "kind": "webhook",
                    # an address the tests allow: a public name would need DNS, and the
                    # tests reach only loopback
                    "config": {"url": "http://127.0.0.1:9/hook"},
                }
            },
        ),
        Step("PUT /api/channels/policy", "delivery_policy.save", lambda: {"json": {}}),
        Step(
            "PUT /api/channels/templates",
            "template.save",
            lambda: {
                "json": {"key": "hello", "channel": "email", "subject": "Hi", "body_text": "Hi"}
            },
        ),
        Step(
            "POST /api/channels/groups",
            "subscription_group.create",
            lambda: {"json": {"key": "news", "name": "News", "channel": "email"}},
            201,
        ),
        Step(
            "POST /api/channels/consents",
            "consent.change",
            lambda: {"json": {"profile_id": pid, "channel": "email", "status": "granted"}},
        ),
        Step(
            "POST /api/channels/messages",
            "message.send",
            lambda: {
                "json": {
                    "idempotency_key": "audit-1",
                    "profile_id": pid,
                    "channel": "email",
                    "template": "hello",
                }
            },
            202,
        ),
        Step("POST /api/channels/dispatch", "outbox.dispatch", dict),
        Step(
            "POST /api/channels/suppressions",
            "suppression.add",
            lambda: {"json": {"channel": "email", "address": "spam@example.com"}},
            204,
        ),
        Step(
            "POST /api/channels/bounces",
            "bounce.report",
            lambda: {"json": {"address": "gone@example.com", "kind": "hard"}},
            204,
        ),
        Step(
            "POST /api/channels/bounces/dsn",
            "bounce.report_dsn",
            lambda: {"content": _dsn("gone@example.com")},
        ),
        Step(
            "POST /api/channels/devices",
            "device.register",
            lambda: {"json": {"profile_id": pid, "token": "device-token-1", "platform": "ios"}},
            204,
        ),
        Step(
            "POST /api/channels/inbound/sms/{token}",
            "consent.sms_reply",
            lambda: {"path": {"token": sms}, "data": {"From": "+4915112345678", "Body": "STOP"}},
        ),
        Step(
            "POST /api/channels/tasks/{task_id}/claim",
            "task.claim",
            lambda: {
                "path": {"task_id": _task_id(client, admin_headers)},
                "json": {"assignee": "Jo"},
            },
        ),
        Step(
            "POST /api/channels/tasks/{task_id}/complete",
            "task.complete",
            lambda: {
                "path": {"task_id": _task_id(client, admin_headers)},
                "json": {"assignee": "Jo", "outcome": "called back"},
            },
        ),
        Step(
            "POST /api/channels/inbox-tokens",
            "inbox_token.issue",
            lambda: {"json": {"profile_id": pid}},
        ),
        Step(
            "POST /api/channels/inbox/read",
            "inbox.mark_read",
            lambda: {
                "headers": {"X-Inbox-Token": inbox},
                "json": {"ids": _inbox_ids(client, inbox)},
            },
        ),
        Step(
            "PATCH /api/profiles/{profile_id}",
            "profile.update_traits",
            lambda: {"path": {"profile_id": pid}, "json": {"traits": {"plan": "basic"}}},
        ),
        Step(
            "DELETE /api/profiles/{profile_id}",
            "profile.erase",
            lambda: {"path": {"profile_id": gone}},
        ),
        Step(
            "POST /api/events/fan-out",
            "events.fan_out",
            lambda: {
                "json": {
                    "source": "status",
                    "audience": {"rule": {"trait": "plan", "op": "eq", "value": "basic"}},
                    "message": {"type": "track", "event": "Outage"},
                }
            },
        ),
        Step("POST /api/decisions/value/refresh", "value.refresh", dict),
        Step(
            "PUT /api/decisions/policies/{kind}",
            "decision_policy.save",
            lambda: {"path": {"kind": "routing"}, "json": _routing_policy(client, admin_headers)},
        ),
        Step(
            "PUT /api/decisions/catalogue/{key}",
            "offer.save",
            lambda: {"path": {"key": "stay20"}, "json": {"name": "20 % off to stay"}},
        ),
        Step(
            "DELETE /api/decisions/catalogue/{key}",
            "offer.delete",
            lambda: {"path": {"key": "stay20"}},
            204,
        ),
        Step(
            "POST /api/ml/models/{name}/versions/{version}/activate",
            "model.activate",
            lambda: {"path": _model_version(ctx)},
        ),
        Step(
            "PUT /api/analytics/monitor/config",
            "monitor.configure",
            lambda: {
                "json": client.get("/api/analytics/monitor/config", headers=admin_headers).json()
            },
        ),
        Step("POST /api/analytics/monitor/run", "monitor.run", dict),
        Step(
            "PUT /api/maps/taxonomy",
            "map_taxonomy.save",
            lambda: {"json": client.get("/api/maps/taxonomy", headers=admin_headers).json()},
        ),
        Step("POST /api/maps", "map.save", lambda: {"json": MAP}, 201),
        Step(
            "POST /api/maps/import",
            "map.save",
            lambda: {"json": {**MAP, "key": "imported"}, "params": {"format": "json"}},
            201,
        ),
        Step(
            "POST /api/maps/{key}/comments",
            "map.comment",
            lambda: {"path": {"key": "purchase"}, "json": {"body": "Checkout is slow"}},
            201,
        ),
        Step("DELETE /api/maps/{key}", "map.delete", lambda: {"path": {"key": "imported"}}, 204),
    ]

    declared = READS | INGESTION | DECISIONS | {s.operation for s in steps}
    unknown = _mutating_operations(client) - declared
    assert not unknown, f"classify these operations in this test: {sorted(unknown)}"

    for step in steps:
        method, template = step.operation.split(" ", 1)
        request = step.request()
        path = template.format(**request.pop("path", {}))
        caller = {"admin": admin_headers, "person": person_headers, "nobody": {}}[step.caller]
        headers = {**caller, **request.pop("headers", {})}
        if "X-Inbox-Token" in headers or "/inbound/sms/" in path:
            headers.pop("Authorization")
        before = _audit_count(ctx)
        response = client.request(method, path, headers=headers, **request)
        assert response.status_code == step.status, (step.operation, response.text)
        if step.operation == "POST /api/sources":
            keep("source", response.json())
        if step.operation == "POST /api/tokens":
            keep("token", response.json())
        if step.operation == "POST /api/session":
            keep("session", response.json())
        if step.operation == "POST /api/users":
            keep("invitation", response.json())
        if step.operation == "POST /api/journeys/{key}/submissions":
            keep("submission", response.json())
        assert _audit_count(ctx) - before == 1, step.operation
        entry = _last_entry(ctx)
        assert entry.action == step.action, step.operation
        assert entry.workspace_id == ctx.workspace_id
        if "X-Inbox-Token" in headers or "/sms/" in path:
            expected_actor = "customer:"
        elif step.caller == "admin":
            # the test's admin token is an early token: the service account of its scope
            expected_actor = "service:"
        else:
            expected_actor = "user:"
        assert entry.actor.startswith(expected_actor), (step.operation, entry.actor)


def _task_id(client: TestClient, headers: dict[str, str]) -> str:
    tasks = client.get("/api/channels/tasks", headers=headers).json()
    return str(tasks[0]["id"])


def _inbox_ids(client: TestClient, token: str) -> list[str]:
    items = client.get("/api/channels/inbox", headers={"X-Inbox-Token": token}).json()
    return [item["id"] for item in items]


def _routing_policy(client: TestClient, headers: dict[str, str]) -> Any:
    return client.get("/api/decisions/policies/routing", headers=headers).json()["document"]


def _model_version(ctx: Context) -> dict[str, str]:
    from partitur.core.actions import Actor
    from partitur.ml import registry

    with ctx.store.begin() as conn:
        made = registry.register_model(
            conn,
            workspace_id=ctx.workspace_id,
            name="churn",
            kind="test",
            params={},
            metrics={},
            files={},
            var_dir=ctx.settings.var_dir,
            now=ctx.clock.now(),
            activate=False,
            actor=Actor.system(ctx.workspace_id, "test"),
        )
    return {"name": "churn", "version": str(made.version)}


def _dsn(address: str) -> bytes:
    return (
        "From: MAILER-DAEMON@example.com\r\n"
        "To: bounces@example.com\r\n"
        "Subject: Undelivered Mail\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n'
        "\r\n--b\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.com\r\n\r\n"
        f"Final-Recipient: rfc822; {address}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "--b--\r\n"
    ).encode()
