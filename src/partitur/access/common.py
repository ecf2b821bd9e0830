"""Constants and small helpers shared by the access modules: link and login lifetimes, the
failed sign-in limits, hashing of secrets, checks of e-mail addresses, names and languages.
(Re-exported by ``access.service``.)"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from partitur.access.contracts import (
    Scope,
)
from partitur.core.actions import (
    ASSIGNABLE_ROLES,
    Permission,
    Role,
)
from partitur.core.errors import (
    ValidationFailed,
)

#: a password link (invitation, reset) works this long
LINK_LIFETIME = timedelta(days=7)
#: a single sign-on login must come back from the provider within this time
OIDC_LOGIN_LIFETIME = timedelta(minutes=10)
#: the last-seen time of a session is written at most this often (a write per request would
#: serialise every reader behind the store's write lock)
TOUCH_EVERY = timedelta(seconds=60)
#: failed sign-ins: per account and per IP address, this many within the window lock the
#: account (or the address) for the lock time; a lock answers 429 with Retry-After
ACCOUNT_FAILURES = 5
IP_FAILURES = 20
FAILURE_WINDOW = timedelta(minutes=15)
LOCK_TIME = timedelta(minutes=15)
#: the callback address registered at the OpenID provider, under the server's base URL
OIDC_CALLBACK_PATH = "/api/session/oidc/callback"
OIDC_START_PATH = "/api/session/oidc/start"
#: where a person sets their password from a link (a page of the Studio)
PASSWORD_PAGE = "/ui/set-password"
#: what early tokens' scopes became: a service account per scope (role, scoped-down rights)
SCOPE_ACCOUNTS: dict[Scope, tuple[str, Role, frozenset[Permission] | None]] = {
    Scope.admin: ("api-admin", Role.admin, None),
    Scope.write: ("api-write", Role.publisher, None),
    Scope.read: ("api-read", Role.analyst, frozenset({Permission.read, Permission.analyse})),
}


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _email(value: str) -> str:
    email = value.strip().lower()
    local, at, domain = email.partition("@")
    if not at or not local or not domain or " " in email or len(email) > 320:
        raise ValidationFailed("enter an e-mail address such as ada@example.com", field="email")
    return email


def _assignable(role: Role) -> Role:
    if role not in ASSIGNABLE_ROLES:
        raise ValidationFailed(
            f"the role {role.value!r} cannot be given; choose one of "
            + ", ".join(r.value for r in ASSIGNABLE_ROLES),
            field="role",
        )
    return role


def _name(value: str, field: str = "name") -> str:
    name = " ".join(value.split())
    if not 1 <= len(name) <= 200:
        raise ValidationFailed("a name has 1 to 200 characters", field=field)
    return name


def _language(value: str) -> str:
    language = value.strip()
    if not 2 <= len(language) <= 10 or not language.replace("-", "").isalnum():
        raise ValidationFailed("a language is a tag such as en or de-CH", field="language")
    return language
