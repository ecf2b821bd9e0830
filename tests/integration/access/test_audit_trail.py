"""The audit log names the person behind every change — consents and suppressions included —
with the session or token they came through, and can be queried by person, action, credential
and time."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from partitur.context import Context
from partitur.core.actions import Role
from partitur.core.clock import VirtualClock
from tests.channels.conftest import make_profile
from tests.support.access import make_person, sign_in


def test_a_persons_consent_and_suppression_changes_are_audited_with_them_and_their_session(
    client: TestClient, ctx: Context, admin_headers: dict[str, str], clock: VirtualClock
) -> None:
    ada = make_person(ctx, "ada@example.com", Role.admin)
    bob = make_person(ctx, "bob@example.com", Role.publisher)
    profile = make_profile(ctx, email="customer@example.com")
    before_sign_in = clock.now()
    clock.advance(timedelta(minutes=1))
    csrf = sign_in(client, "ada@example.com")
    session_id = client.get("/api/session").json()["session_id"]
    consent = client.post(
        "/api/channels/consents",
        json={"profile_id": profile, "channel": "email", "status": "granted"},
        headers=csrf,
    )
    assert consent.status_code == 200, consent.text
    suppressed = client.post(
        "/api/channels/suppressions",
        json={"channel": "email", "address": "spam@example.com"},
        headers=csrf,
    )
    assert suppressed.status_code == 204, suppressed.text
    # a person without workspace.manage does not read the audit log
    other = TestClient(client.app)
    sign_in(other, bob.email or "")
    assert other.get("/api/audit").status_code == 403

    mine = client.get(
        "/api/audit", params={"actor": f"user:{ada.id}"}, headers=admin_headers
    ).json()["items"]
    assert [e["action"] for e in mine] == ["suppression.add", "consent.change", "session.sign_in"]
    assert [e["credential"] for e in mine[:2]] == [session_id, session_id]
    assert {e["ip"] for e in mine} == {"testclient"}
    through_session = client.get(
        "/api/audit", params={"credential": session_id}, headers=admin_headers
    ).json()["items"]
    assert [e["action"] for e in through_session] == ["suppression.add", "consent.change"]
    earlier = client.get(
        "/api/audit",
        params={"actor": f"user:{ada.id}", "until": before_sign_in.isoformat()},
        headers=admin_headers,
    ).json()["items"]
    assert earlier == []
    page = client.get(
        "/api/audit", params={"actor": f"user:{ada.id}", "limit": 2}, headers=admin_headers
    ).json()
    rest = client.get(
        "/api/audit",
        params={"actor": f"user:{ada.id}", "limit": 2, "cursor": page["next_cursor"]},
        headers=admin_headers,
    ).json()
    assert [e["action"] for e in page["items"] + rest["items"]] == [e["action"] for e in mine]
