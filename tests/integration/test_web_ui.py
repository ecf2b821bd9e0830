"""The web UI: sign-in with a token cookie, dashboard, profile 360 and sources pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from partitur.context import Context
from partitur.core.actions import Actor
from partitur.events.tables import events, quarantine
from partitur.identity.tables import identities
from partitur.profiles.tables import profiles
from partitur.web.ui import SESSION_COOKIE, NavItem, nav_items, register_nav
from partitur.workspaces import service as workspaces
from partitur.workspaces.contracts import Scope


def _token(ctx: Context, scope: Scope) -> str:
    with ctx.store.begin() as conn:
        return workspaces.create_token(
            conn,
            workspace_id=ctx.workspace_id,
            name="ui",
            scopes=[scope],
            now=ctx.clock.now(),
            actor=Actor.system(ctx.workspace_id, "test"),
        ).token


@pytest.fixture
def anna(ctx: Context) -> str:
    """A customer with a merged-away anonymous profile, a timeline and a quarantined message."""
    now = ctx.clock.now()
    ws = ctx.workspace_id
    with ctx.store.begin() as conn:
        web = workspaces.create_source(
            conn, workspace_id=ws, name="web", now=now, actor=Actor.system(ws, "test")
        )
        support = workspaces.create_source(
            conn, workspace_id=ws, name="support", now=now, actor=Actor.system(ws, "test")
        )
        base = {"workspace_id": ws, "created_at": now, "updated_at": now, "trait_times": {}}
        conn.execute(
            profiles.insert(),
            [
                {
                    **base,
                    "id": "prf_anna",
                    "traits": {
                        "first_name": "Anna",
                        "last_name": "Müller",
                        "email": "anna@example.com",
                    },
                    "computed": {"event_count": 3, "order_count": 1, "revenue": 129.9},
                    "first_seen_at": now - timedelta(days=3),
                    "last_seen_at": now - timedelta(hours=1),
                    "timezone": "Europe/Berlin",
                    "locale": "de-DE",
                    "is_test": False,
                },
            ],
        )
        conn.execute(
            profiles.insert().values(
                **base, id="prf_anon", merged_into="prf_anna", traits={}, computed={}, is_test=False
            )
        )
        ident = {
            "workspace_id": ws,
            "profile_id": "prf_anna",
            "first_seen_at": now,
            "last_seen_at": now,
        }
        conn.execute(
            identities.insert(),
            [
                {**ident, "kind": "user_id", "value": "C100001"},
                {**ident, "kind": "email", "value": "anna@example.com"},
                {**ident, "kind": "anonymous_id", "value": "w-anna-1"},
            ],
        )
        row = {
            "workspace_id": ws,
            "profile_id": "prf_anna",
            "received_at": now,
            "user_id": "C100001",
        }
        conn.execute(
            events.insert(),
            [
                {
                    **row,
                    "source_id": web.id,
                    "message_id": "m1",
                    "type": "page",
                    "event": "Home",
                    "timestamp": now - timedelta(days=3),
                    "properties": {"path": "/", "title": "Home"},
                },
                {
                    **row,
                    "source_id": web.id,
                    "message_id": "m2",
                    "type": "track",
                    "event": "Order Completed",
                    "timestamp": now - timedelta(days=2),
                    "properties": {"order_id": "NH-100001", "revenue": 129.9, "currency": "EUR"},
                },
                {
                    **row,
                    "source_id": support.id,
                    "message_id": "m3",
                    "type": "track",
                    "event": "Ticket Created",
                    "timestamp": now - timedelta(hours=1),
                    "properties": {
                        "ticket_id": "T-1",
                        "text": "Wo bleibt meine Bestellung?",
                        "sentiment_label": "negative",
                    },
                },
            ],
        )
        conn.execute(
            quarantine.insert().values(
                workspace_id=ws,
                source_id=web.id,
                received_at=now,
                origin="api",
                position="3",
                reason="a message needs a userId or an anonymousId",
                field="userId",
                payload="{}",
            )
        )
    return "prf_anna"


def _login(client: TestClient, token: str) -> None:
    answer = client.post("/ui/login", data={"token": token, "next": "/"}, follow_redirects=False)
    assert answer.status_code == 303


def test_pages_send_a_visitor_without_a_session_to_the_login_page(client: TestClient) -> None:
    answer = client.get("/ui/profiles?q=x", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/login?next=%2Fui%2Fprofiles%3Fq%3Dx"
    assert "API token" in client.get(answer.headers["location"]).text


def test_login_refuses_an_unknown_token_and_says_why(client: TestClient) -> None:
    answer = client.post("/ui/login", data={"token": "ptk_nope"}, follow_redirects=False)
    assert answer.status_code == 401
    assert "unknown or has been revoked" in answer.text
    assert SESSION_COOKIE not in answer.cookies


def test_login_sets_an_httponly_strict_cookie_and_returns_to_the_page(
    client: TestClient, ctx: Context
) -> None:
    answer = client.post(
        "/ui/login",
        data={"token": _token(ctx, Scope.read), "next": "/ui/sources"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/sources"
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie


def test_login_never_redirects_to_another_site(client: TestClient, ctx: Context) -> None:
    answer = client.post(
        "/ui/login",
        data={"token": _token(ctx, Scope.read), "next": "//evil.example/"},
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/"


def test_a_revoked_token_ends_the_session(client: TestClient, ctx: Context) -> None:
    token = _token(ctx, Scope.read)
    _login(client, token)
    assert client.get("/", follow_redirects=False).status_code == 200
    with ctx.store.begin() as conn:
        (tok,) = [t for t in workspaces.list_tokens(conn, workspace_id=ctx.workspace_id)]
        workspaces.revoke_token(
            conn,
            workspace_id=ctx.workspace_id,
            token_id=tok.id,
            now=ctx.clock.now(),
            actor=Actor.system(ctx.workspace_id, "test"),
        )
    assert client.get("/", follow_redirects=False).status_code == 303


def test_overview_shows_counts_the_volume_chart_and_the_quarantine(
    client: TestClient, ctx: Context, anna: str
) -> None:
    _login(client, _token(ctx, Scope.read))
    page = client.get("/").text
    assert 'data-kpi="profiles">1<' in page  # the merged-away profile does not count
    assert 'data-kpi="events">3<' in page
    assert "<svg" in page and "Events per day" in page
    assert "a message needs a userId or an anonymousId" in page
    assert "></span>web</li>" in page and "></span>support</li>" in page  # the legend


def test_profile_search_by_email_opens_the_profile_with_its_timeline(
    client: TestClient, ctx: Context, anna: str
) -> None:
    _login(client, _token(ctx, Scope.read))
    answer = client.get("/ui/profiles", params={"q": "ANNA@example.com"}, follow_redirects=False)
    assert answer.headers["location"] == f"/ui/profiles/{anna}"
    page = client.get(answer.headers["location"]).text
    assert "Anna Müller" in page
    assert "Order Completed" in page and "NH-100001" in page and "129.90 EUR" in page
    assert "Wo bleibt meine Bestellung?" in page and "negative" in page
    assert page.index("Ticket Created") < page.index("Order Completed")  # newest first
    assert "C100001" in page and "w-anna-1" in page


def test_a_merged_profile_id_leads_to_the_survivor(
    client: TestClient, ctx: Context, anna: str
) -> None:
    _login(client, _token(ctx, Scope.read))
    answer = client.get("/ui/profiles/prf_anon", follow_redirects=False)
    assert answer.headers["location"] == f"/ui/profiles/{anna}"
    missing = client.get("/ui/profiles/prf_nobody")
    assert missing.status_code == 404 and "There is no profile prf_nobody" in missing.text


def test_a_search_without_a_match_says_so(client: TestClient, ctx: Context, anna: str) -> None:
    _login(client, _token(ctx, Scope.read))
    page = client.get("/ui/profiles", params={"q": "nobody@example.com"})
    assert page.status_code == 200
    assert "No profile has the identifier" in page.text


def test_write_keys_are_shown_to_admins_only(client: TestClient, ctx: Context, anna: str) -> None:
    with ctx.store.read() as conn:
        key = workspaces.get_source_by_name(
            conn, workspace_id=ctx.workspace_id, name="web"
        ).write_key
    _login(client, _token(ctx, Scope.read))
    assert key not in client.get("/ui/sources").text
    _login(client, _token(ctx, Scope.admin))
    assert key in client.get("/ui/sources").text


def test_logout_clears_the_session(client: TestClient, ctx: Context) -> None:
    _login(client, _token(ctx, Scope.read))
    client.post("/ui/logout", follow_redirects=False)
    assert client.get("/", follow_redirects=False).status_code == 303


def test_static_files_are_served_and_paths_outside_are_refused(client: TestClient) -> None:
    css = client.get("/ui/static/app.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert client.get("/ui/static/..%2Fapi.py").status_code == 404
    assert client.get("/ui/static/missing.css").status_code == 404


def test_a_registered_navigation_entry_appears_in_the_sidebar(
    client: TestClient, ctx: Context
) -> None:
    register_nav(NavItem("journeys-test", "Journeys (test)", "/ui/journeys-test", 30, "route"))
    try:
        _login(client, _token(ctx, Scope.read))
        page = client.get("/").text
        assert 'href="/ui/journeys-test"' in page
        assert page.index("Profiles") < page.index("Journeys (test)") < page.index("Sources")
    finally:
        from partitur.web import ui

        ui._NAV[:] = [i for i in nav_items() if i.key != "journeys-test"]


def test_a_long_timeline_pages_back_with_older_events(
    client: TestClient, ctx: Context, anna: str
) -> None:
    now = ctx.clock.now()
    with ctx.store.begin() as conn:
        source = workspaces.get_source_by_name(conn, workspace_id=ctx.workspace_id, name="web")
        conn.execute(
            events.insert(),
            [
                {
                    "workspace_id": ctx.workspace_id,
                    "source_id": source.id,
                    "message_id": f"old-{k}",
                    "type": "track",
                    "event": f"Old Event {k}",
                    "user_id": "C100001",
                    "profile_id": anna,
                    "timestamp": now - timedelta(days=10, minutes=k),
                    "received_at": now,
                }
                for k in range(60)
            ],
        )
    _login(client, _token(ctx, Scope.read))
    first = client.get(f"/ui/profiles/{anna}").text
    assert first.count('class="event ') == 50
    assert "Ticket Created" in first and "Old Event 59" not in first
    older = first.split('href="?cursor=')[1].split('"')[0]
    second = client.get(f"/ui/profiles/{anna}", params={"cursor": older}).text
    assert second.count('class="event ') == 13
    assert "Old Event 59" in second and "Ticket Created" not in second
    assert "?cursor=" not in second


def test_the_quarantine_page_lists_refused_messages_with_reason_and_field(
    client: TestClient, ctx: Context, anna: str
) -> None:
    _login(client, _token(ctx, Scope.read))
    page = client.get("/ui/quarantine").text
    assert "a message needs a userId or an anonymousId" in page
    assert "<code>userId</code>" in page and ">web</span>" in page
