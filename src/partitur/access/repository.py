"""SQL of the access domain (private: other code goes through ``access.service``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from partitur.access.contracts import (
    AccessSettings,
    ApiToken,
    Scope,
    SessionMethod,
    SessionSummary,
    User,
    UserKind,
    UserStatus,
)
from partitur.access.tables import (
    access_settings,
    api_tokens,
    oidc_logins,
    oidc_settings,
    password_links,
    sessions,
    sign_in_throttle,
    users,
)
from partitur.core.actions import Permission, Role
from partitur.core.types import utc_moment

# --- people and service accounts -----------------------------------------------------------------


def user_from_row(row: Any) -> User:
    return User(
        id=row.id,
        workspace_id=row.workspace_id,
        kind=UserKind(row.kind),
        email=row.email,
        name=row.name,
        role=Role(row.role),
        status=UserStatus(row.status),
        language=row.language,
        sso_linked=row.oidc_subject is not None,
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_sign_in_at=row.last_sign_in_at,
    )


def user_row(conn: Connection, *, workspace_id: str, user_id: str) -> Any:
    return conn.execute(
        select(users).where(users.c.workspace_id == workspace_id, users.c.id == user_id)
    ).first()


def user_row_by_email(conn: Connection, *, workspace_id: str, email: str) -> Any:
    return conn.execute(
        select(users).where(users.c.workspace_id == workspace_id, users.c.email == email)
    ).first()


def service_account_row(conn: Connection, *, workspace_id: str, name: str) -> Any:
    return conn.execute(
        select(users).where(
            users.c.workspace_id == workspace_id,
            users.c.kind == UserKind.service.value,
            users.c.name == name,
        )
    ).first()


def list_users(
    conn: Connection,
    *,
    workspace_id: str,
    kind: UserKind | None = None,
    status: UserStatus | None = None,
) -> list[User]:
    query = select(users).where(users.c.workspace_id == workspace_id)
    if kind is not None:
        query = query.where(users.c.kind == kind.value)
    if status is not None:
        query = query.where(users.c.status == status.value)
    rows = conn.execute(query.order_by(users.c.kind, func.lower(users.c.name), users.c.id))
    return [user_from_row(r) for r in rows]


def active_owner_count(conn: Connection, *, workspace_id: str) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(users)
            .where(
                users.c.workspace_id == workspace_id,
                users.c.role == Role.owner.value,
                users.c.status == UserStatus.active.value,
            )
        ).scalar_one()
    )


def insert_user(conn: Connection, **values: Any) -> None:
    conn.execute(users.insert().values(**values))


def update_user(conn: Connection, user_id: str, **values: Any) -> None:
    conn.execute(users.update().where(users.c.id == user_id).values(**values))


# --- API tokens ----------------------------------------------------------------------------------


def _token_from_row(row: Any) -> ApiToken:
    return ApiToken(
        id=row.id,
        workspace_id=row.workspace_id,
        name=row.name,
        user_id=row.user_id,
        owner_name=row.owner_name or "",
        owner_kind=UserKind(row.owner_kind) if row.owner_kind else None,
        permissions=(None if row.permissions is None else [Permission(p) for p in row.permissions]),
        scopes=[Scope(s) for s in row.scopes or []],
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def _tokens_query() -> Any:
    return select(
        api_tokens, users.c.name.label("owner_name"), users.c.kind.label("owner_kind")
    ).select_from(api_tokens.outerjoin(users, users.c.id == api_tokens.c.user_id))


def list_tokens(
    conn: Connection, *, workspace_id: str, user_id: str | None = None
) -> list[ApiToken]:
    query = _tokens_query().where(api_tokens.c.workspace_id == workspace_id)
    if user_id is not None:
        query = query.where(api_tokens.c.user_id == user_id)
    rows = conn.execute(query.order_by(api_tokens.c.created_at, api_tokens.c.id))
    return [_token_from_row(r) for r in rows]


def token(conn: Connection, *, workspace_id: str, token_id: str) -> ApiToken | None:
    row = conn.execute(
        _tokens_query().where(
            api_tokens.c.workspace_id == workspace_id, api_tokens.c.id == token_id
        )
    ).first()
    return _token_from_row(row) if row else None


def insert_token(conn: Connection, **values: Any) -> None:
    conn.execute(api_tokens.insert().values(**values))


def revoke_token(conn: Connection, *, token_id: str, now: datetime) -> None:
    conn.execute(
        api_tokens.update()
        .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def principal_of_token(conn: Connection, token_hash: str) -> Any:
    """The token and its owner (one row), or None."""
    return conn.execute(
        select(
            api_tokens.c.id.label("token_id"),
            api_tokens.c.revoked_at,
            api_tokens.c.permissions,
            users,
        )
        .select_from(api_tokens.join(users, users.c.id == api_tokens.c.user_id))
        .where(api_tokens.c.token_hash == token_hash)
    ).first()


# --- sessions ------------------------------------------------------------------------------------


def insert_session(conn: Connection, **values: Any) -> None:
    conn.execute(sessions.insert().values(**values))


def session_with_principal(conn: Connection, secret_hash: str) -> Any:
    """The session, its person and (signed in with a token) the token's state, or None."""
    return conn.execute(
        select(
            sessions.c.id.label("session_id"),
            sessions.c.csrf_token,
            sessions.c.method,
            sessions.c.token_id,
            sessions.c.last_seen_at,
            sessions.c.expires_at,
            sessions.c.ended_at,
            api_tokens.c.revoked_at.label("token_revoked_at"),
            api_tokens.c.permissions.label("token_permissions"),
            users,
        )
        .select_from(
            sessions.join(users, users.c.id == sessions.c.user_id).outerjoin(
                api_tokens, api_tokens.c.id == sessions.c.token_id
            )
        )
        .where(sessions.c.secret_hash == secret_hash)
    ).first()


