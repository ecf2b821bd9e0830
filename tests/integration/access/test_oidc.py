"""Single sign-on against a real OpenID provider (``oidc-provider`` on Node, on 127.0.0.1):
a browser goes from partitur to the provider's login page and back, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from partitur.access import service as access
from partitur.access.contracts import OidcSettingsUpdate, Provisioning
from partitur.api.deps import SESSION_COOKIE
from partitur.context import Context
from partitur.core.actions import Actor, Role
from partitur.core.clock import VirtualClock
from partitur.settings import Settings
from tests.support.access import make_person, token_for
from tests.support.live_server import free_port, live_server
from tests.support.openid import OpenIdProvider, ProviderAccount

CLIENT_ID = "partitur-studio"
CLIENT_SECRET = "s3cret/with+chars&more"
ADA = ProviderAccount("ada@example.com", "ada-provider-pw", "Ada Lovelace")
GRACE = ProviderAccount("grace@corp.example", "grace-provider-pw", "Grace Hopper")
MALLORY = ProviderAccount("mallory@elsewhere.example", "mallory-pw", "Mallory")


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def settings(database_url: str, tmp_path: Path, port: int) -> Settings:
    # the provider sends the browser back to this address: the server must be served there
    return Settings(
        database_url=database_url,
        var_dir=tmp_path / "var",
        sqlite_synchronous="NORMAL",
        base_url=f"http://127.0.0.1:{port}",
    )


@pytest.fixture
def clock() -> VirtualClock:
    # the provider signs tokens with the real time; partitur checks them against its clock
    return VirtualClock(datetime.now(UTC))


@pytest.fixture
def provider(port: int) -> Iterator[OpenIdProvider]:
    server = OpenIdProvider(
        clients=[
            {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": [f"http://127.0.0.1:{port}{access.OIDC_CALLBACK_PATH}"],
            }
        ],
        accounts={a.email: a for a in (ADA, GRACE, MALLORY)},
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def base_url(ctx: Context, port: int, provider: OpenIdProvider) -> Iterator[str]:
    with live_server(ctx, port) as url:
        yield url


def _configure(ctx: Context, provider: OpenIdProvider, **changes: object) -> None:
    update = OidcSettingsUpdate(
        issuer=provider.issuer,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        button_label="Sign in with Example ID",
        **changes,  # type: ignore[arg-type]
    )
    with ctx.store.begin() as conn:
        access.configure_oidc(
            conn,
            workspace_id=ctx.workspace_id,
            update=update,
            secret_key=ctx.settings.secret_key,
            base_url=ctx.settings.base_url,
            now=ctx.clock.now(),
            actor=Actor.system(ctx.workspace_id, "test"),
        )


def _sign_in_at_provider(
    browser: httpx.Client, base_url: str, account: ProviderAccount, *, next_path: str = "/ui/"
) -> httpx.Response:
    """Start at partitur, sign in on the provider's page, follow the browser back."""
    page = browser.get(f"{base_url}/api/session/oidc/start", params={"next": next_path})
    assert page.status_code == 200 and "Test identity provider" in page.text, page.text
    form = re.search(r'action="([^"]+)"', page.text)
    assert form is not None
    return browser.post(
        str(page.url.join(form.group(1))),
        data={"email": account.email, "password": account.password},
    )


