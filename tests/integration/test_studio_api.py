"""The read API the Studio's overview, profile, quarantine and sources pages use, on SQLite and
PostgreSQL: event volume, people search and summaries, source write keys for admins only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from partitur.access import service as access
from partitur.access.contracts import Scope
from partitur.context import Context
from partitur.core.actions import Actor
from partitur.core.clock import VirtualClock
from partitur.events.tables import events, quarantine
from partitur.identity.tables import identities
from partitur.profiles.tables import profiles
from partitur.workspaces import service as workspaces


def token(ctx: Context, scope: Scope) -> dict[str, str]:
    """Bearer headers of a new token with ``scope``."""
    with ctx.store.begin() as conn:
        issued = access.create_token(
            conn,
            workspace_id=ctx.workspace_id,
            name="ui",
            scopes=[scope],
            now=ctx.clock.now(),
            actor=Actor.system(ctx.workspace_id, "test"),
        )
    return {"Authorization": f"Bearer {issued.token}"}


@pytest.fixture
def anna(ctx: Context) -> str:
    """A customer with a merged-away anonymous profile, a timeline and a quarantined message."""
    now = ctx.clock.now()
    ws = ctx.workspace_id
    with ctx.store.begin() as conn:
        web = workspaces.create_source(
            conn, workspace_id=ws, name="web", now=now, actor=Actor.system(ws, "test")
        )
        support = workspaces.create_source(
            conn, workspace_id=ws, name="support", now=now, actor=Actor.system(ws, "test")
        )
        base = {"workspace_id": ws, "created_at": now, "updated_at": now, "trait_times": {}}
        conn.execute(
            profiles.insert(),
            [
                {
                    **base,
                    "id": "prf_anna",
                    "traits": {
                        "first_name": "Anna",
                        "last_name": "Müller",
                        "email": "anna@example.com",
                    },
                    "computed": {"event_count": 3, "order_count": 1, "revenue": 129.9},
                    "first_seen_at": now - timedelta(days=3),
                    "last_seen_at": now - timedelta(hours=1),
                    "timezone": "Europe/Berlin",
                    "locale": "de-DE",
                    "is_test": False,
                },
            ],
        )
        conn.execute(
            profiles.insert().values(
                **base, id="prf_anon", merged_into="prf_anna", traits={}, computed={}, is_test=False
            )
        )
        ident = {
            "workspace_id": ws,
            "profile_id": "prf_anna",
            "first_seen_at": now,
            "last_seen_at": now,
        }
        conn.execute(
            identities.insert(),
            [
                {**ident, "kind": "user_id", "value": "C100001"},
                {**ident, "kind": "email", "value": "anna@example.com"},
                {**ident, "kind": "anonymous_id", "value": "w-anna-1"},
            ],
        )
        row = {
            "workspace_id": ws,
            "profile_id": "prf_anna",
            "received_at": now,
            "user_id": "C100001",
        }
        conn.execute(
            events.insert(),
            [
                {
                    **row,
                    "source_id": web.id,
                    "message_id": "m1",
                    "type": "page",
                    "event": "Home",
                    "timestamp": now - timedelta(days=3),
                    "properties": {"path": "/", "title": "Home"},
                },
                {
                    **row,
                    "source_id": web.id,
                    "message_id": "m2",
                    "type": "track",
                    "event": "Order Completed",
                    "timestamp": now - timedelta(days=2),
                    "properties": {"order_id": "NH-100001", "revenue": 129.9, "currency": "EUR"},
                },
                {
                    **row,
                    "source_id": support.id,
                    "message_id": "m3",
                    "type": "track",
                    "event": "Ticket Created",
                    "timestamp": now - timedelta(hours=1),
                    "properties": {
                        "ticket_id": "T-1",
                        "text": "Wo bleibt meine Bestellung?",
                        "sentiment_label": "negative",
                    },
                },
            ],
        )
        conn.execute(
            quarantine.insert().values(
                workspace_id=ws,
                source_id=web.id,
                received_at=now,
                origin="api",
                position="3",
                reason="a message needs a userId or an anonymousId",
                field="userId",
                payload="{}",
            )
        )
    return "prf_anna"


def test_the_event_volume_counts_per_day_and_source_and_names_the_sources(
    client: TestClient, ctx: Context, anna: str
) -> None:
    answer = client.get("/api/events/volume", params={"days": 7}, headers=token(ctx, Scope.read))
    assert answer.status_code == 200
    volume = answer.json()
    assert volume["events"] == 3 and volume["events_last_day"] == 1
    assert volume["quarantined"] == 1 and volume["period_total"] == 3
    assert {s["name"]: s["events"] for s in volume["sources"]} == {"web": 2, "support": 1}
    assert len(volume["days"]) == 7
    today = ctx.clock.now().date()
    assert volume["last_day"] == today.isoformat()
    by_day = {d["day"]: d["total"] for d in volume["days"]}
    assert by_day[(today - timedelta(days=3)).isoformat()] == 1
    assert by_day[today.isoformat()] == 1


def test_the_event_volume_refuses_a_period_out_of_range(client: TestClient, ctx: Context) -> None:
    answer = client.get("/api/events/volume", params={"days": 0}, headers=token(ctx, Scope.read))
    assert answer.status_code == 422 and answer.json()["field"] == "days"


def test_the_volume_follows_new_events_within_half_a_minute(
    client: TestClient, ctx: Context, clock: VirtualClock, anna: str
) -> None:
    headers = token(ctx, Scope.read)
    assert client.get("/api/events/volume", headers=headers).json()["events"] == 3
    with ctx.store.begin() as conn:
        web = workspaces.get_source_by_name(conn, workspace_id=ctx.workspace_id, name="web")
        conn.execute(
            events.insert().values(
                workspace_id=ctx.workspace_id,
                source_id=web.id,
                message_id="m4",
                type="track",
                event="Product Viewed",
                timestamp=ctx.clock.now(),
                received_at=ctx.clock.now(),
            )
        )
    # a log that keeps growing is not scanned at every look
    assert client.get("/api/events/volume", headers=headers).json()["events"] == 3
    clock.advance(timedelta(seconds=31))
    assert client.get("/api/events/volume", headers=headers).json()["events"] == 4


def test_the_profile_count_leaves_out_merged_profiles(
    client: TestClient, ctx: Context, anna: str
) -> None:
    answer = client.get("/api/profiles/count", headers=token(ctx, Scope.read))
    assert answer.json() == {"profiles": 1}


def test_a_search_by_email_in_any_case_finds_the_person(
    client: TestClient, ctx: Context, anna: str
) -> None:
    headers = token(ctx, Scope.read)
    for q in ("ANNA@example.com", "C100001", "w-anna-1", "prf_anon"):
        found = client.get("/api/profiles/search", params={"q": q}, headers=headers).json()
        assert [(p["id"], p["name"]) for p in found] == [(anna, "Anna Müller")], q
    (person,) = client.get(
        "/api/profiles/search", params={"q": "anna@example.com"}, headers=headers
    ).json()
    assert person["email"] == "anna@example.com" and person["user_id"] == "C100001"
    assert person["event_count"] == 3


def test_a_search_without_a_match_is_empty_and_without_a_query_lists_the_recent(
    client: TestClient, ctx: Context, anna: str
) -> None:
    headers = token(ctx, Scope.read)
    assert (
        client.get(
            "/api/profiles/search", params={"q": "nobody@example.com"}, headers=headers
        ).json()
        == []
    )
    recent = client.get("/api/profiles/search", headers=headers).json()
    assert [p["id"] for p in recent] == [anna]  # the merged-away profile is not listed


def test_summaries_answer_a_merged_id_with_the_survivor_and_skip_unknown_ids(
    client: TestClient, ctx: Context, anna: str
) -> None:
    answer = client.get(
        "/api/profiles/summaries",
        params=[("ids", "prf_anon"), ("ids", "prf_nobody"), ("ids", anna)],
        headers=token(ctx, Scope.read),
    )
    assert answer.status_code == 200
    assert [(p["id"], p["requested_id"], p["name"]) for p in answer.json()] == [
        (anna, "prf_anon", "Anna Müller"),
        (anna, None, "Anna Müller"),
    ]


def test_write_keys_are_shown_to_admins_only(client: TestClient, ctx: Context, anna: str) -> None:
    with ctx.store.read() as conn:
        key = workspaces.get_source_by_name(
            conn, workspace_id=ctx.workspace_id, name="web"
        ).write_key
    read = client.get("/api/sources", headers=token(ctx, Scope.read)).json()
    assert {s["name"] for s in read} == {"web", "support"}
    assert all(s["write_key"] is None for s in read)
    admin = client.get("/api/sources", headers=token(ctx, Scope.admin)).json()
    assert key in {s["write_key"] for s in admin}


def test_the_timeline_pages_back_with_older_events(
    client: TestClient, ctx: Context, anna: str
) -> None:
    now = ctx.clock.now()
    with ctx.store.begin() as conn:
        source = workspaces.get_source_by_name(conn, workspace_id=ctx.workspace_id, name="web")
        conn.execute(
            events.insert(),
            [
                {
                    "workspace_id": ctx.workspace_id,
                    "source_id": source.id,
                    "message_id": f"old-{k}",
                    "type": "track",
                    "event": f"Old Event {k}",
                    "user_id": "C100001",
                    "profile_id": anna,
                    "timestamp": now - timedelta(days=10, minutes=k),
                    "received_at": now,
                }
                for k in range(60)
            ],
        )
    headers = token(ctx, Scope.read)
    first = client.get(f"/api/profiles/{anna}/events", headers=headers).json()
    names = [e["event"] for e in first["items"]]
    assert len(names) == 50 and names[0] == "Ticket Created" and "Old Event 59" not in names
    second = client.get(
        f"/api/profiles/{anna}/events", params={"cursor": first["next_cursor"]}, headers=headers
    ).json()
    assert len(second["items"]) == 13 and second["items"][-1]["event"] == "Old Event 59"
    assert second["next_cursor"] is None


def test_the_quarantine_lists_refused_messages_with_reason_and_field(
    client: TestClient, ctx: Context, anna: str
) -> None:
    (item,) = client.get("/api/quarantine", headers=token(ctx, Scope.read)).json()["items"]
    assert item["reason"] == "a message needs a userId or an anonymousId"
    assert item["field"] == "userId" and item["position"] == "3"