def session_row(conn: Connection, *, workspace_id: str, session_id: str) -> Any:
    return conn.execute(
        select(sessions).where(sessions.c.workspace_id == workspace_id, sessions.c.id == session_id)
    ).first()


def touch_session(conn: Connection, *, session_id: str, now: datetime) -> None:
    conn.execute(sessions.update().where(sessions.c.id == session_id).values(last_seen_at=now))


def end_sessions(
    conn: Connection,
    *,
    now: datetime,
    reason: str,
    session_id: str | None = None,
    user_id: str | None = None,
    except_session: str | None = None,
) -> int:
    """End open sessions (one, or all of a user's but ``except_session``); returns how many."""
    query = sessions.update().where(sessions.c.ended_at.is_(None))
    if session_id is not None:
        query = query.where(sessions.c.id == session_id)
    if user_id is not None:
        query = query.where(sessions.c.user_id == user_id)
    if except_session is not None:
        query = query.where(sessions.c.id != except_session)
    return int(conn.execute(query.values(ended_at=now, end_reason=reason)).rowcount or 0)


def list_sessions(
    conn: Connection,
    *,
    workspace_id: str,
    user_id: str,
    now: datetime,
    idle: timedelta,
    current: str | None,
) -> list[SessionSummary]:
    """The user's sessions that are still open (not ended, not expired), newest first."""
    rows = conn.execute(
        select(sessions)
        .where(
            sessions.c.workspace_id == workspace_id,
            sessions.c.user_id == user_id,
            sessions.c.ended_at.is_(None),
            sessions.c.expires_at > now,
            sessions.c.last_seen_at > now - idle,
        )
        .order_by(sessions.c.created_at.desc(), sessions.c.id.desc())
    )
    return [
        SessionSummary(
            id=r.id,
            user_id=r.user_id,
            method=SessionMethod(r.method),
            created_at=r.created_at,
            last_seen_at=r.last_seen_at,
            expires_at=r.expires_at,
            idle_expires_at=min(r.expires_at, r.last_seen_at + idle),
            ended_at=r.ended_at,
            end_reason=r.end_reason,
            ip=r.ip,
            user_agent=r.user_agent,
            current=r.id == current,
        )
        for r in rows
    ]


# --- password links ------------------------------------------------------------------------------


def close_password_links(conn: Connection, *, user_id: str, now: datetime) -> None:
    conn.execute(
        password_links.update()
        .where(password_links.c.user_id == user_id, password_links.c.closed_at.is_(None))
        .values(closed_at=now)
    )


def insert_password_link(conn: Connection, **values: Any) -> None:
    conn.execute(password_links.insert().values(**values))


