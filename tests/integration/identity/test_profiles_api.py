from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from partitur.context import Context
from partitur.events.tables import events
from partitur.identity.tables import suppressed_identifiers
from partitur.privacy.service import subject_history
from tests.conftest import START
from tests.integration.identity.conftest import Timeline
from tests.support.events import message


def _ada(timeline: Timeline, n_events: int = 0) -> None:
    timeline.add(
        message(
            "identify",
            at=START,
            user_id="u-ada",
            anonymous_id="anon-ada",
            traits={"email": "ada@example.com", "phone": "+49 (30) 1234-567", "plan": "basic"},
        ),
        *[
            message("track", at=START + timedelta(minutes=i + 1), user_id="u-ada", event=f"E{i}")
            for i in range(n_events)
        ],
    )
    timeline.resolve()


def test_lookup_by_each_identifier_returns_the_same_profile(
    client: TestClient, admin_headers: dict[str, str], timeline: Timeline
) -> None:
    _ada(timeline)
    found = {
        q: client.get(f"/api/profiles?{q}", headers=admin_headers)
        for q in (
            "user_id=u-ada",
            "email=ADA@example.com",
            "anonymous_id=anon-ada",
            "phone=%2B49301234567",
        )
    }
    assert {r.status_code for r in found.values()} == {200}
    assert len({r.json()["id"] for r in found.values()}) == 1
    body = found["user_id=u-ada"].json()
    assert body["traits"]["plan"] == "basic"
    assert body["identities"]["phone"] == ["+49301234567"]
    assert body["computed"]["event_count"] == 1
    missing = client.get("/api/profiles?email=nobody@example.com", headers=admin_headers)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    two = client.get("/api/profiles?email=a@b.c&user_id=x", headers=admin_headers)
    assert two.status_code == 422
    assert client.get("/api/profiles/prf_nope", headers=admin_headers).status_code == 404


def test_timeline_pages_newest_first(
    client: TestClient, admin_headers: dict[str, str], timeline: Timeline
) -> None:
    _ada(timeline, n_events=5)
    pid = client.get("/api/profiles?user_id=u-ada", headers=admin_headers).json()["id"]
    seen: list[str | None] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"/api/profiles/{pid}/events", params=params, headers=admin_headers)
        assert page.status_code == 200
        seen += [e["event"] for e in page.json()["items"]]
        pages += 1
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == ["E4", "E3", "E2", "E1", "E0", None]
    assert pages == 3
    bad = client.get(f"/api/profiles/{pid}/events?cursor=%%%", headers=admin_headers)
    assert bad.status_code == 400


def test_patch_sets_traits_and_keeps_history(
    client: TestClient, admin_headers: dict[str, str], timeline: Timeline, ctx: Context
) -> None:
    _ada(timeline)
    pid = client.get("/api/profiles?user_id=u-ada", headers=admin_headers).json()["id"]
    ctx.clock.advance(timedelta(days=1))
    patched = client.patch(
        f"/api/profiles/{pid}", json={"traits": {"plan": "premium"}}, headers=admin_headers
    )
    assert patched.status_code == 200
    assert patched.json()["traits"]["plan"] == "premium"
    empty = client.patch(f"/api/profiles/{pid}", json={"traits": {}}, headers=admin_headers)
    assert empty.status_code == 422
    export = client.get(f"/api/profiles/{pid}/export", headers=admin_headers).json()
    plan = [(h["value"], h["source"]) for h in export["trait_history"] if h["trait"] == "plan"]
    assert plan[0][0] == "basic"
    assert plan[-1] == ("premium", "api")


