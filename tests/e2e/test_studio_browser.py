"""The Studio in headless Chromium against a served demo workspace: signing in (e-mail and
password, single sign-on through a real OpenID provider, an API token), every page with its
figures, German and English, accessibility, the untranslated-text check and screenshots."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.support.openid import OpenIdProvider, ProviderAccount
from tests.support.studio import (
    DESKTOP,
    PHONE,
    Served,
    StudioBrowser,
    accessibility_problems,
    screenshots,
    untranslated,
    visit,
)

pytestmark = pytest.mark.browser

ADA = ProviderAccount("ada@example.com", "ada-provider-pw", "Ada Lovelace")
MALLORY = ProviderAccount("mallory@elsewhere.example", "mallory-pw", "Mallory")


def pages(served: Served) -> list[tuple[str, str]]:
    """Every page of the Studio: (name, path), with a real profile, journey and map."""
    (person,) = served.api("/api/profiles/search", q=served.email)
    return [
        ("overview", "/ui/"),
        ("profiles", "/ui/profiles"),
        ("profile", f"/ui/profiles/{person['id']}"),
        ("quarantine", "/ui/quarantine"),
        ("sources", "/ui/sources"),
        ("journeys", "/ui/journeys"),
        ("journey", "/ui/journeys/cart-abandonment"),
        ("maps", "/ui/maps"),
        ("map", "/ui/maps/online-purchase"),
        ("not-found", "/ui/no-such-page"),
    ]


@pytest.mark.parametrize("language", ["en", "de"])
def test_every_page_is_accessible_and_pictured_in_both_languages(
    studio: StudioBrowser, served: Served, language: str
) -> None:
    page = studio.page(language=language)
    problems: dict[str, list[dict[str, Any]]] = {}
    try:
        for name, path in pages(served):
            visit(page, path)
            found = accessibility_problems(page)
            if found:
                problems[name] = found
            screenshots(page, name, language)
        signed_out = studio.page(language=language, signed_in=False)
        try:
            for name, path in [
                ("sign-in", "/ui/sign-in"),
                ("set-password", "/ui/set-password#token=a-link-that-was-never-issued"),
            ]:
                visit(signed_out, path)
                if found := accessibility_problems(signed_out):
                    problems[name] = found
                screenshots(signed_out, name, language)
        finally:
            signed_out.context.close()
    finally:
        page.context.close()
    assert problems == {}, json.dumps(problems, indent=1)


def test_no_page_shows_a_word_that_is_not_from_the_catalogue_or_the_data(
    studio: StudioBrowser, served: Served
) -> None:
    page = studio.page(language="pseudo")
    responses: list[Any] = []
    page.on("response", lambda r: responses.append(r) if "/api/" in r.url else None)
    found: dict[str, list[str]] = {}
    try:
        for name, path in pages(served):
            responses.clear()
            visit(page, path)
            page.wait_for_load_state("networkidle")
            assert page.locator("text=⟦").first.is_visible(), f"{name}: not in the pseudo language"
            if words := untranslated(page, responses):
                found[name] = words
    finally:
        page.context.close()
    assert found == {}, json.dumps(found, indent=1, ensure_ascii=False)


def test_sign_in_refuses_a_wrong_password_then_returns_to_the_page_asked_for(
    studio: StudioBrowser, served: Served
) -> None:
    from playwright.sync_api import expect

    page = studio.page(signed_in=False)
    try:
        page.goto("/ui/profiles?q=nobody%40example.com")
        expect(page).to_have_url(re.compile(r"/ui/sign-in\?next="))
        page.get_by_label("E-mail", exact=True).fill(served.owner_email)
        page.get_by_label("Password", exact=True).fill("not-the-password")
        page.get_by_role("button", name="Sign in", exact=True).click()
        expect(page.get_by_text("Wrong e-mail or password.")).to_be_visible()
        page.get_by_label("Password", exact=True).fill(served.owner_password)
        page.get_by_role("button", name="Sign in", exact=True).click()
        expect(page).to_have_url(re.compile(r"/ui/profiles\?q=nobody%40example\.com$"))
        nobody = page.get_by_text("No profile has the identifier “nobody@example.com”.")
        expect(nobody).to_be_visible()
        signed_in = page.locator("[data-signed-in]")
        expect(signed_in).to_contain_text("Demo Owner")
        expect(signed_in).to_contain_text("Owner")
        session = page.request.get("/api/session").json()
        assert session["email"] == served.owner_email and session["role"] == "owner"
    finally:
        page.context.close()


def test_sign_in_with_an_api_token_instead(studio: StudioBrowser, served: Served) -> None:
    from playwright.sync_api import expect

    page = studio.page(signed_in=False)
    try:
        page.goto("/ui/journeys")
        expect(page).to_have_url(re.compile(r"/ui/sign-in\?next="))
        page.get_by_role("button", name="Sign in with an API token instead").click()
        page.get_by_label("API token", exact=True).fill("ptk_wrong")
        page.get_by_role("button", name="Sign in", exact=True).click()
        expect(page.get_by_text("This token is unknown or has been revoked.")).to_be_visible()
        page.get_by_label("API token", exact=True).fill(served.admin_token)
        page.get_by_role("button", name="Sign in", exact=True).click()
        expect(page).to_have_url(re.compile(r"/ui/journeys$"))
        expect(page.locator("[data-table=journeys]")).to_be_visible()
        session = page.request.get("/api/session").json()
        assert session["kind"] == "service" and session["role"] == "admin"
    finally:
        page.context.close()


def _sign_in_at_the_provider(page: Any, account: ProviderAccount) -> None:
    """On the provider's own login page (a plain form of the test provider)."""
    page.locator("input[name=email]").fill(account.email)
    page.locator("input[name=password]").fill(account.password)
    page.get_by_role("button", name="Sign in").click()


