"""Fan-out (SQLite and PostgreSQL): one message for everyone in an audience, such as an outage
in a region, becomes each person's event, reaches their journeys and is stored once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from partitur.context import Context
from partitur.core.actions import Actor
from partitur.core.clock import VirtualClock
from partitur.demo.loader import resolve_identities
from partitur.events.tables import events
from partitur.identity.loops import IdentityResolver
from partitur.journeys import service as journeys
from partitur.profiles import service as profiles
from tests.integration.journeys.test_shell import pump

OUTAGE: dict[str, Any] = {
    "key": "outage",
    "name": "Outage notice",
    "entry": {"type": "event", "event": "Outage Detected"},
    "start": "wait",
    "nodes": [
        {
            "id": "wait",
            "type": "wait_for_event",
            "event": "Outage Resolved",
            "timeout": "P1D",
            "next": "done",
        },
        {"id": "done", "type": "exit", "reason": "resolved"},
    ],
}
NORD = {"trait": "region", "op": "eq", "value": "Nord"}


def people(ctx: Context, client: TestClient, write_key: str) -> dict[str, str]:
    """user id -> profile id of five customers, three in the region Nord."""
    for i, region in enumerate(["Nord", "Süd", "Nord", "Nord", "West"]):
        answer = client.post(
            "/v1/identify",
            json={"userId": f"u{i}", "traits": {"region": region}},
            auth=(write_key, ""),
        )
        assert answer.status_code == 200
    resolve_identities(ctx)
    with ctx.store.read() as conn:
        return {
            f"u{i}": profiles.find_profile(
                conn, workspace_id=ctx.workspace_id, kind="user_id", value=f"u{i}"
            ).id
            for i in range(5)
        }


def test_an_outage_in_a_region_reaches_everyone_there_once(
    ctx: Context,
    clock: VirtualClock,
    client: TestClient,
    write_key: str,
    admin_headers: dict[str, str],
) -> None:
    ids = people(ctx, client, write_key)
    with ctx.store.begin() as conn:
        journeys.save_draft(
            conn,
            workspace_id=ctx.workspace_id,
            document=OUTAGE,
            now=ctx.clock.now(),
            actor=Actor.system(ctx.workspace_id, "test"),
        )
        journeys.publish(
            conn,
            workspace_id=ctx.workspace_id,
            key="outage",
            now=ctx.clock.now(),
            actor=Actor.system(ctx.workspace_id, "test"),
        )
    body = {
        "message": {
            "event": "Outage Detected",
            "messageId": "inc-7",
            "properties": {"region": "Nord"},
        },
        "audience": {"rule": NORD},
    }
    answer = client.post("/api/events/fan-out", json=body, headers=admin_headers)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"profiles": 3, "accepted": 3, "duplicates": 0}
    # a retry (the monitoring system did not see the answer) stores nothing twice
    again = client.post("/api/events/fan-out", json=body, headers=admin_headers)
    assert again.json() == {"profiles": 3, "accepted": 0, "duplicates": 3}

    resolve_identities(ctx)
    with ctx.store.read() as conn:
        rows = conn.execute(
            select(events.c.profile_id, events.c.message_id).where(
                events.c.event == "Outage Detected"
            )
        ).all()
    nord = {ids["u0"], ids["u2"], ids["u3"]}
    assert {r.profile_id for r in rows} == nord  # on the customers' own profiles
    assert sorted(r.message_id for r in rows) == sorted(f"inc-7:{pid}" for pid in nord)
    pump(ctx)
    with ctx.store.read() as conn:
        entered = {
            i.profile_id
            for i in journeys.list_instances(conn, workspace_id=ctx.workspace_id, key="outage")
        }
    assert entered == nord

    # two hours later the all-clear fans out the same way and ends their waits
    clock.advance(timedelta(hours=2))
    resolved = {
        "message": {"event": "Outage Resolved", "messageId": "inc-7-ok"},
        "audience": {"rule": NORD},
    }
    assert (
        client.post("/api/events/fan-out", json=resolved, headers=admin_headers).status_code == 200
    )
    # on PostgreSQL the refused retry left a hole in seq: the (long-lived) resolver moves past
    # it once the transactions running when it first saw the hole have ended, on its next pass
    resolver = IdentityResolver(ctx)
    while resolver.run_once(ctx.clock.now()) or resolver.run_once(ctx.clock.now()):
        pass
    pump(ctx)
    with ctx.store.read() as conn:
        statuses = {
            i.status
            for i in journeys.list_instances(conn, workspace_id=ctx.workspace_id, key="outage")
        }
    assert statuses == {"completed"}


def test_a_bad_fan_out_names_the_field(client: TestClient, admin_headers: dict[str, str]) -> None:
    both = {"message": {"event": "X"}, "audience": {"segment": "s", "rule": NORD}}
    answer = client.post("/api/events/fan-out", json=both, headers=admin_headers)
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["field"] == "audience"
    unknown = {"message": {"event": "X"}, "audience": {"segment": "nope"}}
    assert (
        client.post("/api/events/fan-out", json=unknown, headers=admin_headers).status_code == 404
    )
    no_name = {"message": {"type": "track"}, "audience": {"rule": NORD}}
    answer = client.post("/api/events/fan-out", json=no_name, headers=admin_headers)
    assert answer.status_code == 422 and answer.json()["field"] == "event"
    bad_rule = {"message": {"event": "X"}, "audience": {"rule": {"trait": "region", "op": "??"}}}
    answer = client.post("/api/events/fan-out", json=bad_rule, headers=admin_headers)
    assert answer.status_code == 422 and answer.json()["field"].startswith("audience.rule")
