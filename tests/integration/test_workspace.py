from __future__ import annotations

import subprocess
import sys

from fastapi.testclient import TestClient

from partitur.context import Context
from partitur.core.actions import Actor


def test_health_and_openapi_docs_are_served(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    assert client.get("/docs").status_code == 200
    assert "/api/sources" in client.get("/openapi.json").json()["paths"]


def test_admin_token_creates_a_source_with_a_write_key(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    created = client.post("/api/sources", json={"name": "app"}, headers=admin_headers)
    assert created.status_code == 201
    assert len(created.json()["write_key"]) >= 20
    names = [s["name"] for s in client.get("/api/sources", headers=admin_headers).json()]
    assert names == ["app"]


def test_duplicate_source_name_is_a_conflict_naming_the_field(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    client.post("/api/sources", json={"name": "crm"}, headers=admin_headers)
    again = client.post("/api/sources", json={"name": "crm"}, headers=admin_headers)
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["field"] == "name"


def test_missing_or_weak_token_is_refused(client: TestClient, ctx: Context) -> None:
    assert client.get("/api/sources").status_code == 401
    from partitur.access import service as access
    from partitur.access.contracts import Scope

    with ctx.store.begin() as conn:
        read = access.create_token(
            conn,
            workspace_id=ctx.workspace_id,
            name="r",
            scopes=[Scope.read],
            now=ctx.clock.now(),
            actor=Actor.system(ctx.workspace_id, "test"),
        ).token
    # people and their roles are for those who manage access
    refused = client.get("/api/users", headers={"Authorization": f"Bearer {read}"})
    assert refused.status_code == 403
    assert refused.json()["field"] == "Authorization"


def test_invalid_body_is_problem_json_naming_the_field(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    bad = client.post("/api/tokens", json={"scopes": ["root"]}, headers=admin_headers)
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    assert bad.json()["field"].startswith("scopes")


def run_cli(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "partitur", *args],
        capture_output=True,
        text=True,
        env={"PARTITUR_DATABASE_URL": url, "PATH": ""},
        timeout=60,
        check=False,
    )


def test_cli_creates_sources_and_tokens_as_json(sqlite_url: str) -> None:
    import json

    made = run_cli("sources", "create", "web", "--json", url=sqlite_url)
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["name"] == "web"
    token = run_cli("tokens", "create", "--scope", "admin", "--json", url=sqlite_url)
    assert token.returncode == 0, token.stderr
    assert json.loads(token.stdout)["token"].startswith("ptk_")


def test_cli_bad_input_is_one_line_and_non_zero(sqlite_url: str) -> None:
    run_cli("sources", "create", "web", url=sqlite_url)
    again = run_cli("sources", "create", "web", url=sqlite_url)
    assert again.returncode != 0
    assert again.stderr.strip().count("\n") == 0
    assert "exists already" in again.stderr
    assert "Traceback" not in again.stderr


def test_audit_trail_records_who_created_a_source(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    made = client.post("/api/sources", json={"name": "shop"}, headers=admin_headers).json()
    trail = client.get(
        "/api/audit",
        params={"subject_type": "source", "subject_id": made["id"]},
        headers=admin_headers,
    )
    assert trail.status_code == 200
    (entry,) = trail.json()["items"]
    assert entry["action"] == "source.create"
    assert entry["after"] == {"name": "shop"}
    # an early token acts as the service account of its scope, and the entry names the token
    assert entry["actor"].startswith("service:svc_")
    assert entry["credential"].startswith("tok_")
    every_source = client.get(
        "/api/audit", params={"action": "source."}, headers=admin_headers
    ).json()
    assert made["id"] in [e["subject_id"] for e in every_source["items"]]
    bad = client.get("/api/audit", params={"limit": 0}, headers=admin_headers)
    assert bad.status_code == 422 and bad.json()["field"] == "limit"
