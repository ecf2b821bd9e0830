"""access: people, service accounts, sessions, password links, sign-in settings, throttle

API tokens now belong to a person or a service account. Each existing token is given to a
service account standing for its scope (``api-admin`` an admin, ``api-write`` a publisher,
``api-read`` an analyst scoped down to reading and analyses), so it keeps working with the
same rights.

Revision ID: 0900_access
Revises: 0001_base
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import partitur.core.types
from partitur.core.ids import new_id

revision = "0900_access"
down_revision = "0001_base"
branch_labels = ("access",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_settings",
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("four_eyes_publish", sa.Boolean(), nullable=False),
        sa.Column("session_idle_minutes", sa.Integer(), nullable=False),
        sa.Column("session_max_hours", sa.Integer(), nullable=False),
        sa.Column("updated_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_access_settings")),
    )
    op.create_table(
        "oidc_logins",
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("code_verifier", sa.String(length=200), nullable=False),
        sa.Column("nonce", sa.String(length=100), nullable=False),
        sa.Column("next_path", sa.String(length=500), nullable=False),
        sa.Column("created_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("state_hash", name=op.f("pk_oidc_logins")),
    )
    op.create_table(
        "oidc_settings",
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("client_id", sa.String(length=300), nullable=False),
        sa.Column("client_secret", sa.Text(), nullable=True),
        sa.Column("scopes", sa.String(length=300), nullable=False),
        sa.Column("provisioning", sa.String(length=10), nullable=False),
        sa.Column("default_role", sa.String(length=20), nullable=False),
        sa.Column(
            "allowed_domains",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("button_label", sa.String(length=100), nullable=False),
        sa.Column("updated_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_oidc_settings")),
    )
    op.create_table(
        "sign_in_throttle",
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column(
            "window_started_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("locked_until", partitur.core.types.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sign_in_throttle")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("oidc_subject", sa.String(length=300), nullable=True),
        sa.Column("created_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_sign_in_at", partitur.core.types.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("workspace_id", "email", name=op.f("uq_users_workspace_id_email")),
    )
    op.create_table(
        "password_links",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("purpose", sa.String(length=10), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", partitur.core.types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_password_links_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_links")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_password_links_secret_hash")),
    )
    op.create_index("ix_password_links_user", "password_links", ["user_id"], unique=False)
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("token_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", partitur.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", partitur.core.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=30), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_sessions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_sessions_secret_hash")),
    )
    op.create_index("ix_sessions_user", "sessions", ["user_id", "created_at"], unique=False)
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("user_id", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("permissions", _JSON, nullable=True))
        batch.create_foreign_key(op.f("fk_api_tokens_user_id_users"), "users", ["user_id"], ["id"])
        batch.create_index("ix_api_tokens_user", ["user_id"], unique=False)
    _give_tokens_to_scope_accounts()


_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")
#: scope -> (service account, role, permissions its tokens are scoped down to)
_SCOPE_ACCOUNTS: dict[str, tuple[str, str, list[str] | None]] = {
    "admin": ("api-admin", "admin", None),
    "write": ("api-write", "publisher", None),
    "read": ("api-read", "analyst", ["analyse", "read"]),
}
_RANK = {"read": 1, "write": 2, "admin": 3}


def _give_tokens_to_scope_accounts() -> None:
    conn = op.get_bind()
    now = datetime.now(UTC)
    tokens = sa.table(
        "api_tokens",
        sa.column("id", sa.String),
        sa.column("workspace_id", sa.String),
        sa.column("scopes", _JSON),
        sa.column("user_id", sa.String),
        sa.column("permissions", _JSON),
    )
    users = sa.table(
        "users",
        *(
            sa.column(name, sa.String)
            for name in ("id", "workspace_id", "kind", "name", "role", "status", "language")
        ),
        sa.column("created_at", partitur.core.types.UtcDateTime()),
        sa.column("updated_at", partitur.core.types.UtcDateTime()),
    )
    accounts: dict[tuple[str, str], str] = {}
    rows = conn.execute(sa.select(tokens.c.id, tokens.c.workspace_id, tokens.c.scopes)).all()
    for token_id, workspace_id, scopes in rows:
        granted: list[Any] = scopes if isinstance(scopes, list) else []
        scope = max((s for s in granted if s in _RANK), key=_RANK.__getitem__, default="read")
        name, role, permissions = _SCOPE_ACCOUNTS[scope]
        key = (workspace_id, scope)
        if key not in accounts:
            accounts[key] = new_id("svc")
            conn.execute(
                users.insert().values(
                    id=accounts[key],
                    workspace_id=workspace_id,
                    kind="service",
                    name=name,
                    role=role,
                    status="active",
                    language="en",
                    created_at=now,
                    updated_at=now,
                )
            )
        conn.execute(
            tokens.update()
            .where(tokens.c.id == token_id)
            .values(user_id=accounts[key], permissions=permissions)
        )


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_index("ix_api_tokens_user")
        batch.drop_constraint(op.f("fk_api_tokens_user_id_users"), type_="foreignkey")
        batch.drop_column("permissions")
        batch.drop_column("user_id")
    op.drop_index("ix_sessions_user", table_name="sessions")
    op.drop_table("sessions")
    op.drop_index("ix_password_links_user", table_name="password_links")
    op.drop_table("password_links")
    op.drop_table("users")
    op.drop_table("sign_in_throttle")
    op.drop_table("oidc_settings")
    op.drop_table("oidc_logins")
    op.drop_table("access_settings")
