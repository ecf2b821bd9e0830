"""Every answer of the server carries the security headers: the API, its errors, the pages,
the fast lane; the API documentation pages get the policy that lets them load."""

from __future__ import annotations

import base64

from fastapi.testclient import TestClient

from partitur.api.security import CONTENT_SECURITY_POLICY, DOCS_CONTENT_SECURITY_POLICY


def _secured(headers: object, policy: str = CONTENT_SECURITY_POLICY) -> None:
    assert headers["content-security-policy"] == policy  # type: ignore[index]
    assert "frame-ancestors 'none'" in policy
    assert headers["x-content-type-options"] == "nosniff"  # type: ignore[index]
    assert headers["referrer-policy"] == "same-origin"  # type: ignore[index]
    assert headers["x-frame-options"] == "DENY"  # type: ignore[index]


def test_api_answers_errors_pages_and_the_fast_lane_carry_the_security_headers(
    client: TestClient, admin_headers: dict[str, str], write_key: str
) -> None:
    _secured(client.get("/api/sources", headers=admin_headers).headers)
    _secured(client.get("/api/sources").headers)  # 401 problem
    _secured(client.get("/healthz").headers)
    _secured(client.get("/ui/sign-in").headers)
    basic = base64.b64encode(f"{write_key}:".encode()).decode()
    tracked = client.post(
        "/v1/track",
        json={"userId": "u1", "event": "Signed Up"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert tracked.status_code == 200, tracked.text
    _secured(tracked.headers)


def test_the_api_documentation_may_load_its_scripts_from_its_cdn(client: TestClient) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200
    _secured(docs.headers, DOCS_CONTENT_SECURITY_POLICY)
    assert "https://cdn.jsdelivr.net" in DOCS_CONTENT_SECURITY_POLICY
    assert "https://cdn.jsdelivr.net" not in CONTENT_SECURITY_POLICY
