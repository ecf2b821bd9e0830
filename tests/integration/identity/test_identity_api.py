"""Identity resolution over HTTP: its progress, and the identifiers an erasure leaves behind."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import START
from tests.integration.identity.conftest import Timeline
from tests.support.events import message


def test_status_shows_the_backlog_until_the_resolver_catches_up(
    client: TestClient, admin_headers: dict[str, str], timeline: Timeline
) -> None:
    empty = client.get("/api/identity/status", headers=admin_headers).json()
    assert empty == {"resolved_position": 0, "latest_seq": 0, "pending_events": 0}
    seqs = timeline.add(
        message("identify", at=START, user_id="u-1", traits={"email": "kim@example.com"}),
        message("track", at=START, user_id="u-1", event="Product Viewed"),
    )
    waiting = client.get("/api/identity/status", headers=admin_headers).json()
    assert waiting["pending_events"] == 2 and waiting["latest_seq"] == max(seqs)
    timeline.resolve()
    done = client.get("/api/identity/status", headers=admin_headers).json()
    assert done == {"resolved_position": max(seqs), "latest_seq": max(seqs), "pending_events": 0}


def test_an_erased_persons_identifiers_are_listed_as_hashes_only(
    client: TestClient, admin_headers: dict[str, str], timeline: Timeline
) -> None:
    timeline.add(message("identify", at=START, user_id="u-2", traits={"email": "lou@example.com"}))
    timeline.resolve()
    profile = client.get("/api/profiles?user_id=u-2", headers=admin_headers).json()
    assert client.get("/api/identity/suppressions", headers=admin_headers).json() == []
    erased = client.delete(f"/api/profiles/{profile['id']}", headers=admin_headers)
    assert erased.status_code == 200
    listed = client.get("/api/identity/suppressions", headers=admin_headers)
    assert listed.status_code == 200
    kinds = sorted(s["kind"] for s in listed.json())
    assert kinds == ["email", "user_id"]
    assert "lou@example.com" not in listed.text and "u-2" not in listed.text
    assert all(len(s["value_hash"]) == 64 and s["dropped_count"] == 0 for s in listed.json())
