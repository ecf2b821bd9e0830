"""The OpenID Connect relying party: authorization code flow with PKCE (S256).

Authlib builds the authorization request, the token request and the PKCE challenge and checks
the ID token's claims (issuer, audience, expiry, nonce, ``at_hash``); joserfc (Authlib's JOSE
library) verifies its signature against the provider's published keys. HTTP goes through
httpx. Nothing here touches the store: ``access.service`` keeps the state of a login in flight.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from partitur.core.errors import DependencyFailed, Unauthorized

#: seconds to wait for the provider
TIMEOUT = 10.0
#: provider metadata is fetched again after this many seconds
METADATA_TTL = 600.0
#: tolerated clock difference with the provider (seconds) when checking token times
LEEWAY = 60
#: signature algorithms accepted for ID tokens (never ``none``, never a MAC with our secret)
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None = None


@dataclass(frozen=True)
class ProviderIdentity:
    """Who the provider says signed in."""

    subject: str
    email: str | None
    email_verified: bool
    name: str | None
    locale: str | None


_cache: dict[str, tuple[float, ProviderMetadata]] = {}
_cache_lock = threading.Lock()


def new_secrets() -> tuple[str, str, str]:
    """A fresh ``state``, ``nonce`` and PKCE ``code_verifier`` for one login."""
    return generate_token(43), generate_token(32), generate_token(64)


def _get_json(client: httpx.Client, url: str, **kwargs: Any) -> dict[str, Any]:
    try:
        response = client.get(url, **kwargs)
    except httpx.HTTPError as exc:
        raise DependencyFailed(
            f"the OpenID provider cannot be reached ({exc.__class__.__name__})"
        ) from exc
    if response.status_code != 200:
        raise DependencyFailed(f"the OpenID provider answered {response.status_code} for {url}")
    try:
        body = response.json()
    except ValueError as exc:
        raise DependencyFailed(f"the OpenID provider sent no JSON from {url}") from exc
    if not isinstance(body, dict):
        raise DependencyFailed(f"the OpenID provider sent no JSON object from {url}")
    return body


def discover(issuer: str) -> ProviderMetadata:
    """The provider's metadata from ``<issuer>/.well-known/openid-configuration`` (cached);
    raises ``DependencyFailed`` when it cannot be read or names another issuer."""
    issuer = issuer.rstrip("/")
    with _cache_lock:
        cached = _cache.get(issuer)
    if cached and time.monotonic() - cached[0] < METADATA_TTL:
        return cached[1]
    with httpx.Client(timeout=TIMEOUT) as client:
        body = _get_json(client, f"{issuer}/.well-known/openid-configuration")
    if str(body.get("issuer", "")).rstrip("/") != issuer:
        raise DependencyFailed(
            f"the provider's metadata names the issuer {body.get('issuer')!r}, not {issuer!r}"
        )
    try:
        metadata = ProviderMetadata(
            issuer=str(body["issuer"]),
            authorization_endpoint=str(body["authorization_endpoint"]),
            token_endpoint=str(body["token_endpoint"]),
            jwks_uri=str(body["jwks_uri"]),
            userinfo_endpoint=body.get("userinfo_endpoint"),
        )
    except KeyError as exc:
        raise DependencyFailed(f"the provider's metadata lacks {exc.args[0]!r}") from exc
    with _cache_lock:
        _cache[issuer] = (time.monotonic(), metadata)
    return metadata


def authorization_url(
    metadata: ProviderMetadata,
    *,
    client_id: str,
    redirect_uri: str,
    scopes: str,
    state: str,
    nonce: str,
    code_verifier: str,
) -> str:
    """Where to send the browser: the provider's sign-in with our PKCE challenge."""
    url: str = prepare_grant_uri(
        metadata.authorization_endpoint,
        client_id=client_id,
        response_type="code",
        redirect_uri=redirect_uri,
        scope=scopes,
        state=state,
        nonce=nonce,
        code_challenge=create_s256_code_challenge(code_verifier),
        code_challenge_method="S256",
    )
    return url


def identify(
    metadata: ProviderMetadata,
    *,
    client_id: str,
    client_secret: str | None,
    redirect_uri: str,
    code: str,
    code_verifier: str,
    nonce: str,
    now: datetime,
) -> ProviderIdentity:
    """Exchange the authorization code (with the PKCE verifier) for tokens, verify the ID
    token and return who signed in. Raises ``Unauthorized`` for a refused code or an invalid
    token, ``DependencyFailed`` when the provider cannot be reached."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": code_verifier,
        "client_id": client_id,
    }
    with httpx.Client(timeout=TIMEOUT) as client:
        try:
            if client_secret:
                # client_secret_basic: both parts form-encoded first (RFC 6749, 2.3.1)
                auth = (quote(client_id, safe=""), quote(client_secret, safe=""))
                answer = client.post(metadata.token_endpoint, data=form, auth=auth)
            else:
                answer = client.post(metadata.token_endpoint, data=form)
        except httpx.HTTPError as exc:
            raise DependencyFailed(
                f"the OpenID provider cannot be reached ({exc.__class__.__name__})"
            ) from exc
        if answer.status_code != 200:
            error = _error_code(answer)
            raise Unauthorized(f"the OpenID provider refused the sign-in ({error})")
        tokens = answer.json()
        id_token = tokens.get("id_token") if isinstance(tokens, dict) else None
        if not isinstance(id_token, str):
            raise Unauthorized("the OpenID provider sent no ID token")
        keys = KeySet.import_key_set(_get_json(client, metadata.jwks_uri))  # type: ignore[arg-type]
        claims = _verified_claims(
            id_token,
            keys,
            issuer=metadata.issuer,
            client_id=client_id,
            nonce=nonce,
            access_token=tokens.get("access_token"),
            now=now,
        )
        if "email" not in claims and metadata.userinfo_endpoint and tokens.get("access_token"):
            info = _get_json(
                client,
                metadata.userinfo_endpoint,
                headers={"Authorization": f"Bearer {tokens['access_token']}"},
            )
            if info.get("sub") == claims.get("sub"):
                claims = {**info, **claims}
    return ProviderIdentity(
        subject=str(claims["sub"]),
        email=str(claims["email"]).strip().lower() if claims.get("email") else None,
        email_verified=claims.get("email_verified", True) is not False,
        name=str(claims["name"]) if claims.get("name") else None,
        locale=str(claims["locale"]) if claims.get("locale") else None,
    )


def _error_code(answer: httpx.Response) -> str:
    """The OAuth error code of a refusal (never the provider's whole answer)."""
    try:
        body = answer.json()
    except ValueError:
        return f"HTTP {answer.status_code}"
    code = body.get("error") if isinstance(body, dict) else None
    return str(code)[:60] if code else f"HTTP {answer.status_code}"


def _verified_claims(
    id_token: str,
    keys: KeySet,
    *,
    issuer: str,
    client_id: str,
    nonce: str,
    access_token: str | None,
    now: datetime,
) -> dict[str, Any]:
    try:
        token = jwt.decode(id_token, keys, algorithms=ALGORITHMS)
        claims = CodeIDToken(
            token.claims,
            token.header,
            options={
                "iss": {"essential": True, "value": issuer},
                "aud": {"essential": True, "value": client_id},
            },
            params={"nonce": nonce, "client_id": client_id, "access_token": access_token},
        )
        claims.validate(now=int(now.timestamp()), leeway=LEEWAY)
    except (JoseError, ValueError) as exc:
        raise Unauthorized(f"the ID token is not valid ({exc.__class__.__name__})") from exc
    return dict(claims)
