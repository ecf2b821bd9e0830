"""People and service accounts: invitations, roles enforced for every caller, owners kept,
password resets, tokens that act as their owner, and the first tokens kept working."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import insert

from partitur.access import service as access
from partitur.access.tables import api_tokens
from partitur.context import Context
from partitur.core.actions import Permission, Role
from partitur.core.clock import VirtualClock
from partitur.settings import Settings
from partitur.storage.engine import Store
from partitur.storage.migrate import alembic_config, upgrade
from partitur.workspaces.tables import workspaces
from tests.conftest import START
from tests.support.access import PASSWORD, make_person, sign_in, token_for

SEGMENT = {"key": "vip", "name": "VIPs", "rule": {"trait": "plan", "op": "eq", "value": "pro"}}
JOURNEY = {
    "key": "welcome",
    "name": "Welcome",
    "entry": {"type": "event", "event": "Signed Up"},
    "start": "bye",
    "nodes": [{"id": "bye", "type": "exit"}],
}


def test_an_invited_person_sets_a_password_from_the_link_and_signs_in(
    client: TestClient, ctx: Context, admin_headers: dict[str, str], clock: VirtualClock
) -> None:
    invited = client.post(
        "/api/users",
        json={"email": "Ada@Example.com", "role": "designer", "name": "Ada"},
        headers=admin_headers,
    )
    assert invited.status_code == 201, invited.text
    link = invited.json()
    assert link["user"]["status"] == "invited" and link["user"]["email"] == "ada@example.com"
    assert link["url"].endswith(f"/ui/set-password#token={link['token']}")
    assert link["expires_at"] == (clock.now() + timedelta(days=7)).isoformat().replace(
        "+00:00", "Z"
    )
    twice = client.post(
        "/api/users", json={"email": "ada@example.com", "role": "viewer"}, headers=admin_headers
    )
    assert twice.status_code == 409 and twice.json()["field"] == "email"
    not_yet = client.post("/api/session", json={"email": "ada@example.com", "password": PASSWORD})
    assert not_yet.status_code == 401

    short = client.post("/api/account/activate", json={"token": link["token"], "password": "x"})
    assert short.status_code == 422 and short.json()["field"] == "password"
    done = client.post("/api/account/activate", json={"token": link["token"], "password": PASSWORD})
    assert done.status_code == 200 and done.json()["status"] == "active"
    reused = client.post(
        "/api/account/activate", json={"token": link["token"], "password": PASSWORD}
    )
    assert reused.status_code == 404
    assert sign_in(client, "ada@example.com")
    assert client.get("/api/session").json()["role"] == "designer"


def test_each_role_may_do_what_the_policy_says_through_the_api(
    client: TestClient, ctx: Context
) -> None:
    callers = {
        role: token_for(ctx, make_person(ctx, f"{role.value}@example.com", role).id)
        for role in (Role.viewer, Role.analyst, Role.designer, Role.agent)
    }
    # viewers read, change nothing
    assert client.get("/api/journeys", headers=callers[Role.viewer]).status_code == 200
    assert (
        client.post("/api/segments", json=SEGMENT, headers=callers[Role.viewer]).status_code == 403
    )
    # analysts edit segments; agents do not
    assert (
        client.post("/api/segments", json=SEGMENT, headers=callers[Role.analyst]).status_code == 201
    )
    refused = client.post(
        "/api/segments", json={**SEGMENT, "key": "vip2"}, headers=callers[Role.agent]
    )
    assert refused.status_code == 403 and refused.json()["permission"] == "segments.edit"
    # designers design journeys but do not publish them
    assert (
        client.post("/api/journeys", json=JOURNEY, headers=callers[Role.designer]).status_code
        == 201
    )
    publish = client.post("/api/journeys/welcome/publish", headers=callers[Role.designer])
    assert publish.status_code == 403 and publish.json()["permission"] == "journeys.publish"
    # nobody but admins and owners manages people
    for headers in callers.values():
        assert client.get("/api/users", headers=headers).status_code == 403


def test_a_new_role_applies_to_the_persons_session_and_tokens_at_once(
    client: TestClient, ctx: Context, admin_headers: dict[str, str]
) -> None:
    ada = make_person(ctx, "ada@example.com", Role.analyst)
    token = token_for(ctx, ada.id)
    csrf = sign_in(client, "ada@example.com")
    assert client.post("/api/segments", json=SEGMENT, headers=csrf).status_code == 201
    demoted = client.put(
        f"/api/users/{ada.id}/role", json={"role": "viewer"}, headers=admin_headers
    )
    assert demoted.status_code == 200 and demoted.json()["role"] == "viewer"
    assert client.get("/api/session").json()["role"] == "viewer"
    again = {**SEGMENT, "key": "vip2"}
    assert client.post("/api/segments", json=again, headers=csrf).status_code == 403
    assert client.post("/api/segments", json=again, headers=token).status_code == 403
    (entry,) = client.get(
        "/api/audit", params={"action": "user.change_role"}, headers=admin_headers
    ).json()["items"]
    assert entry["before"] == {"role": "analyst"} and entry["after"] == {"role": "viewer"}
    assert entry["subject_id"] == ada.id


def test_only_an_owner_manages_owners_and_the_last_owner_stays(
    client: TestClient, ctx: Context
) -> None:
    owner = make_person(ctx, "owner@example.com", Role.owner)
    admin = make_person(ctx, "admin@example.com", Role.admin)
    viewer = make_person(ctx, "viewer@example.com", Role.viewer)
    as_owner, as_admin = token_for(ctx, owner.id), token_for(ctx, admin.id)
    promote = client.put(f"/api/users/{viewer.id}/role", json={"role": "owner"}, headers=as_admin)
    assert promote.status_code == 403
    disable = client.put(
        f"/api/users/{owner.id}/enabled", json={"enabled": False}, headers=as_admin
    )
    assert disable.status_code == 403
    assert (
        client.put(
            f"/api/users/{viewer.id}/role", json={"role": "analyst"}, headers=as_admin
        ).status_code
        == 200
    )
    last = client.put(f"/api/users/{owner.id}/role", json={"role": "admin"}, headers=as_owner)
    assert last.status_code == 409 and "at least one active owner" in last.json()["detail"]
    system = client.put(f"/api/users/{owner.id}/role", json={"role": "system"}, headers=as_owner)
    assert system.status_code == 422
    client.put(f"/api/users/{admin.id}/role", json={"role": "owner"}, headers=as_owner)
    handed_over = client.put(
        f"/api/users/{owner.id}/role", json={"role": "admin"}, headers=as_owner
    )
    assert handed_over.status_code == 200


def test_a_password_reset_voids_the_old_password_and_signs_the_person_out(
    client: TestClient,
    ctx: Context,
    admin_headers: dict[str, str],
    new_browser: Callable[[], TestClient],
) -> None:
    ada = make_person(ctx, "ada@example.com", Role.viewer)
    browser = new_browser()
    sign_in(browser, "ada@example.com")
    reset = client.post(f"/api/users/{ada.id}/password-reset", headers=admin_headers)
    assert reset.status_code == 200 and reset.json()["purpose"] == "reset"
    assert browser.get("/api/session").status_code == 401
    old = client.post("/api/session", json={"email": "ada@example.com", "password": PASSWORD})
    assert old.status_code == 401
    new_password = "a new and longer secret"
    client.post(
        "/api/account/activate", json={"token": reset.json()["token"], "password": new_password}
    )
    assert sign_in(client, "ada@example.com", new_password)


def test_a_person_changes_their_own_password_and_their_other_sessions_end(
    client: TestClient, ctx: Context, new_browser: Callable[[], TestClient]
) -> None:
    make_person(ctx, "ada@example.com", Role.viewer)
    other = new_browser()
    sign_in(other, "ada@example.com")
    csrf = sign_in(client, "ada@example.com")
    wrong = client.post(
        "/api/account/password",
        json={"current_password": "guess", "new_password": "another long secret"},
        headers=csrf,
    )
    assert wrong.status_code == 401 and wrong.json()["field"] == "current_password"
    changed = client.post(
        "/api/account/password",
        json={"current_password": PASSWORD, "new_password": "another long secret"},
        headers=csrf,
    )
    assert changed.status_code == 204
    assert client.get("/api/session").status_code == 200
    assert other.get("/api/session").status_code == 401
    renamed = client.put("/api/account", json={"name": "Ada L.", "language": "de"}, headers=csrf)
    assert renamed.json()["name"] == "Ada L." and renamed.json()["language"] == "de"
    assert client.get("/api/session").json()["language"] == "de"


def test_a_token_acts_as_its_owner_scoped_down_and_never_above_its_maker(
    client: TestClient, ctx: Context, admin_headers: dict[str, str]
) -> None:
    ada = make_person(ctx, "ada@example.com", Role.publisher)
    csrf = sign_in(client, "ada@example.com")
    own = client.post("/api/tokens", json={"name": "laptop"}, headers=csrf)
    assert own.status_code == 201 and own.json()["user_id"] == ada.id
    bearer = {"Authorization": f"Bearer {own.json()['token']}"}
    assert client.post("/api/segments", json=SEGMENT, headers=bearer).status_code == 201
    (entry,) = client.get(
        "/api/audit", params={"action": "segment.create"}, headers=admin_headers
    ).json()["items"]
    assert entry["actor"] == f"user:{ada.id}" and entry["credential"] == own.json()["id"]

    narrow = client.post(
        "/api/tokens", json={"name": "ci", "permissions": ["read"]}, headers=bearer
    ).json()
    as_narrow = {"Authorization": f"Bearer {narrow['token']}"}
    assert client.get("/api/segments", headers=as_narrow).status_code == 200
    assert (
        client.post("/api/segments", json={**SEGMENT, "key": "v2"}, headers=as_narrow).status_code
        == 403
    )
    # a narrow token cannot mint a token with more rights, nor ask for more than the role has
    wider = client.post("/api/tokens", json={"name": "wider"}, headers=as_narrow)
    assert wider.status_code == 403 and wider.json()["field"] == "permissions"
    beyond = client.post(
        "/api/tokens", json={"name": "x", "permissions": ["access.manage"]}, headers=csrf
    )
    assert beyond.status_code == 422
    # only people who manage access make tokens for others
    other = make_person(ctx, "bob@example.com", Role.viewer)
    for_other = client.post("/api/tokens", json={"name": "b", "user_id": other.id}, headers=csrf)
    assert for_other.status_code == 403
    assert [t["name"] for t in client.get("/api/tokens", headers=csrf).json()] == [
        "laptop",
        "ci",
    ]


def test_a_service_account_acts_through_its_tokens_with_its_role(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    made = client.post(
        "/api/service-accounts", json={"name": "crm sync", "role": "agent"}, headers=admin_headers
    )
    assert made.status_code == 201 and made.json()["kind"] == "service"
    issued = client.post(
        "/api/tokens", json={"name": "crm", "user_id": made.json()["id"]}, headers=admin_headers
    ).json()
    bearer = {"Authorization": f"Bearer {issued['token']}"}
    info = client.get("/api/session", headers=bearer).json()
    assert info["actor"] == f"service:{made.json()['id']}" and info["role"] == "agent"
    assert client.post("/api/segments", json=SEGMENT, headers=bearer).status_code == 403


def test_the_first_tokens_keep_their_rights_as_service_accounts_of_their_scope(
    database_url: str, settings: Settings
) -> None:
    """A database with tokens of the three scopes from before people existed is migrated:
    each token still works, with the rights its scope gave."""
    from alembic import command

    store = Store(database_url, sqlite_synchronous="NORMAL")
    try:
        command.upgrade(alembic_config(store), "0001_base")
        now = START
        with store.begin() as conn:
            conn.execute(insert(workspaces).values(id="ws_old", name="old", created_at=now))
            for scope in ("admin", "write", "read"):
                conn.execute(
                    insert(api_tokens).values(
                        id=f"tok_{scope}",
                        workspace_id="ws_old",
                        name=scope,
                        token_hash=hashlib.sha256(f"ptk_{scope}".encode()).hexdigest(),
                        scopes=[scope],
                        created_at=now,
                    )
                )
        upgrade(store)
        with store.read() as conn:
            actors = {
                s: access.authenticate_token(conn, f"ptk_{s}") for s in ("admin", "write", "read")
            }
            accounts = {u.name: u for u in access.list_users(conn, workspace_id="ws_old")}
    finally:
        store.dispose()
    assert set(accounts) == {"api-admin", "api-write", "api-read"}
    assert actors["admin"].role is Role.admin and actors["admin"].permissions is None
    assert actors["write"].role is Role.publisher
    assert actors["read"].role is Role.analyst
    assert actors["read"].permissions == {Permission.read, Permission.analyse}
    assert all(a.kind == "service" for a in actors.values())
    assert actors["read"].label == f"service:{accounts['api-read'].id}"


def test_the_cli_creates_a_person_who_can_sign_in(sqlite_url: str) -> None:
    env = {"PARTITUR_DATABASE_URL": sqlite_url, "PATH": ""}
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "partitur",
            "users",
            "create",
            "ada@example.com",
            "--role",
            "owner",
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    created = json.loads(made.stdout)
    assert created["user"]["role"] == "owner" and len(created["password"]) >= 16
    listed = subprocess.run(
        [sys.executable, "-m", "partitur", "users", "list", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert [u["email"] for u in json.loads(listed.stdout)] == ["ada@example.com"]
