"""Security headers on every HTTP answer of the server — the API, the Studio's pages and
assets, the fast lane — set in one place (``PartiturApp`` wraps every response with them).

The content security policy suits the Studio, a single-page app built into files this server
serves: scripts, styles, fonts and API calls only from this origin (style attributes are set
by the component and chart libraries, hence ``'unsafe-inline'`` for styles only), no framing
by any site, no plugins, forms only to this origin. The interactive API documentation
(``/docs``, ``/redoc``) loads its scripts from the CDN FastAPI names, and gets a policy that
allows exactly that. A header a route sets itself is left as it is.
"""

from __future__ import annotations

from starlette.types import Message, Scope, Send

#: the policy of every answer but the API documentation pages
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
)
#: Swagger UI and ReDoc: their bundles from the CDN and the page's own start-up script
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' data: https://fonts.gstatic.com; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "worker-src 'self' blob:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
)
DOCS_PATHS = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})

_COMMON: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
_HSTS = (b"strict-transport-security", b"max-age=31536000")


def security_headers(scope: Scope) -> list[tuple[bytes, bytes]]:
    """The headers an answer to the request ``scope`` carries."""
    policy = (
        DOCS_CONTENT_SECURITY_POLICY
        if scope.get("path") in DOCS_PATHS
        else (CONTENT_SECURITY_POLICY)
    )
    headers = [(b"content-security-policy", policy.encode()), *_COMMON]
    if scope.get("scheme") == "https":
        headers.append(_HSTS)
    return headers


def with_security_headers(scope: Scope, send: Send) -> Send:
    """``send`` that adds the security headers to the response's start."""
    extra = security_headers(scope)

    async def send_secured(message: Message) -> None:
        if message["type"] == "http.response.start":
            present = {name.lower() for name, _ in message.get("headers", [])}
            message["headers"] = [
                *message.get("headers", []),
                *((name, value) for name, value in extra if name not in present),
            ]
        await send(message)

    return send_secured