def test_single_sign_on_through_a_real_openid_provider(
    studio: StudioBrowser, served: Served
) -> None:
    """An invited person signs in with the workspace's OpenID provider (oidc-provider on
    Node) from the sign-in page and lands on the page they asked for; someone the workspace
    does not know comes back to the sign-in page, told why, in their language."""
    from playwright.sync_api import expect

    client = {"client_id": "partitur-studio", "client_secret": "studio-test-secret"}
    provider = OpenIdProvider(
        clients=[
            {**client, "redirect_uris": [f"{served.base_url}/api/session/oidc/callback"]},
        ],
        accounts={a.email: a for a in (ADA, MALLORY)},
    )
    provider.start()
    setup = {**client, "issuer": provider.issuer}
    try:
        served.change("POST", "/api/users", {"email": ADA.email, "role": "analyst"})
        served.change("PUT", "/api/access/oidc", {**setup, "enabled": True})
        page = studio.page(signed_in=False)
        try:
            page.goto("/ui/journeys")
            expect(page).to_have_url(re.compile(r"/ui/sign-in\?next="))
            page.get_by_role("link", name="Sign in with single sign-on").click()
            expect(page).to_have_url(re.compile("^" + re.escape(provider.issuer)))
            _sign_in_at_the_provider(page, ADA)
            expect(page).to_have_url(re.compile(r"/ui/journeys$"))
            expect(page.locator("[data-table=journeys]")).to_be_visible()
            expect(page.locator("[data-signed-in]")).to_contain_text("Analyst")
            session = page.request.get("/api/session").json()
            assert session["email"] == ADA.email and session["role"] == "analyst"
        finally:
            page.context.close()

        stranger = studio.page(language="de", signed_in=False)
        try:
            visit(stranger, "/ui/sign-in")
            stranger.get_by_role("link", name="Mit Single Sign-on anmelden").click()
            _sign_in_at_the_provider(stranger, MALLORY)
            expect(stranger).to_have_url(re.compile(r"/ui/sign-in\?sso_error=not_allowed"))
            expect(stranger.get_by_role("alert")).to_contain_text("keinen Zugang")
            assert stranger.request.get("/api/session").status == 401
        finally:
            stranger.context.close()
    finally:
        served.change("PUT", "/api/access/oidc", {**setup, "enabled": False})
        provider.stop()
    assert served.api("/api/session/methods")["sso"] is False


def test_an_invited_person_sets_a_password_with_the_link_then_signs_in(
    studio: StudioBrowser, served: Served
) -> None:
    from playwright.sync_api import expect

    link = served.change("POST", "/api/users", {"email": "grace@example.com", "role": "viewer"})
    page = studio.page(language="de", signed_in=False)
    try:
        visit(page, link["url"].removeprefix(served.base_url))
        page.get_by_label("Neues Passwort", exact=True).fill("short")
        page.get_by_role("button", name="Passwort festlegen").click()
        expect(page.get_by_text("Mindestens 12 Zeichen.")).to_be_visible()
        page.get_by_label("Neues Passwort", exact=True).fill("a long enough password")
        page.get_by_label("Passwort wiederholen", exact=True).fill("a long enough password")
        page.get_by_role("button", name="Passwort festlegen").click()
        expect(page.locator("[data-account-email]")).to_have_text("grace@example.com")
        page.get_by_role("link", name="Zur Anmeldung").click()
        page.get_by_label("E-Mail", exact=True).fill("grace@example.com")
        page.get_by_label("Passwort", exact=True).fill("a long enough password")
        page.get_by_role("button", name="Anmelden", exact=True).click()
        expect(page.locator("[data-signed-in]")).to_contain_text("Lesezugriff")
        # the link is used up
        visit(page, link["url"].removeprefix(served.base_url))
        page.get_by_label("Neues Passwort", exact=True).fill("another long password")
        page.get_by_label("Passwort wiederholen", exact=True).fill("another long password")
        page.get_by_role("button", name="Passwort festlegen").click()
        expect(page.get_by_role("alert")).to_contain_text("schon benutzt oder abgelaufen")
    finally:
        page.context.close()


