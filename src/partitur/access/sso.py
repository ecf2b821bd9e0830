"""Single sign-on with the workspace's OpenID provider: the authorization code flow with PKCE,
the provider's settings (client secret encrypted at rest) and the people it signs in.
(Re-exported by ``access.service``.)"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import Connection

from partitur.access import oidc
from partitur.access import repository as repo
from partitur.access.common import OIDC_LOGIN_LIFETIME, _assignable, _hash, _language
from partitur.access.contracts import (
    AccessSettings,
    OidcSettings,
    OidcSettingsUpdate,
    Provisioning,
    SessionMethod,
    UserKind,
    UserStatus,
)
from partitur.access.oidc import ProviderIdentity
from partitur.access.people import _new_person, _user_row
from partitur.access.principals import _actor
from partitur.access.reads import oidc_settings, redirect_uri
from partitur.access.sessions import SignInOutcome, _record_failure, start_session
from partitur.core.actions import (
    Actor,
    Permission,
    Role,
    action,
    describe,
)
from partitur.core.crypto import decrypt_secrets, encrypt_secrets
from partitur.core.errors import (
    NotFound,
    Unauthorized,
    ValidationFailed,
)

# --- single sign-on (OpenID Connect) -------------------------------------------------------------


@action("access_settings.save", permission=Permission.manage_access, subject="workspace")
def save_settings(
    conn: Connection,
    *,
    workspace_id: str,
    settings: AccessSettings,
    now: datetime,
    actor: Actor,
) -> AccessSettings:
    """Four-eyes publishing and session lifetimes of the workspace."""
    before = repo.settings(conn, workspace_id=workspace_id)
    repo.save_settings(conn, workspace_id=workspace_id, value=settings, now=now)
    describe(subject_id=workspace_id, before=before, after=settings)
    return settings


@action("oidc.configure", permission=Permission.manage_access, subject="workspace")
def configure_oidc(
    conn: Connection,
    *,
    workspace_id: str,
    update: OidcSettingsUpdate,
    secret_key: str,
    base_url: str,
    now: datetime,
    actor: Actor,
) -> OidcSettings:
    """Set the workspace's OpenID provider. The client secret is kept encrypted (a None
    secret keeps the stored one); auto-provisioning may not hand out the owner role."""
    _assignable(update.default_role)
    if update.provisioning is Provisioning.auto and update.default_role in (Role.owner, Role.admin):
        raise ValidationFailed(
            "people who join by themselves cannot become owners or admins", field="default_role"
        )
    if "openid" not in update.scopes.split():
        raise ValidationFailed("the scopes must include 'openid'", field="scopes")
    issuer = update.issuer.rstrip("/")
    if urlsplit(issuer).scheme != "https" and urlsplit(issuer).hostname not in (
        "127.0.0.1",
        "localhost",
        "::1",
    ):
        raise ValidationFailed("the issuer must be an https:// address", field="issuer")
    existing = repo.oidc_row(conn, workspace_id=workspace_id)
    stored_secret = existing.client_secret if existing is not None else None
    if update.client_secret is not None:
        stored_secret = encrypt_secrets(secret_key, {"client_secret": update.client_secret})
    domains = sorted({d.strip().lower().lstrip("@") for d in update.allowed_domains if d.strip()})
    values = {
        "enabled": update.enabled,
        "issuer": issuer,
        "client_id": update.client_id,
        "client_secret": stored_secret,
        "scopes": " ".join(update.scopes.split()),
        "provisioning": update.provisioning.value,
        "default_role": update.default_role.value,
        "allowed_domains": domains,
        "button_label": update.button_label,
        "updated_at": now,
    }
    before = oidc_settings(conn, workspace_id=workspace_id, base_url=base_url)
    repo.save_oidc(conn, workspace_id=workspace_id, values=values)
    after = oidc_settings(conn, workspace_id=workspace_id, base_url=base_url)
    describe(
        subject_id=workspace_id,
        before=before.model_dump(exclude={"updated_at"}) if before else None,
        after=after.model_dump(exclude={"updated_at"}) if after else None,
        details={"client_secret_changed": update.client_secret is not None},
    )
    assert after is not None
    return after


@dataclass(frozen=True)
class OidcClient:
    """What the relying party needs of a workspace's provider settings."""

    workspace_id: str
    issuer: str
    client_id: str
    client_secret: str | None
    scopes: str
    provisioning: Provisioning
    default_role: Role
    allowed_domains: tuple[str, ...]


