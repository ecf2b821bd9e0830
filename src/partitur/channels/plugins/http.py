"""Shared HTTP handling of providers: one pooled client per plugin, status -> outcome."""

from __future__ import annotations

from typing import Any

import httpx

from partitur.channels.base import DeliveryResult

#: statuses worth another try: timeouts, conflicts in flight, rate limits, server errors
TRANSIENT = {408, 409, 425, 429, 500, 502, 503, 504}


def make_client(config: dict[str, Any]) -> httpx.Client:
    timeout = float(config.get("timeout", 10))
    return httpx.Client(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
        follow_redirects=False,
    )


def transport_failure(exc: httpx.HTTPError, what: str) -> DeliveryResult:
    return DeliveryResult.retry(f"{what}: {type(exc).__name__}: {exc}")


def status_failure(response: httpx.Response, what: str) -> DeliveryResult:
    snippet = response.text[:200].replace("\n", " ")
    error = f"{what} answered {response.status_code}: {snippet}"
    if response.status_code in TRANSIENT:
        retry_after = response.headers.get("retry-after")
        seconds = float(retry_after) if retry_after and retry_after.isdigit() else None
        return DeliveryResult.retry(error, retry_after=seconds)
    return DeliveryResult.failed(error)


def json_body(response: httpx.Response, what: str) -> dict[str, Any]:
    """The JSON object a provider answered; raises ``ValueError`` for anything else."""
    try:
        body = response.json()
    except ValueError as exc:
        raise ValueError(
            f"{what} answered something that is not JSON: {response.text[:80]!r}"
        ) from exc
    if not isinstance(body, dict):
        raise ValueError(f"{what} answered JSON that is not an object")
    return body