def test_signing_out_sends_the_csrf_token_and_ends_the_session(
    studio: StudioBrowser, served: Served
) -> None:
    from playwright.sync_api import expect

    page = studio.page()
    sent: list[dict[str, str]] = []

    def record(request: Any) -> None:
        if request.method == "DELETE" and "/api/session" in request.url:
            sent.append(request.headers)

    page.on("request", record)
    try:
        visit(page, "/ui/")
        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(re.compile(r"/ui/sign-in"))
        assert sent and sent[0].get("x-csrf-token")
        page.goto("/ui/journeys")
        expect(page).to_have_url(re.compile(r"/ui/sign-in\?next="))
    finally:
        page.context.close()


def test_the_overview_shows_the_counts_and_the_volume_chart(
    studio: StudioBrowser, served: Served
) -> None:
    from playwright.sync_api import expect

    page = studio.page()
    try:
        visit(page, "/ui/")
        count = served.api("/api/profiles/count")["profiles"]
        expect(page.locator("[data-kpi=profiles]")).to_have_text(f"{count:,}")
        expect(page.locator("[data-chart] svg")).to_be_visible()
        assert page.locator("[data-chart] svg path").count() > 30  # the days' bars
        expect(page.locator("[data-chart]")).to_contain_text("web")  # the legend
        page.locator("label", has_text="7 days").click()
        expect(page).to_have_url(re.compile(r"days=7"))
        expect(page.get_by_text("Last 7 days")).to_be_visible()
    finally:
        page.context.close()


def test_find_a_customer_by_email_and_read_the_timeline(
    studio: StudioBrowser, served: Served
) -> None:
    from playwright.sync_api import expect

    page = studio.page()
    try:
        visit(page, "/ui/")
        search = page.get_by_role("searchbox", name="Find a profile")
        search.fill(served.email.upper())
        search.press("Enter")
        expect(page.locator("[data-profile-name]")).to_have_text(served.name)
        expect(page.locator("[data-identities]")).to_contain_text(served.email)
        events = page.locator("[data-timeline] > li")
        expect(events.first).to_be_visible()
        assert events.count() >= 2
        expect(page.locator("[data-timeline]")).to_contain_text("Identified")
    finally:
        page.context.close()


def test_the_journey_page_draws_the_flow_with_each_nodes_figures(
    studio: StudioBrowser, served: Served
) -> None:
    from playwright.sync_api import expect

    report = served.api("/api/analytics/journeys/cart-abandonment/report")
    definition = served.api("/api/journeys/cart-abandonment/definition")
    page = studio.page()
    try:
        visit(page, "/ui/journeys/cart-abandonment")
        diagram = page.locator("[data-flow-node]")
        expect(diagram).to_have_count(len(definition["nodes"]))
        reached = {n["node_id"]: n["reached"] for n in report["nodes"]}
        start = definition["start"]
        row = page.locator(f"tr[data-node={start}] [data-kpi=reached]")
        expect(row).to_have_text(f"{reached[start]:,}")
        expect(page.locator(f"[data-flow-node={start}] [data-kpi=reached] b")).to_have_text(
            f"{reached[start]:,}"
        )
        expect(page.get_by_text("at most 1 hour").first).to_be_visible()  # PT1H in words
        page.locator("[data-flow-node=reminder_email]").click()
        expect(page).to_have_url(re.compile(r"node=reminder_email"))
        expect(page.locator("tr[data-node=reminder_email]")).to_be_in_viewport()
    finally:
        page.context.close()


