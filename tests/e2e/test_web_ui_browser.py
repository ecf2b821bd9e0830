"""The web UI in a real browser: a served partitur with a small demo, in headless Chromium."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from partitur.demo.generator import DemoConfig, generate

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
END = "2026-01-05T12:00:00Z"
CUSTOMERS, DAYS, SEED = 200, 30, 11


@dataclass
class Served:
    base_url: str
    token: str
    email: str
    name: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _busiest_customer() -> tuple[str, str]:
    """Email and name of the demo customer with the most identify calls (surely resolved)."""
    data = generate(
        DemoConfig(
            customers=CUSTOMERS,
            days=DAYS,
            seed=SEED,
            end=datetime(2026, 1, 5, 12, tzinfo=UTC),
        )
    )
    counts: dict[str, int] = {}
    names: dict[str, str] = {}
    for m in data.messages:
        if m["type"] == "identify" and "first_name" in m.get("traits", {}):
            email = m["traits"]["email"]
            counts[email] = counts.get(email, 0) + 1
            names[email] = f"{m['traits']['first_name']} {m['traits']['last_name']}"
    email = max(sorted(counts), key=lambda e: counts[e])
    return email, names[email]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    if not Path(CHROMIUM).exists():
        pytest.skip("needs /usr/bin/chromium (make system-deps)")
    home = tmp_path_factory.mktemp("served")
    env = {
        **os.environ,
        "PARTITUR_DATABASE_URL": f"sqlite:///{home / 'partitur.db'}",
        "PARTITUR_VAR_DIR": str(home / "var"),
        "PARTITUR_SQLITE_SYNCHRONOUS": "NORMAL",
    }
    demo = subprocess.run(
        [sys.executable, "-m", "partitur", "demo", "--customers", str(CUSTOMERS), "--days",
         str(DAYS), "--seed", str(SEED), "--end", END, "--json"],
        env=env, capture_output=True, text=True, timeout=90, check=True,
    )  # fmt: skip
    report = json.loads(demo.stdout)
    assert report["events"] > 1000 and report["profiles"] > CUSTOMERS
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "partitur", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"server did not start: {server.stderr and server.stderr.read()}"
                )
            time.sleep(0.2)
        email, name = _busiest_customer()
        yield Served(base_url, report["admin_token"], email, name)
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stderr:
            server.stderr.close()


def test_sign_in_see_the_dashboard_find_a_customer_by_email_and_read_the_timeline(
    served: Served, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 900})
            page.goto(served.base_url + "/")
            expect(page).to_have_url(f"{served.base_url}/ui/login?next=%2F")
            page.fill("#token", "ptk_wrong")
            page.click("button[type=submit]")
            expect(page.get_by_role("alert")).to_contain_text("unknown or has been revoked")

            page.fill("#token", served.token)
            page.click("button[type=submit]")
            expect(page).to_have_url(served.base_url + "/")
            expect(page.locator("[data-kpi=profiles]")).not_to_have_text("0")
            expect(page.locator("svg.chart rect").first).to_be_visible()
            expect(page.locator(".legend")).to_contain_text("web")
            page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)

            page.fill("input[name=q]", served.email.upper())
            page.press("input[name=q]", "Enter")
            expect(page.locator(".profile-head h2")).to_have_text(served.name)
            expect(page.locator(".identities")).to_contain_text(served.email)
            events = page.locator(".timeline > li")
            expect(events.first).to_be_visible()
            assert events.count() >= 2
            expect(page.locator(".timeline")).to_contain_text("Identified")
            page.screenshot(path=str(tmp_path / "profile.png"), full_page=True)

            page.get_by_role("navigation").get_by_role("link", name="Sources").click()
            expect(page).to_have_url(served.base_url + "/ui/sources")
            expect(page.locator("table")).to_contain_text("support")
            page.get_by_role("navigation").get_by_role("link", name="Journeys", exact=True).click()
            expect(page).to_have_title("Journeys · partitur")
            expect(page.locator(".journeys-table tbody tr").first).to_be_visible()
            page.set_viewport_size({"width": 400, "height": 800})
            page.goto(served.base_url + "/")
            expect(page.locator(".menu-toggle")).to_be_visible()
            page.click(".menu-toggle")
            expect(page.locator("#sidebar")).to_have_class("sidebar open")
            # the sidebar slides in (no script evaluation: the pages' policy forbids eval)
            _wait_until(lambda: (page.locator("#sidebar").bounding_box() or {"x": -1})["x"] >= 0)
            page.screenshot(path=str(tmp_path / "overview-narrow.png"))
        finally:
            browser.close()
    for shot in ("overview.png", "profile.png", "overview-narrow.png"):
        assert (tmp_path / shot).stat().st_size > 10_000


def _wait_until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