def test_export_holds_profile_identities_history_events_merges_and_audit(
    client: TestClient, admin_headers: dict[str, str], timeline: Timeline, ctx: Context
) -> None:
    _ada(timeline, n_events=2)
    ctx.clock.advance(timedelta(hours=1))
    timeline.add(message("page", at=START, anonymous_id="other-device"))
    timeline.resolve()
    ctx.clock.advance(timedelta(hours=1))
    timeline.add(message("identify", at=START, user_id="u-ada", anonymous_id="other-device"))
    timeline.resolve()
    pid = client.get("/api/profiles?user_id=u-ada", headers=admin_headers).json()["id"]
    export = client.get(f"/api/profiles/{pid}/export", headers=admin_headers)
    assert export.status_code == 200
    body = export.json()
    assert body["profile"]["id"] == pid
    assert sorted(body["profile"]["identities"]["anonymous_id"]) == ["anon-ada", "other-device"]
    assert len(body["events"]) == 5
    assert [m["survivor_id"] for m in body["merges"]] == [pid]
    assert {"email", "phone", "plan"} <= {h["trait"] for h in body["trait_history"]}
    assert "profile.merge" in [a["action"] for a in body["audit"]]
    merged_id = body["merges"][0]["merged_id"]
    redirect = client.get(f"/api/profiles/{merged_id}", headers=admin_headers).json()
    assert redirect["id"] == pid
    assert redirect["requested_id"] == merged_id
    merges = client.get(f"/api/profiles/{merged_id}/merges", headers=admin_headers).json()
    assert [m["merged_id"] for m in merges] == [merged_id]


def test_erasure_deletes_the_person_and_drops_later_events_for_them(
    client: TestClient, admin_headers: dict[str, str], timeline: Timeline, ctx: Context
) -> None:
    _ada(timeline, n_events=3)
    timeline.add(message("identify", at=START, user_id="u-bob", traits={"plan": "x"}))
    timeline.resolve()
    pid = client.get("/api/profiles?user_id=u-ada", headers=admin_headers).json()["id"]
    read_only = client.delete(f"/api/profiles/{pid}")
    assert read_only.status_code == 401
    erased = client.delete(f"/api/profiles/{pid}", headers=admin_headers)
    assert erased.status_code == 200
    assert erased.json()["events_erased"] == 4
    assert erased.json()["suppressed_identifiers"] == 4
    assert client.get(f"/api/profiles/{pid}", headers=admin_headers).status_code == 404
    assert (
        client.get("/api/profiles?email=ada@example.com", headers=admin_headers).status_code == 404
    )

    # later traffic for any erased identifier is dropped and counted, never re-creating Ada
    timeline.add(
        message("track", at=START + timedelta(days=1), anonymous_id="anon-ada", event="Back"),
        message("track", at=START + timedelta(days=1), user_id="u-ada", event="Back"),
        message(
            "track",
            at=START + timedelta(days=1),
            anonymous_id="new-device",
            context={"traits": {"email": "ADA@example.com"}},
        ),
        message("track", at=START + timedelta(days=1), user_id="u-bob", event="Still here"),
    )
    timeline.resolve()
    assert client.get("/api/profiles?user_id=u-ada", headers=admin_headers).status_code == 404
    assert (
        client.get("/api/profiles?anonymous_id=new-device", headers=admin_headers).status_code
        == 404
    )
    assert client.get("/api/profiles?user_id=u-bob", headers=admin_headers).status_code == 200
    with ctx.store.read() as conn:
        left = conn.execute(select(events.c.user_id, events.c.anonymous_id)).all()
        dropped = dict(
            conn.execute(
                select(suppressed_identifiers.c.kind, suppressed_identifiers.c.dropped_count)
            ).all()
        )
        audit = subject_history(
            conn, workspace_id=ctx.workspace_id, subject_type="profile", subject_id=pid
        )
    assert all("ada" not in str(row) for row in left)
    assert dropped == {"user_id": 1, "anonymous_id": 1, "email": 1, "phone": 0}
    erasure = [a for a in audit if a.action == "profile.erase"]
    assert len(erasure) == 1
    assert "ada" not in str(erasure[0].details)
