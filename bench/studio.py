"""Speed of the Studio in Chromium: every page interactive, cold and warm, on the demo workspace.

    python bench/studio.py            # the demo workspace (10,000 customers, 182 days)
    python bench/studio.py --smoke    # 200 customers, 30 days (CI, make bench-smoke)
    PARTITUR_BENCH_TOKEN=ptk_... python bench/studio.py --store sqlite:////path/partitur.db

The demo is loaded into a temporary store (or an existing one is used) and served by
``partitur serve`` as ``make run`` serves it (analytics reuse a copy of the SQLite store for
15 s). Headless Chromium (the Debian package, through Playwright) then opens every page:

- cold: a new browser context (empty cache, fresh session) opens the page;
- warm: the same context opens it again (assets cached; what the server caches is warm).

A page is interactive when it marks itself ready (``data-page-ready=true``: its data is shown
and it answers input); the time is the browser's ``performance.now()`` at that moment, i.e.
from the start of the navigation. Each run is repeated (3 times in full, once in smoke) and
the median printed, with the slowest API request of the page, so a slow page names the
endpoint to look at. The baseline, measured in the same run, is the Studio's not-found page:
the app without data. Targets (full size): warm < 1.5 s, cold < 3 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "bench"))

from _report import Report, below  # noqa: E402
from tests.support.studio import (  # noqa: E402
    BUILD,
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    free_port,
)

WARM_TARGET, COLD_TARGET = 1.5, 3.0


@contextmanager
def served(store: str | None, home: Path, smoke: bool) -> Iterator[tuple[str, str]]:
    """(base URL, admin token) of a served store: the demo loaded afresh unless given."""
    env = {
        **os.environ,
        "PARTITUR_VAR_DIR": str(home / "var"),
        "PARTITUR_ANALYTICS_SNAPSHOT_SECONDS": "15",
    }
    token = os.environ.get("PARTITUR_BENCH_TOKEN", "")
    if store is None:
        env["PARTITUR_DATABASE_URL"] = f"sqlite:///{home / 'partitur.db'}"
        sizes = ["--customers", "200", "--days", "30"] if smoke else []
        started = time.perf_counter()
        demo = subprocess.run(
            [sys.executable, "-m", "partitur", "demo", *sizes, "--json"],
            env=env, capture_output=True, text=True, timeout=3600, check=True,
        )  # fmt: skip
        report = json.loads(demo.stdout)
        token = report["admin_token"]
        print(
            f"demo workspace: {report['customers']:,} customers, {report['events']:,} events,"
            f" {report['profiles']:,} profiles (loaded in {time.perf_counter() - started:.0f} s)"
        )
    else:
        env["PARTITUR_DATABASE_URL"] = store
    port = free_port()
    log = (home / "serve.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "partitur", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(
                    f"partitur serve did not start: {(home / 'serve.log').read_text()}"
                )
            time.sleep(0.2)
        yield base, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def pages(base: str, token: str) -> list[tuple[str, str]]:
    headers = {"Authorization": f"Bearer {token}"}
    recent = httpx.get(base + "/api/profiles/search", headers=headers, timeout=60).json()
    return [
        ("overview", "/ui/"),
        ("profiles", "/ui/profiles"),
        ("profile 360", f"/ui/profiles/{recent[0]['id']}"),
        ("quarantine", "/ui/quarantine"),
        ("sources", "/ui/sources"),
        ("journeys", "/ui/journeys"),
        ("journey", "/ui/journeys/cart-abandonment"),
        ("journey maps", "/ui/maps"),
        ("journey map", "/ui/maps/online-purchase"),
    ]


class Run:
    """One navigation: seconds until interactive, and the API requests it made."""

    def __init__(self, page: Any, path: str) -> None:
        self.requests: list[tuple[float, str]] = []

        def done(request: Any) -> None:
            if "/api/" in request.url:
                timing = request.timing
                took = timing["responseEnd"] - max(timing["requestStart"], 0)
                self.requests.append((took / 1000, request.url.split("/api/", 1)[1]))

        page.on("requestfinished", done)
        page.goto(path)
        page.wait_for_selector("[data-page-ready=true]", timeout=120_000)
        self.seconds = page.evaluate("performance.now()") / 1000
        page.wait_for_load_state("networkidle")
        page.remove_listener("requestfinished", done)

    def slowest(self) -> str:
        if not self.requests:
            return "—"
        took, what = max(self.requests)
        return f"{what.split('?')[0]} {took * 1000:.0f} ms"


def measure(browser: Any, base: str, token: str, path: str, repeat: int) -> dict[str, Any]:
    cold, warm, slow = [], [], []
    for _ in range(repeat):
        context = browser.new_context(
            base_url=base, viewport=DESKTOP, locale="de-DE", timezone_id="Europe/Berlin"
        )
        try:
            answer = context.request.post("/api/session", data={"token": token})
            if not answer.ok:
                raise SystemExit(f"sign-in failed: {answer.status} {answer.text()}")
            page = context.new_page()
            first = Run(page, path)
            again = Run(page, path)
        finally:
            context.close()
        cold.append(first.seconds)
        warm.append(again.seconds)
        slow.append((first.requests and max(first.requests)[0], first.slowest()))
    return {
        "cold": statistics.median(cold),
        "warm": statistics.median(warm),
        "slowest": max(slow)[1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a small demo, one run (CI)")
    parser.add_argument("--store", help="serve this store instead of loading the demo")
    args = parser.parse_args()
    if not BUILD.exists():
        raise SystemExit("the Studio is not built: make studio")
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"needs {CHROMIUM} (make system-deps)")
    if args.store and not os.environ.get("PARTITUR_BENCH_TOKEN"):
        raise SystemExit("with --store, give an admin token in PARTITUR_BENCH_TOKEN")
    from playwright.sync_api import sync_playwright

    repeat = 1 if args.smoke else 3
    print(
        f"partitur Studio bench ({'smoke' if args.smoke else 'full'}),"
        f" {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()[0]:.1f}"
    )
    report = Report("studio", smoke=args.smoke)
    with (
        tempfile.TemporaryDirectory() as home,
        served(args.store, Path(home), args.smoke) as (
            base,
            token,
        ),
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            baseline = measure(browser, base, token, "/ui/no-such-page", repeat)
            print(
                f"baseline (the app without data, the not-found page): cold "
                f"{baseline['cold']:.2f} s, warm {baseline['warm']:.2f} s"
            )
            for name, path in pages(base, token):
                m = measure(browser, base, token, path, repeat)
                report.figure(
                    f"{name}, cold",
                    m["cold"],
                    "s",
                    baseline=baseline["cold"],
                    baseline_name="not-found page, cold",
                    target=below(COLD_TARGET),
                    note=f"slowest API request: {m['slowest']}",
                )
                report.figure(
                    f"{name}, warm",
                    m["warm"],
                    "s",
                    baseline=baseline["warm"],
                    baseline_name="not-found page, warm",
                    target=below(WARM_TARGET),
                )
        finally:
            browser.close()
    report.finish()


if __name__ == "__main__":
    main()
