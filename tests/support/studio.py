"""Browser tests of the Studio: a served partitur with a small demo workspace, headless Chromium
(the Debian package, through Playwright), and the checks every page gets.

- ``serve_demo(home)`` loads a seeded demo (200 customers, 30 days up to the current hour) and
  starts ``partitur serve`` on a free port of 127.0.0.1;
- ``StudioBrowser.page(language=...)`` opens a browser context signed in as the demo's owner
  with e-mail and password through ``POST /api/session`` (the session cookie lands in the
  context; ``token=`` signs in with an API token instead), 1440x900, Berlin time;
- ``visit(page, path)`` navigates and waits until the page marks itself ready
  (``[data-page-ready=true]``, set once its data is shown);
- ``accessibility_problems(page)`` runs axe-core (injected from studio/node_modules) and
  returns the serious and critical violations;
- ``screenshots(page, name)`` writes the page at 1440x900 and 390x844 into
  ``var/artifacts/screenshots/<language>/`` (``PARTITUR_ARTIFACTS`` moves the folder);
- ``untranslated(page, responses)`` finds visible text that came neither from the catalogue
  nor from the data: in the pseudo language every catalogue string (and every formatted word)
  is wrapped in ⟦ ⟧; what is left must be found in the API's answers.

See studio/README.md ("Tests") for how to add a page to these checks.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from partitur.demo.generator import DemoConfig, generate

ROOT = Path(__file__).resolve().parents[2]
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
AXE = ROOT / "studio" / "node_modules" / "axe-core" / "axe.min.js"
BUILD = ROOT / "src" / "partitur" / "web" / "studio" / "index.html"
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
CUSTOMERS, DAYS, SEED = 200, 30, 11
LANGUAGE_KEY = "partitur.language"


def artifacts_dir() -> Path:
    return Path(os.environ.get("PARTITUR_ARTIFACTS", ROOT / "var" / "artifacts"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Served:
    """A running ``partitur serve`` with the demo workspace."""

    base_url: str
    admin_token: str
    #: the demo workspace's owner, who signs in with e-mail and password
    owner_email: str
    owner_password: str
    #: the demo customer with the most identify calls (surely resolved): email and name
    email: str
    name: str
    end: datetime
    process: subprocess.Popen[bytes] = field(repr=False)

    def api(self, path: str, **params: Any) -> Any:
        """GET an API path as the admin (for expectations)."""
        answer = httpx.get(
            self.base_url + path,
            params=params,
            headers={"Authorization": f"Bearer {self.admin_token}"},
            timeout=30,
        )
        answer.raise_for_status()
        return answer.json()

    def change(self, method: str, path: str, body: Any) -> Any:
        """Change something through the API as the admin (to set up a test)."""
        answer = httpx.request(
            method,
            self.base_url + path,
            json=body,
            headers={"Authorization": f"Bearer {self.admin_token}"},
            timeout=30,
        )
        answer.raise_for_status()
        return answer.json()


def _busiest_customer(end: datetime) -> tuple[str, str]:
    data = generate(DemoConfig(customers=CUSTOMERS, days=DAYS, seed=SEED, end=end))
    counts: dict[str, int] = {}
    names: dict[str, str] = {}
    for message in data.messages:
        traits = message.get("traits", {})
        if message["type"] == "identify" and "first_name" in traits:
            counts[traits["email"]] = counts.get(traits["email"], 0) + 1
            names[traits["email"]] = f"{traits['first_name']} {traits['last_name']}"
    email = max(sorted(counts), key=lambda e: counts[e])
    return email, names[email]


@contextmanager
def serve_demo(home: Path) -> Iterator[Served]:
    """The seeded demo served on 127.0.0.1; stops the server on exit."""
    if not BUILD.exists():
        raise RuntimeError("the Studio is not built: run `make studio` (make test does)")
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PARTITUR_DATABASE_URL": f"sqlite:///{home / 'partitur.db'}",
        "PARTITUR_VAR_DIR": str(home / "var"),
        "PARTITUR_SQLITE_SYNCHRONOUS": "NORMAL",
        # the address single sign-on sends the browser back to
        "PARTITUR_BASE_URL": base_url,
    }
    demo = subprocess.run(
        [sys.executable, "-m", "partitur", "demo", "--customers", str(CUSTOMERS), "--days",
         str(DAYS), "--seed", str(SEED), "--end", end.isoformat(), "--json"],
        env=env, capture_output=True, text=True, timeout=180, check=True,
    )  # fmt: skip
    report = json.loads(demo.stdout)
    log = (home / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "partitur", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log_text = (home / "serve.log").read_text()
                raise RuntimeError(f"partitur serve did not start: {log_text}")
            time.sleep(0.2)
        email, name = _busiest_customer(end)
        yield Served(
            base_url,
            report["admin_token"],
            report["owner_email"],
            report["owner_password"],
            email,
            name,
            end,
            process,
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        log.close()


class StudioBrowser:
    """One Chromium for the test session; a fresh signed-in context per page."""

    def __init__(self, served: Served) -> None:
        from playwright.sync_api import sync_playwright

        self.served = served
        self._playwright = sync_playwright().start()
        self.browser = self._playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )

    def close(self) -> None:
        self.browser.close()
        self._playwright.stop()

    def page(
        self,
        *,
        language: str = "en",
        signed_in: bool = True,
        token: str | None = None,
        viewport: dict[str, int] | None = None,
    ) -> Any:
        """A new page in its own context: the language chosen before the first load."""
        context = self.browser.new_context(
            base_url=self.served.base_url,
            viewport=viewport or DESKTOP,
            locale="de-DE" if language == "de" else "en-GB",
            timezone_id="Europe/Berlin",
        )
        context.add_init_script(
            f"if (!localStorage.getItem({json.dumps(LANGUAGE_KEY)}))"
            f" localStorage.setItem({json.dumps(LANGUAGE_KEY)}, {json.dumps(language)});"
        )
        if signed_in:
            credentials = (
                {"token": token}
                if token
                else {"email": self.served.owner_email, "password": self.served.owner_password}
            )
            answer = context.request.post("/api/session", data=credentials)
            assert answer.ok, f"sign-in failed: {answer.status} {answer.text()}"
        page = context.new_page()
        page.set_default_timeout(20_000)
        return page


def visit(page: Any, path: str) -> Any:
    """Go to a Studio path and wait until the page shows its data."""
    page.goto(path)
    page.wait_for_selector("[data-page-ready=true]")
    return page


def accessibility_problems(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations of the page as it is now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ["violations"]});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => n.target.join(" "))}));
        }"""
    )
    return [v for v in result if v["impact"] in ("serious", "critical")]


