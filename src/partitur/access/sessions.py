"""Browser sessions: sign-in with e-mail and password (throttled per account and address),
the session cookie's server-side row, idle and absolute lifetimes, listing and revoking.
(Re-exported by ``access.service``.)"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from partitur.access import passwords
from partitur.access import repository as repo
from partitur.access.common import ACCOUNT_FAILURES, FAILURE_WINDOW, IP_FAILURES, LOCK_TIME, _hash
from partitur.access.contracts import (
    SessionMethod,
    UserStatus,
)
from partitur.access.principals import _actor, authenticate_token
from partitur.core.actions import (
    Actor,
    Permission,
    action,
    describe,
)
from partitur.core.errors import (
    Forbidden,
    NotFound,
    RateLimited,
    Unauthorized,
)
from partitur.core.ids import new_id
from partitur.storage.audit import AuditRecord, write_audit

# --- sessions ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StartedSession:
    """A new browser session: ``secret`` goes into the HttpOnly cookie, never elsewhere."""

    secret: str
    session_id: str
    csrf_token: str
    expires_at: datetime
    actor: Actor


@action("session.sign_in", permission=Permission.read, subject="user")
def start_session(
    conn: Connection,
    *,
    workspace_id: str,
    method: SessionMethod,
    now: datetime,
    actor: Actor,
    user_agent: str | None = None,
    provisioned: bool = False,
) -> StartedSession:
    """Open a browser session for ``actor`` (a person or service account, or an API token's
    owner when ``method`` is ``token``: ``actor.credential`` names the token). ``provisioned``
    says that the sign-in made the person's account (single sign-on, auto-provisioning)."""
    if actor.kind not in ("user", "service"):
        raise Forbidden("only people and service accounts open sessions", field="Authorization")
    settings = repo.settings(conn, workspace_id=workspace_id)
    secret = secrets.token_urlsafe(32)
    session_id = new_id("ses")
    csrf = secrets.token_urlsafe(24)
    expires_at = now + timedelta(hours=settings.session_max_hours)
    repo.insert_session(
        conn,
        id=session_id,
        workspace_id=workspace_id,
        user_id=actor.id,
        secret_hash=_hash(secret),
        csrf_token=csrf,
        method=method.value,
        token_id=actor.credential if method is SessionMethod.token else None,
        created_at=now,
        last_seen_at=now,
        expires_at=expires_at,
        ip=actor.ip,
        user_agent=(user_agent or "")[:300] or None,
    )
    repo.update_user(conn, actor.id, last_sign_in_at=now)
    details: dict[str, Any] = {"session": session_id, "method": method.value}
    if method is SessionMethod.token:
        details["token"] = actor.credential
    if provisioned:
        details["provisioned"] = True
    describe(subject_id=actor.id, details=details)
    return StartedSession(
        secret=secret,
        session_id=session_id,
        csrf_token=csrf,
        expires_at=expires_at,
        actor=actor,
    )


@action("session.sign_out", permission=Permission.read, subject="user")
def end_session(conn: Connection, *, workspace_id: str, now: datetime, actor: Actor) -> None:
    """Sign out: the session ``actor`` came with ends (an API token's caller has none)."""
    session_id = (
        actor.credential if actor.credential and actor.credential.startswith("ses_") else None
    )
    if session_id is not None:
        repo.end_sessions(conn, now=now, reason="signed_out", session_id=session_id)
    describe(subject_id=actor.id, details={"session": session_id})


@action("session.revoke", permission=Permission.read, subject="user")
def revoke_session(
    conn: Connection, *, workspace_id: str, session_id: str, now: datetime, actor: Actor
) -> None:
    """End one browser session: one's own, or anyone's with ``access.manage``."""
    row = repo.session_row(conn, workspace_id=workspace_id, session_id=session_id)
    if row is None:
        raise NotFound(f"no session {session_id}", field="session_id")
    if row.user_id != actor.id:
        actor.require(Permission.manage_access)
    repo.end_sessions(conn, now=now, reason="revoked", session_id=session_id)
    describe(subject_id=row.user_id, details={"session": session_id})


def _record_failure(
    conn: Connection,
    *,
    workspace_id: str,
    subject_id: str,
    reason: str,
    method: str,
    ip: str | None,
    request_id: str | None,
    now: datetime,
    details: dict[str, Any] | None = None,
) -> None:
    """Audit a failed sign-in. Nobody is signed in, so there is no actor to run an action:
    the entry names ``anonymous`` as the actor and the account tried as the subject (the
    password is never recorded)."""
    write_audit(
        conn,
        AuditRecord(
            workspace_id=workspace_id,
            at=now,
            actor="anonymous",
            action="session.sign_in_failed",
            subject_type="user",
            subject_id=subject_id,
            details={"reason": reason, "method": method, **(details or {})},
            request_id=request_id,
            ip=ip,
        ),
    )


def _throttle_keys(workspace_id: str, email: str, ip: str | None) -> tuple[str, str | None]:
    return f"account:{workspace_id}:{email}", f"ip:{ip}" if ip else None


