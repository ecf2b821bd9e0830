"""Serves the Studio, partitur's browser UI: the single-page app built from ``studio/`` into
``partitur/web/studio/`` (by ``make run`` / ``make test``; the wheel ships it).

- ``/ui/assets/*``: the build's hashed files, cached for a year (their names change with their
  content), as the Brotli or gzip copy the build made when the browser accepts it;
- any other path under ``/ui/`` that is not a file of the build answers ``index.html`` (the app
  routes on the client), never cached, so a new build is picked up at the next load;
- ``/`` sends the browser to ``/ui/``.

The Studio reads and writes only through the public HTTP API (``/api/...``), signed in with the
session cookie; nothing here reads the store.
"""

from __future__ import annotations

import importlib.resources
import mimetypes
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from partitur.api.security import CONTENT_SECURITY_POLICY

router = APIRouter(include_in_schema=False)

#: The Studio's build (``vite build`` writes it; see studio/vite.config.ts).
STUDIO_DIR = Path(str(importlib.resources.files("partitur.web"))) / "studio"
#: Hashed build files never change under their name.
IMMUTABLE = "public, max-age=31536000, immutable"
#: The page itself is revalidated on every load, so a new build takes effect at once.
REVALIDATE = "no-cache"
#: Security headers of the page (every answer gets them from ``partitur.api.security``; the
#: page names them itself so that it is never served without them).
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}

_NOT_BUILT = """<!doctype html><html lang="en"><meta charset="utf-8"><title>partitur</title>
<body style="font-family: system-ui, sans-serif; margin: 3rem; max-width: 40rem">
<h1>The Studio is not built</h1>
<p>This partitur has no browser UI build. <code>make run</code> builds it (Node 20 and npm);
the API works without it: <a href="/docs">/docs</a>.</p></body></html>"""


def _file(relative: str) -> Path | None:
    """The build file at ``relative`` (inside the build directory only), or None."""
    root = STUDIO_DIR.resolve()
    candidate = (root / relative).resolve()
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    return candidate


def _index() -> Response:
    index = _file("index.html")
    if index is None:
        return HTMLResponse(_NOT_BUILT, status_code=503, headers={"Cache-Control": REVALIDATE})
    return FileResponse(
        index, media_type="text/html", headers={"Cache-Control": REVALIDATE, **PAGE_HEADERS}
    )


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/ui/", status_code=307)


@router.get("/ui")
def studio_root() -> RedirectResponse:
    return RedirectResponse("/ui/", status_code=307)


#: Compressed copies the build writes beside each text asset (studio/scripts/compress.mjs),
#: best first.
_ENCODINGS = (("br", ".br"), ("gzip", ".gz"))


def _asset(path: str, accepted: str) -> Response:
    asset = _file(path)
    if asset is None:
        return Response(status_code=404, headers={"Cache-Control": REVALIDATE})
    media_type = mimetypes.guess_type(asset.name)[0] or "application/octet-stream"
    headers = {
        "Cache-Control": IMMUTABLE,
        "X-Content-Type-Options": "nosniff",
        "Vary": "Accept-Encoding",
    }
    offered = {part.split(";")[0].strip() for part in accepted.lower().split(",")}
    for encoding, suffix in _ENCODINGS:
        copy = asset.with_name(asset.name + suffix)
        if encoding in offered and copy.is_file():
            headers["Content-Encoding"] = encoding
            return FileResponse(copy, media_type=media_type, headers=headers)
    return FileResponse(asset, media_type=media_type, headers=headers)


@router.api_route("/ui/{path:path}", methods=["GET", "HEAD"])
def studio(path: str, request: Request) -> Response:
    """A file of the build, or the app's page for any client route."""
    if path.startswith("assets/"):
        return _asset(path, request.headers.get("accept-encoding", ""))
    if path and "/" not in path and "." in path:  # favicon.svg and the like, at the top
        top = _file(path)
        if top is not None:
            return FileResponse(top, headers={"Cache-Control": "public, max-age=3600"})
    return _index()
