"""Four-eyes publishing: a designer submits, a publisher who did not submit approves with both
documents and their differences in front of them, or rejects with a comment; only an approval
publishes, and every step is audited with the person who took it."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from partitur.context import Context
from partitur.core.actions import Role
from tests.support.access import make_person, token_for

WELCOME: dict[str, Any] = {
    "key": "welcome",
    "name": "Welcome",
    "entry": {"type": "event", "event": "Signed Up"},
    "start": "wait",
    "nodes": [
        {"id": "wait", "type": "wait", "duration": "P1D", "next": "bye"},
        {"id": "bye", "type": "exit"},
    ],
}


@pytest.fixture
def people(ctx: Context, client: TestClient, admin_headers: dict[str, str]) -> dict[str, Any]:
    """A designer and two publishers, each with a token; four-eyes publishing on."""
    made = {
        name: make_person(ctx, f"{name}@example.com", role)
        for name, role in (
            ("dana", Role.designer),
            ("pat", Role.publisher),
            ("quinn", Role.publisher),
        )
    }
    on = client.put(
        "/api/access/settings",
        json={"four_eyes_publish": True, "session_idle_minutes": 120, "session_max_hours": 12},
        headers=admin_headers,
    )
    assert on.status_code == 200 and on.json()["four_eyes_publish"] is True
    return {name: (user, token_for(ctx, user.id)) for name, user in made.items()}


def _audit(client: TestClient, headers: dict[str, str]) -> list[tuple[str, str]]:
    items = client.get("/api/audit", params={"action": "journey."}, headers=headers).json()
    return [(e["action"], e["actor"]) for e in reversed(items["items"])]


def test_a_designer_cannot_publish_but_submits_and_a_second_publisher_approves(
    client: TestClient, people: dict[str, Any], admin_headers: dict[str, str]
) -> None:
    (dana, as_dana), (pat, as_pat), (_, as_quinn) = (
        people["dana"],
        people["pat"],
        people["quinn"],
    )
    assert client.post("/api/journeys", json=WELCOME, headers=as_dana).status_code == 201
    refused = client.post("/api/journeys/welcome/publish", headers=as_dana)
    assert refused.status_code == 403
    # with four eyes on, a publisher cannot publish alone either
    alone = client.post("/api/journeys/welcome/publish", headers=as_pat)
    assert alone.status_code == 403 and "submit the draft" in alone.json()["detail"]

    submitted = client.post(
        "/api/journeys/welcome/submissions", json={"comment": "first cut"}, headers=as_dana
    )
    assert submitted.status_code == 201, submitted.text
    submission = submitted.json()
    assert submission["status"] == "pending" and submission["submitted_by"] == f"user:{dana.id}"
    queue = client.get("/api/journey-submissions", headers=as_pat).json()
    assert [s["id"] for s in queue] == [submission["id"]]

    review = client.get(
        f"/api/journeys/welcome/submissions/{submission['id']}", headers=as_pat
    ).json()
    assert review["published"] is None and review["proposed"]["key"] == "welcome"
    # never published: every part of the draft is new
    assert {c["path"] for c in review["changes"]} == set(review["proposed"])
    assert {c["kind"] for c in review["changes"]} == {"added"}

    approved = client.post(
        f"/api/journeys/welcome/submissions/{submission['id']}/approve", headers=as_pat
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved" and approved.json()["published_version"] == 1
    journey = client.get("/api/journeys/welcome", headers=as_quinn).json()
    assert journey["latest_version"] == 1 and journey["status"] == "active"
    assert _audit(client, admin_headers) == [
        ("journey.save_draft", f"user:{dana.id}"),
        ("journey.submit", f"user:{dana.id}"),
        ("journey.approve", f"user:{pat.id}"),
    ]


def test_the_submitter_cannot_approve_their_own_submission(
    client: TestClient, people: dict[str, Any]
) -> None:
    (_, as_pat), (quinn, as_quinn) = people["pat"], people["quinn"]
    client.post("/api/journeys", json=WELCOME, headers=as_pat)
    submission = client.post("/api/journeys/welcome/submissions", headers=as_pat).json()
    own = client.post(
        f"/api/journeys/welcome/submissions/{submission['id']}/approve", headers=as_pat
    )
    assert own.status_code == 403 and own.json()["field"] == "submission_id"
    assert client.get("/api/journeys/welcome", headers=as_pat).json()["latest_version"] is None
    approved = client.post(
        f"/api/journeys/welcome/submissions/{submission['id']}/approve", headers=as_quinn
    )
    assert approved.json()["decided_by"] == f"user:{quinn.id}"
    again = client.post(
        f"/api/journeys/welcome/submissions/{submission['id']}/approve", headers=as_quinn
    )
    assert again.status_code == 409


def test_a_rejection_says_why_and_publishes_nothing(
    client: TestClient, people: dict[str, Any], admin_headers: dict[str, str]
) -> None:
    (_, as_dana), (pat, as_pat) = people["dana"], people["pat"]
    client.post("/api/journeys", json=WELCOME, headers=as_dana)
    submission = client.post("/api/journeys/welcome/submissions", headers=as_dana).json()
    url = f"/api/journeys/welcome/submissions/{submission['id']}/reject"
    # a publisher rejects only with a reason
    assert client.post(url, json={"comment": ""}, headers=as_pat).status_code == 422
    rejected = client.post(url, json={"comment": "wait two days, not one"}, headers=as_pat)
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["decision_comment"] == "wait two days, not one"
    assert client.get("/api/journeys/welcome", headers=as_dana).json()["latest_version"] is None
    entries = client.get(
        "/api/audit", params={"action": "journey.reject"}, headers=admin_headers
    ).json()["items"]
    assert entries[0]["actor"] == f"user:{pat.id}"
    assert entries[0]["details"]["comment"] == "wait two days, not one"


def test_the_review_shows_what_changed_since_the_published_version(
    client: TestClient, people: dict[str, Any]
) -> None:
    (_, as_dana), (_, as_pat) = people["dana"], people["pat"]
    client.post("/api/journeys", json=WELCOME, headers=as_dana)
    first = client.post("/api/journeys/welcome/submissions", headers=as_dana).json()
    client.post(f"/api/journeys/welcome/submissions/{first['id']}/approve", headers=as_pat)

    changed = {
        **WELCOME,
        "name": "Welcome series",
        "nodes": [
            {"id": "bye", "type": "exit"},
            {"id": "wait", "type": "wait", "duration": "P2D", "next": "bye"},
        ],
    }
    client.post("/api/journeys", json=changed, headers=as_dana)
    second = client.post("/api/journeys/welcome/submissions", headers=as_dana).json()
    assert second["base_version"] == 1
    # edits after submitting change neither the submission nor what approval publishes
    client.post("/api/journeys", json={**changed, "name": "Edited later"}, headers=as_dana)
    review = client.get(f"/api/journeys/welcome/submissions/{second['id']}", headers=as_pat).json()
    assert review["published_version"] == 1 and review["draft_changed_since"] is True
    changes = {c["path"]: (c["kind"], c["before"], c["after"]) for c in review["changes"]}
    # the nodes moved in the list: no change; the wait got longer
    assert changes == {
        "name": ("changed", "Welcome", "Welcome series"),
        "nodes[id=wait].duration": ("changed", "P1D", "P2D"),
    }
    client.post(f"/api/journeys/welcome/submissions/{second['id']}/approve", headers=as_pat)
    published = client.get("/api/journeys/welcome", headers=as_pat).json()["published"]
    assert published["name"] == "Welcome series"