def test_the_journey_page_speaks_german(studio: StudioBrowser, served: Served) -> None:
    from playwright.sync_api import expect

    page = studio.page(language="de")
    try:
        visit(page, "/ui/journeys/cart-abandonment")
        expect(page.get_by_role("heading", name="Ablauf")).to_be_visible()
        expect(page.get_by_text("höchstens 1 Stunde").first).to_be_visible()
        expect(page.locator("[data-kpi=conversion_rate]")).to_have_text(re.compile(r"^\d+,\d\s%$"))
    finally:
        page.context.close()


def test_a_nine_stage_map_shows_every_stage_at_1440_pixels(
    studio: StudioBrowser, served: Served
) -> None:
    import httpx

    stages = [s["key"] for s in served.api("/api/maps/taxonomy")["stages"]]
    assert len(stages) == 9
    document = {
        "key": "whole-life",
        "name": "The whole customer life",
        "stages": [
            {"key": k, "emotion": (i % 5) - 2, "needs": [f"need of {k}"],
             "touchpoints": [{"id": f"tp-{k}", "name": f"Touchpoint {k}", "channel": "web"}]}
            for i, k in enumerate(stages)
        ],
    }  # fmt: skip
    saved = httpx.post(
        served.base_url + "/api/maps",
        json=document,
        headers={"Authorization": f"Bearer {served.admin_token}"},
        timeout=30,
    )
    assert saved.status_code in (201, 409), saved.text
    page = studio.page()
    try:
        visit(page, "/ui/maps/whole-life")
        columns = page.locator("[data-stage-column]")
        assert columns.count() == 9
        for k in range(9):
            box = columns.nth(k).bounding_box()
            assert box is not None and box["x"] + box["width"] <= DESKTOP["width"], stages[k]
        page.set_viewport_size(PHONE)
        board = page.locator("[data-map-board]")
        scroll = board.evaluate("el => [el.scrollWidth, el.clientWidth]")
        assert scroll[0] > scroll[1]  # on a phone the board scrolls sideways
    finally:
        page.context.close()


def test_a_bad_day_is_named_next_to_its_field_and_the_default_period_shown(
    studio: StudioBrowser, served: Served
) -> None:
    from playwright.sync_api import expect

    page = studio.page()
    try:
        visit(page, "/ui/maps/online-purchase?since=2026-13-01")
        field = page.locator("[data-field=since]")
        expect(page.locator("[data-period-error]")).to_be_visible()
        described = field.get_attribute("aria-describedby") or ""
        assert described, "the error is tied to the field"
        expect(page.locator(f"[id='{described.split()[-1]}']")).not_to_be_empty()
        expect(page.locator("[data-table=stages] tbody tr").first).to_be_visible()
    finally:
        page.context.close()


def test_a_server_error_shows_a_friendly_message_with_the_request_id(
    studio: StudioBrowser, served: Served
) -> None:
    from playwright.sync_api import expect

    page = studio.page()
    page.route(
        "**/api/profiles/count",
        lambda route: route.fulfill(
            status=500,
            content_type="application/problem+json",
            headers={"X-Request-Id": "req-4711"},
            body='{"status": 500, "title": "Internal error", "request_id": "req-4711"}',
        ),
    )
    try:
        page.goto("/ui/")
        expect(page.locator("[data-error='5xx']")).to_contain_text("Something went wrong")
        expect(page.locator("[data-request-id]")).to_have_text("req-4711")
    finally:
        page.context.close()


def test_the_language_is_switched_and_remembered(studio: StudioBrowser, served: Served) -> None:
    from playwright.sync_api import expect

    page = studio.page(language="en")
    try:
        visit(page, "/ui/")
        expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
        page.locator("label", has_text="Deutsch").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Übersicht")
        page.reload()
        page.wait_for_selector("[data-page-ready=true]")
        expect(page.get_by_role("heading", level=1)).to_have_text("Übersicht")
        assert page.evaluate("document.documentElement.lang") == "de"
    finally:
        page.context.close()


def test_the_menu_opens_on_a_phone(studio: StudioBrowser, served: Served) -> None:
    from playwright.sync_api import expect

    page = studio.page(viewport=PHONE)
    try:
        visit(page, "/ui/")
        navigation = page.get_by_role("navigation", name="Main navigation")
        expect(navigation.get_by_role("link", name="Journeys")).not_to_be_in_viewport()
        page.get_by_role("button", name="Open the menu").click()
        expect(navigation.get_by_role("link", name="Journeys")).to_be_in_viewport()
        navigation.get_by_role("link", name="Journeys").click()
        expect(page).to_have_url(re.compile(r"/ui/journeys$"))
        expect(page.locator("[data-table=journeys]")).to_be_visible()
    finally:
        page.context.close()