def oidc_client(conn: Connection, *, workspace_id: str, secret_key: str) -> OidcClient:
    """The workspace's enabled provider; raises ``NotFound`` when single sign-on is off."""
    row = repo.oidc_row(conn, workspace_id=workspace_id)
    if row is None or not row.enabled:
        raise NotFound("single sign-on is not set up for this workspace", field="workspace")
    return OidcClient(
        workspace_id=workspace_id,
        issuer=row.issuer,
        client_id=row.client_id,
        client_secret=decrypt_secrets(secret_key, row.client_secret).get("client_secret"),
        scopes=row.scopes,
        provisioning=Provisioning(row.provisioning),
        default_role=Role(row.default_role),
        allowed_domains=tuple(row.allowed_domains or ()),
    )


def _local_path(target: str | None) -> str:
    """Only a path of this server: never send a browser to another site after sign-in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target[:500]
    return "/ui/"


def provider_metadata(client: OidcClient) -> oidc.ProviderMetadata:
    """The provider's endpoints (its discovery document, cached; network — call it outside a
    transaction). Raises ``DependencyFailed`` when the provider cannot be read."""
    return oidc.discover(client.issuer)


def begin_oidc_login(
    conn: Connection,
    *,
    client: OidcClient,
    metadata: oidc.ProviderMetadata,
    next_path: str | None,
    base_url: str,
    now: datetime,
) -> tuple[str, str]:
    """Start a single sign-on: remember state, nonce and PKCE verifier (10 minutes) and
    return (the provider's authorization URL, the state for the browser's cookie). Not an
    action: nobody is signed in yet; the sign-in itself is audited."""
    workspace_id = client.workspace_id
    state, nonce, verifier = oidc.new_secrets()
    repo.insert_oidc_login(
        conn,
        state_hash=_hash(state),
        workspace_id=workspace_id,
        code_verifier=verifier,
        nonce=nonce,
        next_path=_local_path(next_path),
        created_at=now,
        expires_at=now + OIDC_LOGIN_LIFETIME,
    )
    url = oidc.authorization_url(
        metadata,
        client_id=client.client_id,
        redirect_uri=redirect_uri(base_url),
        scopes=client.scopes,
        state=state,
        nonce=nonce,
        code_verifier=verifier,
    )
    return url, state


@dataclass(frozen=True)
class PendingOidcLogin:
    workspace_id: str
    code_verifier: str
    nonce: str
    next_path: str


def take_oidc_login(
    conn: Connection, *, state: str, browser_state: str | None, now: datetime
) -> PendingOidcLogin:
    """The login in flight for ``state`` (used up). ``browser_state`` is the state the
    browser's cookie kept: a callback in another browser than the one that started the
    login (someone else's code forced on a victim) is refused."""
    if not browser_state or not secrets.compare_digest(state, browser_state):
        raise Unauthorized("this sign-in was not started in this browser; start again")
    row = repo.take_oidc_login(conn, state_hash=_hash(state), now=now)
    if row is None:
        raise Unauthorized("this sign-in is unknown or took too long; start again")
    return PendingOidcLogin(
        workspace_id=row.workspace_id,
        code_verifier=row.code_verifier,
        nonce=row.nonce,
        next_path=row.next_path,
    )


def identify_with_provider(
    client: OidcClient,
    login: PendingOidcLogin,
    *,
    code: str,
    issuer: str | None,
    base_url: str,
    now: datetime,
) -> ProviderIdentity:
    """Exchange the code at the provider and verify the ID token (network; call it outside
    a transaction). ``issuer`` is the ``iss`` of the callback (RFC 9207), checked when sent."""
    metadata = oidc.discover(client.issuer)
    if issuer is not None and issuer.rstrip("/") != metadata.issuer.rstrip("/"):
        raise Unauthorized("the sign-in came back from another provider")
    return oidc.identify(
        metadata,
        client_id=client.client_id,
        client_secret=client.client_secret,
        redirect_uri=redirect_uri(base_url),
        code=code,
        code_verifier=login.code_verifier,
        nonce=login.nonce,
        now=now,
    )


def sign_in_with_oidc(
    conn: Connection,
    *,
    client: OidcClient,
    identity: ProviderIdentity,
    now: datetime,
    ip: str | None = None,
    request_id: str | None = None,
    user_agent: str | None = None,
) -> SignInOutcome:
    """Map the provider's verified e-mail to a person of the workspace and open a session.
    An invited person becomes active; with ``auto`` provisioning a stranger from an allowed
    domain joins with the default role. A refusal is audited and returned."""
    workspace_id = client.workspace_id

    def refuse(reason: str, subject: str, message: str) -> SignInOutcome:
        _record_failure(
            conn,
            workspace_id=workspace_id,
            subject_id=subject,
            reason=reason,
            method="oidc",
            ip=ip,
            request_id=request_id,
            now=now,
        )
        return SignInOutcome(error=Unauthorized(message))

    if not identity.email or not identity.email_verified:
        return refuse(
            "no_verified_email",
            f"oidc:{identity.subject}",
            "the provider did not vouch for an e-mail address",
        )
    email = identity.email
    row = repo.user_row_by_email(conn, workspace_id=workspace_id, email=email)
    if row is None:
        domain = email.partition("@")[2]
        allowed = not client.allowed_domains or domain in client.allowed_domains
        if client.provisioning is not Provisioning.auto or not allowed:
            return refuse(
                "not_invited", f"email:{email}", f"{email} has no account in this workspace"
            )
        # joins by themselves: the account is made with the sign-in, whose audit entry says
        # so (``provisioned``)
        user = _new_person(
            conn,
            workspace_id=workspace_id,
            email=email,
            name=identity.name,
            role=client.default_role,
            language=_safe_language(identity.locale),
            status=UserStatus.active,
            password_hash=None,
            now=now,
            oidc_subject=identity.subject,
        )
        row = _user_row(conn, workspace_id, user.id)
        provisioned = True
    else:
        provisioned = False
    if row.kind != UserKind.person.value or row.status == UserStatus.disabled.value:
        return refuse("account_disabled", row.id, "this account is disabled")
    if row.oidc_subject is not None and row.oidc_subject != identity.subject:
        return refuse(
            "subject_mismatch",
            row.id,
            "the provider's account for this e-mail is not the one first used here",
        )
    if row.oidc_subject is None or row.status != UserStatus.active.value:
        repo.update_user(
            conn,
            row.id,
            oidc_subject=identity.subject,
            status=UserStatus.active.value,
            updated_at=now,
        )
        row = _user_row(conn, workspace_id, row.id)
    actor = _actor(row).for_request(request_id=request_id, ip=ip)
    started = start_session(
        conn,
        workspace_id=workspace_id,
        method=SessionMethod.oidc,
        now=now,
        actor=actor,
        user_agent=user_agent,
        provisioned=provisioned,
    )
    return SignInOutcome(session=started)


def record_oidc_failure(
    conn: Connection,
    *,
    workspace_id: str,
    reason: str,
    now: datetime,
    ip: str | None = None,
    request_id: str | None = None,
) -> None:
    """Audit a single sign-on that failed before anyone was known (refused or broken
    callback, invalid token)."""
    _record_failure(
        conn,
        workspace_id=workspace_id,
        subject_id="oidc",
        reason=reason,
        method="oidc",
        ip=ip,
        request_id=request_id,
        now=now,
    )


def _safe_language(locale: str | None) -> str:
    if not locale:
        return "en"
    tag = locale.replace("_", "-").strip()
    try:
        return _language(tag)
    except ValidationFailed:
        return "en"
