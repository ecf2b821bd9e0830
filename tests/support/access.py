"""Builders for people, tokens and signed-in browsers in the access tests."""

from __future__ import annotations

from fastapi.testclient import TestClient

from partitur.access import service as access
from partitur.access.contracts import User
from partitur.context import Context
from partitur.core.actions import Actor, Permission, Role

PASSWORD = "correct horse battery staple"


def make_person(
    ctx: Context, email: str, role: Role, *, password: str = PASSWORD, name: str | None = None
) -> User:
    """An active person with a password (made by partitur itself, as the CLI would)."""
    with ctx.store.begin() as conn:
        return access.create_user(
            conn,
            workspace_id=ctx.workspace_id,
            email=email,
            role=role,
            password=password,
            name=name,
            now=ctx.clock.now(),
            actor=Actor.system(ctx.workspace_id, "test"),
        )


def token_for(
    ctx: Context, user_id: str, *, permissions: list[Permission] | None = None
) -> dict[str, str]:
    """Authorization headers with a new API token of ``user_id``."""
    with ctx.store.begin() as conn:
        issued = access.create_token(
            conn,
            workspace_id=ctx.workspace_id,
            name="test",
            user_id=user_id,
            permissions=permissions,
            now=ctx.clock.now(),
            actor=Actor.system(ctx.workspace_id, "test"),
        )
    return {"Authorization": f"Bearer {issued.token}"}


def sign_in(browser: TestClient, email: str, password: str = PASSWORD) -> dict[str, str]:
    """Sign ``browser`` in with e-mail and password; returns the CSRF header to send."""
    answer = browser.post("/api/session", json={"email": email, "password": password})
    assert answer.status_code == 200, answer.text
    return {"X-CSRF-Token": answer.json()["csrf_token"]}