def open_password_link(conn: Connection, *, secret_hash: str, now: datetime) -> Any:
    return conn.execute(
        select(password_links).where(
            password_links.c.secret_hash == secret_hash,
            password_links.c.closed_at.is_(None),
            password_links.c.expires_at > now,
        )
    ).first()


# --- settings ------------------------------------------------------------------------------------


def settings(conn: Connection, *, workspace_id: str) -> AccessSettings:
    row = conn.execute(
        select(access_settings).where(access_settings.c.workspace_id == workspace_id)
    ).first()
    if row is None:
        return AccessSettings()
    return AccessSettings(
        four_eyes_publish=bool(row.four_eyes_publish),
        session_idle_minutes=row.session_idle_minutes,
        session_max_hours=row.session_max_hours,
    )


def save_settings(
    conn: Connection, *, workspace_id: str, value: AccessSettings, now: datetime
) -> None:
    values = {**value.model_dump(), "updated_at": now}
    done = conn.execute(
        access_settings.update()
        .where(access_settings.c.workspace_id == workspace_id)
        .values(**values)
    )
    if not done.rowcount:
        conn.execute(access_settings.insert().values(workspace_id=workspace_id, **values))


def oidc_row(conn: Connection, *, workspace_id: str) -> Any:
    return conn.execute(
        select(oidc_settings).where(oidc_settings.c.workspace_id == workspace_id)
    ).first()


def save_oidc(conn: Connection, *, workspace_id: str, values: dict[str, Any]) -> None:
    done = conn.execute(
        oidc_settings.update().where(oidc_settings.c.workspace_id == workspace_id).values(**values)
    )
    if not done.rowcount:
        conn.execute(oidc_settings.insert().values(workspace_id=workspace_id, **values))


# --- single sign-on logins in flight -------------------------------------------------------------


def insert_oidc_login(conn: Connection, **values: Any) -> None:
    conn.execute(oidc_logins.insert().values(**values))


def take_oidc_login(conn: Connection, *, state_hash: str, now: datetime) -> Any:
    """The pending login of this state (deleted: a state is good for one callback), or None
    when unknown or expired; expired logins of any state are cleared on the way."""
    row = conn.execute(select(oidc_logins).where(oidc_logins.c.state_hash == state_hash)).first()
    conn.execute(
        oidc_logins.delete().where(
            or_(oidc_logins.c.state_hash == state_hash, oidc_logins.c.expires_at <= now)
        )
    )
    if row is None or utc_moment(row.expires_at) <= now:
        return None
    return row


# --- the sign-in throttle ------------------------------------------------------------------------


def locked_until(conn: Connection, *, keys: list[str], now: datetime) -> datetime | None:
    """The latest lock of any of ``keys`` that is still in force, or None."""
    value = conn.execute(
        select(func.max(sign_in_throttle.c.locked_until)).where(
            and_(sign_in_throttle.c.key.in_(keys), sign_in_throttle.c.locked_until > now)
        )
    ).scalar()
    return utc_moment(value) if value is not None else None


def count_failure(
    conn: Connection, *, key: str, now: datetime, window: timedelta, limit: int, lock: timedelta
) -> datetime | None:
    """Count one failed sign-in under ``key``; the failure that makes ``limit`` within
    ``window`` locks the key for ``lock`` (returned) and starts a new count."""
    # the row exists before it is locked and read, so concurrent failures count one by one
    insert: Any = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(
        insert(sign_in_throttle)
        .values(key=key, failures=0, window_started_at=now, locked_until=None)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    row = conn.execute(
        select(sign_in_throttle).where(sign_in_throttle.c.key == key).with_for_update()
    ).one()
    if utc_moment(row.window_started_at) <= now - window:
        failures, started = 1, now
    else:
        failures, started = row.failures + 1, utc_moment(row.window_started_at)
    until = now + lock if failures >= limit else None
    values = {
        "failures": 0 if until else failures,
        "window_started_at": now if until else started,
        "locked_until": until,
    }
    conn.execute(sign_in_throttle.update().where(sign_in_throttle.c.key == key).values(**values))
    return until


def clear_failures(conn: Connection, *, key: str) -> None:
    conn.execute(sign_in_throttle.delete().where(sign_in_throttle.c.key == key))