def screenshots(page: Any, name: str, language: str) -> list[Path]:
    """The page at 1440x900 and at 390x844 (full length), as artefacts."""
    folder = artifacts_dir() / "screenshots" / language
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for size in (DESKTOP, PHONE):
        page.set_viewport_size(size)
        page.wait_for_timeout(250)  # charts and the map board follow their width
        path = folder / f"{name}-{size['width']}x{size['height']}.png"
        page.screenshot(path=str(path), full_page=True)
        paths.append(path)
    page.set_viewport_size(DESKTOP)
    return paths


# -- the untranslated-text check ---------------------------------------------------------------

_VISIBLE_TEXT = """() => {
    const out = [];
    const skip = el => el.closest('.react-flow__attribution, script, style, noscript, code, pre');
    const shown = el => el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true});
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const el = n.parentElement;
        if (!el || !n.textContent.trim() || skip(el) || !shown(el)) continue;
        out.push(n.textContent);
    }
    for (const el of document.querySelectorAll('[aria-label], [title], [placeholder], [alt]')) {
        if (skip(el) || !shown(el)) continue;
        for (const a of ['aria-label', 'title', 'placeholder', 'alt']) {
            const v = el.getAttribute(a);
            if (v && v.trim()) out.push(v);
        }
    }
    return out;
}"""
_MARKED = re.compile(r"⟦[^⟦⟧]*⟧")
_EDGES = " \t\n\u00a0·,;:–—-→/|()[]{}“”„\"'‘’…•+%×÷#=<>.?!*"


def _strings(value: Any, out: set[str]) -> None:
    if isinstance(value, str):
        out.add(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            out.add(str(key))
            _strings(item, out)
    elif isinstance(value, list):
        for item in value:
            _strings(item, out)


def data_strings(responses: list[Any]) -> str:
    """Every string and key of the JSON the API answered, one per line."""
    found: set[str] = set()
    for response in responses:
        if "json" not in (response.headers.get("content-type") or ""):
            continue
        try:
            _strings(response.json(), found)
        except Exception:  # noqa: BLE001 - a body already gone (redirect) holds no text
            continue
    return "\n".join(sorted(found))


def untranslated(page: Any, responses: list[Any]) -> list[str]:
    """Visible texts (and labels) with words that are neither catalogue strings (marked in the
    pseudo language) nor data the API sent."""
    data = data_strings(responses)
    problems = []
    for text in page.evaluate(_VISIBLE_TEXT):
        rest = text
        while True:  # interpolated catalogue strings nest: remove the innermost first
            stripped = _MARKED.sub("\u0000", rest)
            if stripped == rest:
                break
            rest = stripped
        for piece in rest.split("\u0000"):
            piece = piece.strip(_EDGES)
            if not re.search(r"[^\W\d_]", piece) or piece in data:
                continue
            words = [w.strip(_EDGES) for w in piece.split()]
            if all(not re.search(r"[^\W\d_]", w) or w in data for w in words):
                continue
            problems.append(piece)
    return sorted(set(problems))
