"""`partitur serve` serves the Studio: the app's page for every client route (never cached),
its hashed assets for a year, nothing outside the build; and every API answer carries a
request id that a server error names."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from partitur.app import create_app
from partitur.context import Context
from partitur.settings import Settings
from partitur.web import api as studio


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """Serving files does not depend on the store's engine: SQLite only."""
    return sqlite_url


@pytest.fixture
def build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Studio build as vite writes it: index.html, hashed assets, a favicon."""
    root = tmp_path / "studio"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text('<!doctype html><div id="root"></div>')
    (root / "assets" / "index-3f2a1b.js").write_text("console.log(1)")
    (root / "favicon.svg").write_text("<svg/>")
    (tmp_path / "secret.txt").write_text("not for the browser")
    monkeypatch.setattr(studio, "STUDIO_DIR", root)
    return root


@pytest.fixture
def web(ctx: Context, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, ctx=ctx), raise_server_exceptions=False) as client:
        yield client


def test_every_client_route_answers_the_app_page_never_cached(web: TestClient, build: Path) -> None:
    for path in ("/ui/", "/ui/profiles", "/ui/profiles/prf_1?before=x", "/ui/maps/online-purchase"):
        answer = web.get(path)
        assert answer.status_code == 200, path
        assert '<div id="root">' in answer.text
        assert answer.headers["cache-control"] == "no-cache"
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        assert answer.headers["x-content-type-options"] == "nosniff"


def test_the_root_leads_to_the_studio(web: TestClient, build: Path) -> None:
    answer = web.get("/", follow_redirects=False)
    assert answer.status_code == 307 and answer.headers["location"] == "/ui/"


def test_hashed_assets_are_cached_for_a_year(web: TestClient, build: Path) -> None:
    answer = web.get("/ui/assets/index-3f2a1b.js")
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert answer.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert web.get("/ui/favicon.svg").status_code == 200


def test_an_asset_comes_compressed_when_the_browser_accepts_it(
    web: TestClient, build: Path
) -> None:
    asset = build / "assets" / "index-3f2a1b.js"
    (build / "assets" / "index-3f2a1b.js.br").write_bytes(b"brotli bytes")
    answer = web.get("/ui/assets/index-3f2a1b.js", headers={"Accept-Encoding": "gzip, br"})
    assert answer.headers["content-encoding"] == "br"
    assert answer.headers["vary"] == "Accept-Encoding"
    assert answer.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    plain = web.get("/ui/assets/index-3f2a1b.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.text == asset.read_text()


def test_a_missing_asset_is_404_and_nothing_outside_the_build_is_served(
    web: TestClient, build: Path
) -> None:
    assert web.get("/ui/assets/index-gone.js").status_code == 404
    for path in ("/ui/assets/../../secret.txt", "/ui/assets/%2e%2e/%2e%2e/secret.txt"):
        answer = web.get(path)
        assert "not for the browser" not in answer.text, path


def test_without_a_build_the_page_says_how_to_make_one(
    web: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(studio, "STUDIO_DIR", tmp_path / "nothing")
    answer = web.get("/ui/journeys")
    assert answer.status_code == 503 and "make run" in answer.text


def test_api_answers_carry_a_request_id_and_keep_a_sane_one_from_a_proxy(
    web: TestClient,
) -> None:
    first, second = web.get("/healthz"), web.get("/healthz")
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    assert (
        web.get("/healthz", headers={"X-Request-Id": "edge-42"}).headers["x-request-id"]
        == "edge-42"
    )
    forged = web.get("/healthz", headers={"X-Request-Id": "<script>"}).headers["x-request-id"]
    assert forged != "<script>" and len(forged) == 32


def test_a_server_error_names_its_request_id(
    ctx: Context, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings, ctx=ctx)

    def boom() -> None:
        raise RuntimeError("broken on purpose")

    app.add_api_route("/api/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get("/api/boom")
    assert answer.status_code == 500
    problem = answer.json()
    assert problem["request_id"] == answer.headers["x-request-id"]
    assert "broken on purpose" not in answer.text
    assert any(problem["request_id"] in r.getMessage() for r in caplog.records)
