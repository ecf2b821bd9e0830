"""Tables of the access domain: people and service accounts, their API tokens and browser
sessions, one-time password links, single sign-on settings and the sign-in throttle.

Like every domain's, they refer to a workspace by id without a foreign key (domains migrate
independently); within the domain, tokens, sessions and links refer to their user."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from partitur.core.types import JsonDoc, UtcDateTime
from partitur.storage.base import metadata

users = Table(
    "users",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), nullable=False),
    # "person" (signs in) or "service" (acts only through API tokens)
    Column("kind", String(10), nullable=False),
    # lower-cased; NULL for service accounts
    Column("email", String(320), nullable=True),
    Column("name", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    # invited (no password yet), active, disabled
    Column("status", String(10), nullable=False),
    # argon2id hash (PHC string); NULL until the person sets a password
    Column("password_hash", String(200), nullable=True),
    Column("language", String(10), nullable=False),
    # the OpenID provider's subject first seen for this e-mail: a later sign-in with the same
    # e-mail but another subject (an address the provider gave to someone else) is refused
    Column("oidc_subject", String(300), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("last_sign_in_at", UtcDateTime, nullable=True),
    UniqueConstraint("workspace_id", "email"),
)

# created with the workspaces (base revision), hence its foreign key to them
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), ForeignKey("workspaces.id"), nullable=False),
    Column("name", String(200), nullable=False),
    # Only a SHA-256 of the token is kept; the token itself is shown once, at creation.
    Column("token_hash", String(64), nullable=False, unique=True),
    # the scopes a token was issued with before tokens belonged to people and service
    # accounts (kept to show; rights come from the owner's role and ``permissions``)
    Column("scopes", JsonDoc, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    # the person or service account the token acts as (with that principal's current role)
    Column("user_id", String(40), ForeignKey("users.id"), nullable=True),
    # a token scoped down below its owner's role holds only these permissions; NULL: all
    Column("permissions", JsonDoc, nullable=True),
    Index("ix_api_tokens_user", "user_id"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), nullable=False),
    Column("user_id", String(40), ForeignKey("users.id"), nullable=False),
    # SHA-256 of the random secret the session cookie carries
    Column("secret_hash", String(64), nullable=False, unique=True),
    # repeated by the browser in X-CSRF-Token on every request that changes something
    Column("csrf_token", String(64), nullable=False),
    # password, oidc or token (signed in with an API token: the token's rights, and only
    # while the token is valid)
    Column("method", String(10), nullable=False),
    Column("token_id", String(40), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    # absolute end, whatever the activity
    Column("expires_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime, nullable=True),
    # signed_out, revoked, password_changed, disabled, ...
    Column("end_reason", String(30), nullable=True),
    Column("ip", String(64), nullable=True),
    Column("user_agent", String(300), nullable=True),
    Index("ix_sessions_user", "user_id", "created_at"),
)

password_links = Table(
    "password_links",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), nullable=False),
    Column("user_id", String(40), ForeignKey("users.id"), nullable=False),
    # invite or reset
    Column("purpose", String(10), nullable=False),
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    # used, or replaced by a newer link
    Column("closed_at", UtcDateTime, nullable=True),
    Index("ix_password_links_user", "user_id"),
)

access_settings = Table(
    "access_settings",
    metadata,
    Column("workspace_id", String(40), primary_key=True),
    Column("four_eyes_publish", Boolean, nullable=False),
    Column("session_idle_minutes", Integer, nullable=False),
    Column("session_max_hours", Integer, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

oidc_settings = Table(
    "oidc_settings",
    metadata,
    Column("workspace_id", String(40), primary_key=True),
    Column("enabled", Boolean, nullable=False),
    Column("issuer", String(500), nullable=False),
    Column("client_id", String(300), nullable=False),
    # Fernet token of the client secret (key derived from the server's secret key)
    Column("client_secret", Text, nullable=True),
    Column("scopes", String(300), nullable=False),
    # invited (only people invited beforehand) or auto (anyone the provider vouches for,
    # from the allowed domains, joins with default_role)
    Column("provisioning", String(10), nullable=False),
    Column("default_role", String(20), nullable=False),
    Column("allowed_domains", JsonDoc, nullable=False),
    Column("button_label", String(100), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

oidc_logins = Table(
    "oidc_logins",
    metadata,
    # SHA-256 of the ``state`` sent to the provider (and kept in the browser's cookie)
    Column("state_hash", String(64), primary_key=True),
    Column("workspace_id", String(40), nullable=False),
    Column("code_verifier", String(200), nullable=False),
    Column("nonce", String(100), nullable=False),
    Column("next_path", String(500), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)

sign_in_throttle = Table(
    "sign_in_throttle",
    metadata,
    # ``account:<workspace>:<email>`` or ``ip:<address>``
    Column("key", String(400), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("window_started_at", UtcDateTime, nullable=False),
    Column("locked_until", UtcDateTime, nullable=True),
)