def test_an_invited_person_signs_in_with_the_openid_provider(
    ctx: Context, base_url: str, provider: OpenIdProvider
) -> None:
    _configure(ctx, provider)
    owner = make_person(ctx, "owner@example.com", Role.owner)
    admin = token_for(ctx, owner.id)
    with httpx.Client(follow_redirects=True, timeout=20) as api:
        invited = api.post(
            f"{base_url}/api/users",
            json={"email": "ada@example.com", "role": "designer"},
            headers=admin,
        )
        assert invited.status_code == 201, invited.text
        methods = api.get(f"{base_url}/api/session/methods").json()
        assert methods["sso"] and methods["sso_label"] == "Sign in with Example ID"

    with httpx.Client(follow_redirects=True, timeout=20) as browser:
        start = browser.get(
            f"{base_url}/api/session/oidc/start",
            params={"next": "/ui/journeys"},
            follow_redirects=False,
        )
        assert start.status_code == 303
        sent = parse_qs(urlsplit(start.headers["location"]).query)
        assert start.headers["location"].startswith(provider.issuer)
        assert sent["code_challenge_method"] == ["S256"] and len(sent["code_challenge"][0]) == 43
        assert sent["redirect_uri"] == [f"{base_url}{access.OIDC_CALLBACK_PATH}"]
        back = _sign_in_at_provider(browser, base_url, ADA, next_path="/ui/journeys")
        assert back.status_code == 200, back.text
        assert str(back.url).startswith(f"{base_url}{access.OIDC_CALLBACK_PATH}?code=")
        assert "url=/ui/journeys" in back.text
        assert SESSION_COOKIE in browser.cookies
        session = browser.get(f"{base_url}/api/session").json()
        assert session["email"] == "ada@example.com" and session["role"] == "designer"
        assert session["name"] == invited.json()["user"]["name"]
        user_id = session["user_id"]

    with httpx.Client(timeout=20) as api:
        user = api.get(f"{base_url}/api/users/{user_id}", headers=admin).json()
        assert user["status"] == "active" and user["sso_linked"] is True
        entries = api.get(
            f"{base_url}/api/audit", params={"action": "session.sign_in"}, headers=admin
        ).json()["items"]
        assert entries[0]["actor"] == f"user:{user_id}"
        assert entries[0]["details"]["method"] == "oidc"


def test_a_stranger_is_refused_unless_auto_provisioning_lets_their_domain_in(
    ctx: Context, base_url: str, provider: OpenIdProvider
) -> None:
    _configure(ctx, provider)
    owner = make_person(ctx, "owner@example.com", Role.owner)
    with httpx.Client(follow_redirects=True, timeout=20) as browser:
        refused = _sign_in_at_provider(browser, base_url, GRACE)
        assert refused.url.path == "/ui/sign-in"
        assert refused.url.params["sso_error"] == "not_allowed"
        assert SESSION_COOKIE not in browser.cookies

    _configure(
        ctx,
        provider,
        provisioning=Provisioning.auto,
        default_role=Role.analyst,
        allowed_domains=["corp.example"],
    )
    with httpx.Client(follow_redirects=True, timeout=20) as browser:
        _sign_in_at_provider(browser, base_url, GRACE)
        joined = browser.get(f"{base_url}/api/session").json()
        assert joined["email"] == "grace@corp.example" and joined["role"] == "analyst"
        assert joined["name"] == "Grace Hopper"
    with httpx.Client(follow_redirects=True, timeout=20) as browser:
        other_domain = _sign_in_at_provider(browser, base_url, MALLORY)
        assert other_domain.url.params["sso_error"] == "not_allowed"

    with httpx.Client(timeout=20) as api:
        failed = api.get(
            f"{base_url}/api/audit",
            params={"action": "session.sign_in_failed"},
            headers=token_for(ctx, owner.id),
        ).json()["items"]
    assert [(e["subject_id"], e["details"]["reason"]) for e in failed] == [
        ("email:mallory@elsewhere.example", "not_invited"),
        ("email:grace@corp.example", "not_invited"),
    ]


def test_a_callback_from_another_browser_is_refused(
    ctx: Context, base_url: str, provider: OpenIdProvider
) -> None:
    """Someone who starts a sign-in and sends the link back to a victim's browser does not
    sign the victim in as themselves: the state is tied to the browser that started it."""
    _configure(ctx, provider)
    make_person(ctx, "ada@example.com", Role.viewer)
    with httpx.Client(follow_redirects=True, timeout=20) as attacker:
        page = attacker.get(f"{base_url}/api/session/oidc/start")
        form = re.search(r'action="([^"]+)"', page.text)
        assert form is not None
        at_provider = attacker.post(
            str(page.url.join(form.group(1))),
            data={"email": ADA.email, "password": ADA.password},
            follow_redirects=False,
        )
        resume = attacker.get(
            str(at_provider.url.join(at_provider.headers["location"])), follow_redirects=False
        )
        callback = resume.headers["location"]
        assert callback.startswith(f"{base_url}{access.OIDC_CALLBACK_PATH}")
    with httpx.Client(follow_redirects=True, timeout=20) as victim:
        landed = victim.get(callback)
        assert landed.url.params["sso_error"] == "expired"
        assert SESSION_COOKIE not in victim.cookies