def _retry_after(until: datetime, now: datetime) -> int:
    return max(1, int((until - now).total_seconds() + 0.999))


@dataclass(frozen=True)
class SignInOutcome:
    """What a sign-in came to: a session, or the error to answer (after the failure has
    been recorded — the caller commits first, then raises)."""

    session: StartedSession | None = None
    error: Unauthorized | None = None


@dataclass(frozen=True)
class PasswordVerdict:
    """What ``check_password`` found: the account tried and whether the password fits."""

    workspace_id: str
    email: str
    user_id: str | None
    #: the hash the password was checked against (None: unknown account or no password)
    password_hash: str | None
    #: why the sign-in fails (``wrong_password``, ``unknown_account``, ``account_invited``,
    #: ...), None when it succeeds
    reason: str | None


def check_password(
    conn: Connection,
    *,
    workspace_id: str,
    email: str,
    password: str,
    now: datetime,
    ip: str | None = None,
) -> PasswordVerdict:
    """Check e-mail and password, reading only: hashing takes tens of milliseconds, so call
    it in a read transaction and write the outcome with ``finish_password_sign_in``. While
    the account or the address is locked, raises ``RateLimited`` without checking the
    password. An unknown e-mail takes as long as a wrong password."""
    email = email.strip().lower()
    account_key, ip_key = _throttle_keys(workspace_id, email, ip)
    keys = [account_key, *([ip_key] if ip_key else [])]
    locked = repo.locked_until(conn, keys=keys, now=now)
    if locked is not None:
        raise RateLimited(
            "too many failed sign-ins; try again later",
            retry_after=_retry_after(locked, now),
            field="email",
        )
    row = repo.user_row_by_email(conn, workspace_id=workspace_id, email=email)
    stored = row.password_hash if row is not None else None
    good = passwords.verify_password(stored, password)
    if row is None:
        reason: str | None = "unknown_account"
    elif not good:
        reason = "wrong_password"
    elif row.status != UserStatus.active.value:
        reason = f"account_{row.status}"
    else:
        reason = None
    return PasswordVerdict(
        workspace_id=workspace_id,
        email=email,
        user_id=row.id if row is not None else None,
        password_hash=stored,
        reason=reason,
    )


def finish_password_sign_in(
    conn: Connection,
    verdict: PasswordVerdict,
    *,
    password: str,
    now: datetime,
    ip: str | None = None,
    request_id: str | None = None,
    user_agent: str | None = None,
) -> SignInOutcome:
    """Open the session of a good ``verdict`` — if the account has not changed since (a
    new password, disabled) — or count and audit a failed one against the account and the
    address; the failure is returned, so that the caller commits it before answering."""
    workspace_id = verdict.workspace_id
    account_key, ip_key = _throttle_keys(workspace_id, verdict.email, ip)
    row = (
        repo.user_row(conn, workspace_id=workspace_id, user_id=verdict.user_id)
        if verdict.user_id
        else None
    )
    reason = verdict.reason
    if reason is None and (
        row is None
        or row.password_hash != verdict.password_hash
        or row.status != UserStatus.active.value
    ):
        reason = "account_changed"
    if reason is not None:
        lock = repo.count_failure(
            conn,
            key=account_key,
            now=now,
            window=FAILURE_WINDOW,
            limit=ACCOUNT_FAILURES,
            lock=LOCK_TIME,
        )
        if ip_key:
            ip_lock = repo.count_failure(
                conn, key=ip_key, now=now, window=FAILURE_WINDOW, limit=IP_FAILURES, lock=LOCK_TIME
            )
            lock = ip_lock or lock
        _record_failure(
            conn,
            workspace_id=workspace_id,
            subject_id=verdict.user_id or f"email:{verdict.email}",
            reason=reason,
            method="password",
            ip=ip,
            request_id=request_id,
            now=now,
            details={"locked_until": lock.isoformat()} if lock else None,
        )
        return SignInOutcome(error=Unauthorized("wrong e-mail or password", field="password"))
    assert row is not None
    repo.clear_failures(conn, key=account_key)
    if passwords.needs_rehash(row.password_hash):
        repo.update_user(conn, row.id, password_hash=passwords.hash_password(password))
    actor = _actor(row).for_request(request_id=request_id, ip=ip)
    started = start_session(
        conn,
        workspace_id=workspace_id,
        method=SessionMethod.password,
        now=now,
        actor=actor,
        user_agent=user_agent,
    )
    return SignInOutcome(session=started)


def sign_in_with_token(
    conn: Connection,
    *,
    token: str,
    now: datetime,
    ip: str | None = None,
    request_id: str | None = None,
    user_agent: str | None = None,
) -> StartedSession:
    """Open a browser session with an API token: the session has the token's rights and
    ends when the token is revoked. Raises ``Unauthorized`` for a token that does not work."""
    actor = authenticate_token(conn, token).for_request(request_id=request_id, ip=ip)
    return start_session(
        conn,
        workspace_id=actor.workspace_id,
        method=SessionMethod.token,
        now=now,
        actor=actor,
        user_agent=user_agent,
    )
