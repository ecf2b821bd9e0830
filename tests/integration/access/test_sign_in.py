"""Signing in with e-mail and password; server-side sessions that expire, can be listed and
revoked, need the CSRF token for changes; failed sign-ins audited and rate limited."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient

from partitur.access import service as access
from partitur.api.deps import SESSION_COOKIE
from partitur.context import Context
from partitur.core.actions import Role
from partitur.core.clock import VirtualClock
from tests.support.access import PASSWORD, make_person, sign_in, token_for


def _audit(client: TestClient, headers: dict[str, str], **params: str) -> list[dict[str, object]]:
    answer = client.get("/api/audit", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, object]] = answer.json()["items"]
    return items


def test_a_person_signs_in_with_email_and_password_and_the_session_says_who_they_are(
    client: TestClient, ctx: Context, admin_headers: dict[str, str]
) -> None:
    ada = make_person(ctx, "Ada@Example.com", Role.publisher, name="Ada Lovelace")
    answer = client.post("/api/session", json={"email": "ada@example.com", "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    info = answer.json()
    assert info["name"] == "Ada Lovelace" and info["email"] == "ada@example.com"
    assert info["role"] == "publisher" and info["user_id"] == ada.id
    assert info["actor"] == f"user:{ada.id}" and info["language"] == "en"
    assert "journeys.publish" in info["permissions"] and "access.manage" not in info["permissions"]
    # the cookie carries a random session secret, never an API token
    cookie = client.cookies[SESSION_COOKIE]
    assert not cookie.startswith("ptk_") and len(cookie) >= 40
    again = client.get("/api/session").json()
    assert again["session_id"] == info["session_id"] and again["csrf_token"] == info["csrf_token"]
    (entry,) = _audit(client, admin_headers, action="session.sign_in")
    assert entry["actor"] == f"user:{ada.id}" and entry["credential"] is None
    assert entry["details"]["method"] == "password"


def test_a_wrong_password_is_refused_and_audited_without_the_password(
    client: TestClient, ctx: Context, admin_headers: dict[str, str]
) -> None:
    ada = make_person(ctx, "ada@example.com", Role.viewer)
    wrong = client.post("/api/session", json={"email": "ada@example.com", "password": "nope!"})
    assert wrong.status_code == 401 and wrong.headers["content-type"] == "application/problem+json"
    unknown = client.post("/api/session", json={"email": "eve@example.com", "password": "x"})
    assert unknown.status_code == 401 and unknown.json()["detail"] == wrong.json()["detail"]
    assert SESSION_COOKIE not in client.cookies
    entries = _audit(client, admin_headers, action="session.sign_in_failed")
    assert [e["subject_id"] for e in entries] == ["email:eve@example.com", ada.id]
    assert {e["actor"] for e in entries} == {"anonymous"}
    assert entries[1]["details"] == {"reason": "wrong_password", "method": "password"}
    assert entries[1]["ip"] == "testclient"
    assert "nope!" not in str(entries)


def test_failed_sign_ins_lock_the_account_with_retry_after_until_the_lock_ends(
    client: TestClient, ctx: Context, clock: VirtualClock
) -> None:
    make_person(ctx, "ada@example.com", Role.viewer)
    for _ in range(access.ACCOUNT_FAILURES):
        bad = client.post("/api/session", json={"email": "ada@example.com", "password": "guess"})
        assert bad.status_code == 401
    # locked: even the right password is not tried now
    locked = client.post("/api/session", json={"email": "ada@example.com", "password": PASSWORD})
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) == access.LOCK_TIME.total_seconds()
    assert locked.json()["retry_after"] == int(locked.headers["retry-after"])
    clock.advance(access.LOCK_TIME - timedelta(seconds=30))
    still = client.post("/api/session", json={"email": "ada@example.com", "password": PASSWORD})
    assert still.status_code == 429 and still.headers["retry-after"] == "30"
    clock.advance(timedelta(seconds=30))
    assert sign_in(client, "ada@example.com")


def test_failed_sign_ins_from_one_address_are_limited_across_accounts(
    client: TestClient, ctx: Context
) -> None:
    make_person(ctx, "ada@example.com", Role.viewer)
    for i in range(access.IP_FAILURES):
        bad = client.post("/api/session", json={"email": f"p{i}@example.com", "password": "x"})
        assert bad.status_code == 401
    refused = client.post("/api/session", json={"email": "ada@example.com", "password": PASSWORD})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0


def test_a_change_through_the_session_needs_its_csrf_token(
    client: TestClient, ctx: Context
) -> None:
    make_person(ctx, "ada@example.com", Role.admin)
    csrf = sign_in(client, "ada@example.com")
    assert client.post("/api/sources", json={"name": "app"}).status_code == 403
    wrong = client.post("/api/sources", json={"name": "app"}, headers={"X-CSRF-Token": "forged"})
    assert wrong.status_code == 403 and wrong.json()["field"] == "X-CSRF-Token"
    assert client.post("/api/sources", json={"name": "app"}, headers=csrf).status_code == 201
    assert client.get("/api/sources").status_code == 200


def test_a_session_ends_after_the_idle_time_and_at_its_absolute_end(
    client: TestClient, ctx: Context, clock: VirtualClock, admin_headers: dict[str, str]
) -> None:
    make_person(ctx, "ada@example.com", Role.viewer)
    settings = client.put(
        "/api/access/settings",
        json={"four_eyes_publish": False, "session_idle_minutes": 30, "session_max_hours": 2},
        headers=admin_headers,
    )
    assert settings.status_code == 200
    sign_in(client, "ada@example.com")
    # in use every 20 minutes: the idle time never runs out, the absolute end does
    for _ in range(5):
        clock.advance(timedelta(minutes=20))
        assert client.get("/api/session").status_code == 200
    clock.advance(timedelta(minutes=20))
    assert client.get("/api/session").status_code == 401
    sign_in(client, "ada@example.com")
    clock.advance(timedelta(minutes=31))
    expired = client.get("/api/session")
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]


def test_sessions_are_listed_and_one_can_be_revoked_from_another(
    client: TestClient, ctx: Context, new_browser: Callable[[], TestClient]
) -> None:
    make_person(ctx, "ada@example.com", Role.viewer)
    laptop, phone = client, new_browser()
    csrf = sign_in(laptop, "ada@example.com")
    sign_in(phone, "ada@example.com")
    sessions = laptop.get("/api/sessions").json()
    assert len(sessions) == 2 and [s["current"] for s in sessions] == [False, True]
    other = sessions[0]["id"]
    assert laptop.delete(f"/api/sessions/{other}", headers=csrf).status_code == 204
    assert phone.get("/api/session").status_code == 401
    assert [s["id"] for s in laptop.get("/api/sessions").json()] == [sessions[1]["id"]]


def test_signing_out_ends_the_session_on_the_server(
    client: TestClient, ctx: Context, new_browser: Callable[[], TestClient]
) -> None:
    make_person(ctx, "ada@example.com", Role.viewer)
    csrf = sign_in(client, "ada@example.com")
    secret = client.cookies[SESSION_COOKIE]
    assert client.delete("/api/session", headers=csrf).status_code == 204
    # the old cookie, kept by someone, no longer works
    thief = new_browser()
    thief.cookies.set(SESSION_COOKIE, secret)
    assert thief.get("/api/session").status_code == 401


def test_disabling_a_person_ends_their_sessions_and_refuses_their_tokens_at_once(
    client: TestClient,
    ctx: Context,
    admin_headers: dict[str, str],
    new_browser: Callable[[], TestClient],
) -> None:
    ada = make_person(ctx, "ada@example.com", Role.publisher)
    token = token_for(ctx, ada.id)
    browser = new_browser()
    sign_in(browser, "ada@example.com")
    assert client.get("/api/journeys", headers=token).status_code == 200
    disabled = client.put(
        f"/api/users/{ada.id}/enabled", json={"enabled": False}, headers=admin_headers
    )
    assert disabled.status_code == 200 and disabled.json()["status"] == "disabled"
    assert browser.get("/api/session").status_code == 401
    assert client.get("/api/journeys", headers=token).status_code == 401
    again = browser.post("/api/session", json={"email": "ada@example.com", "password": PASSWORD})
    assert again.status_code == 401
    client.put(f"/api/users/{ada.id}/enabled", json={"enabled": True}, headers=admin_headers)
    assert client.get("/api/journeys", headers=token).status_code == 200


def test_a_browser_signed_in_with_a_token_loses_the_session_with_the_token(
    client: TestClient, ctx: Context, admin_headers: dict[str, str]
) -> None:
    ada = make_person(ctx, "ada@example.com", Role.analyst)
    bearer = token_for(ctx, ada.id)
    token = bearer["Authorization"].split()[1]
    info = client.post("/api/session", json={"token": token}).json()
    assert info["email"] == "ada@example.com" and info["role"] == "analyst"
    (made,) = client.get("/api/tokens", headers=bearer).json()
    client.delete(f"/api/tokens/{made['id']}", headers=admin_headers)
    assert client.get("/api/session").status_code == 401


def test_the_sign_in_page_learns_which_ways_to_sign_in_the_workspace_offers(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    """No sign-in is needed to ask; single sign-on is offered once an admin set it up, with
    the admin's button text, or none (the Studio then words the button in its language)."""
    methods = client.get("/api/session/methods").json()
    assert methods["password"] is True and methods["sso"] is False
    assert methods["sso_start_url"] is None
    setup = {"issuer": "https://login.example.com", "client_id": "partitur", "client_secret": "s"}
    saved = client.put("/api/access/oidc", json=setup, headers=admin_headers)
    assert saved.status_code == 200, saved.text
    methods = client.get("/api/session/methods").json()
    assert methods["sso"] is True and methods["sso_label"] is None
    assert methods["sso_start_url"] == f"/api/session/oidc/start?workspace={methods['workspace']}"
    labelled = {**setup, "button_label": "Sign in with Example ID"}
    assert client.put("/api/access/oidc", json=labelled, headers=admin_headers).is_success
    assert client.get("/api/session/methods").json()["sso_label"] == "Sign in with Example ID"
    off = {**setup, "enabled": False}
    assert client.put("/api/access/oidc", json=off, headers=admin_headers).is_success
    assert client.get("/api/session/methods").json()["sso"] is False
