"""Take the pictures of docs/web-ui.md: key pages of the Studio in English and German.

    python scripts/studio_screenshots.py                 # a small demo, served on 127.0.0.1
    PARTITUR_BENCH_TOKEN=ptk_... python scripts/studio_screenshots.py --url http://127.0.0.1:8000

Each picture is the first screen (1440x900) of a page, as JPEG, in docs/images/.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.studio import StudioBrowser, serve_demo, visit  # noqa: E402

OUT = ROOT / "docs" / "images"


def shoot(browser: StudioBrowser, base: str, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    people = httpx.get(f"{base}/api/profiles/search", headers=headers, timeout=60).json()
    named = next(p for p in people if p.get("name") and p.get("email"))
    # page, the section to scroll to the top of the screen first, and what to click before
    canvas = "/ui/journeys/cart-abandonment/canvas"
    pages: dict[str, tuple[str, str | None, list[str]]] = {
        "overview": ("/ui/", None, []),
        "profile": (f"/ui/profiles/{named['id']}", None, []),
        "journey": ("/ui/journeys/cart-abandonment", "#flow", []),
        "canvas": (canvas, None, ["[data-action=simulate]", "[data-canvas-node=wait_order]"]),
        "canvas-live": (f"{canvas}?view=live", None, []),
        "map": ("/ui/maps/online-purchase", "#board", []),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    for language in ("en", "de"):
        page = browser.page(language=language, token=token)
        try:
            for name, (path, section, clicks) in pages.items():
                visit(page, path)
                if section:
                    page.locator(section).evaluate("el => el.scrollIntoView({block: 'start'})")
                for selector in clicks:
                    page.click(selector)
                    page.wait_for_timeout(600)
                page.wait_for_timeout(800)  # charts and the diagram settle
                target = OUT / f"studio-{language}-{name}.jpg"
                page.screenshot(path=str(target), type="jpeg", quality=78)
                sys.stdout.write(f"{target.relative_to(ROOT)}\n")
        finally:
            page.context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running partitur (token in PARTITUR_BENCH_TOKEN)")
    args = parser.parse_args()
    if args.url:
        token = os.environ["PARTITUR_BENCH_TOKEN"]
        served = type("Served", (), {"base_url": args.url, "admin_token": token})()
        browser = StudioBrowser(served)  # type: ignore[arg-type]
        try:
            shoot(browser, args.url, token)
        finally:
            browser.close()
        return
    with tempfile.TemporaryDirectory() as home, serve_demo(Path(home)) as served_demo:
        browser = StudioBrowser(served_demo)
        try:
            shoot(browser, served_demo.base_url, served_demo.admin_token)
        finally:
            browser.close()


if __name__ == "__main__":
    main()
