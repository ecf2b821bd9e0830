"""The one HTTP client of provider plugins (webhooks, SMS gateways, push) and the mapping of
answers to delivery outcomes.

``ProviderClient`` is a ``urllib3`` pool manager per plugin instance: persistent HTTP/1.1
connections per host, shared by the dispatcher's sending threads, TLS verified (unless the
provider's config says ``verify_tls: false``), a timeout on the connect and on every read, no
redirects followed, no automatic retries (a failed delivery is retried through the outbox,
with backoff), and at most ``MAX_ANSWER_BYTES`` of an answer read.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.client import RemoteDisconnected
from typing import Any
from urllib.parse import urlencode

import urllib3
from urllib3.exceptions import HTTPError, ProtocolError
from urllib3.util import make_headers

from partitur.channels.base import DeliveryResult
from partitur.core import jsonutil, outbound

#: statuses worth another try: timeouts, conflicts in flight, rate limits, server errors
TRANSIENT = {408, 409, 425, 429, 500, 502, 503, 504}
#: the most of an answer's body that is read (a longer answer's connection is not kept)
MAX_ANSWER_BYTES = 64 * 1024
#: kept connections per host (the dispatcher sends from up to 16 threads)
KEEP_PER_HOST = 64
#: URLs whose connection pool and request target a client remembers
_ROUTES = 32
#: a kept connection the server closed unseen fails like this, before any answer
_CLOSED_UNSEEN = (RemoteDisconnected, ConnectionResetError, BrokenPipeError)


def request_target(url: str) -> str:
    """The path and query of an ``http(s)`` URL; raises ``ValueError`` for any other URL."""
    parts = urllib3.util.parse_url(url)
    if parts.scheme not in ("http", "https") or not parts.host:
        raise ValueError(f"not an http(s) url: {url!r}")
    return parts.request_uri


class TransportError(Exception):
    """The request got no answer (refused, timed out, reset, not HTTP, TLS refused)."""


@dataclass
class HttpAnswer:
    """A provider's answer: status, headers (case-insensitive) and up to
    ``MAX_ANSWER_BYTES`` of the body."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")


class ProviderClient:
    """HTTP for one provider plugin instance (see the module's docstring). Config: ``timeout``
    (seconds, default 10; the connect waits at most 5), ``verify_tls`` (default true)."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        timeout = float(config.get("timeout", 10))
        self._manager = urllib3.PoolManager(
            num_pools=2 * _ROUTES,
            maxsize=KEEP_PER_HOST,
            block=False,
            timeout=urllib3.Timeout(connect=min(timeout, 5.0), read=timeout),
            retries=False,
            cert_reqs="CERT_REQUIRED" if config.get("verify_tls") is not False else "CERT_NONE",
        )
        #: url -> (its connection pool, its path and query); providers post to a few URLs
        self._routes: dict[str, tuple[urllib3.HTTPConnectionPool, str]] = {}
        self._lock = threading.Lock()

    def _route(self, url: str) -> tuple[urllib3.HTTPConnectionPool, str]:
        route = self._routes.get(url)
        if route is None:
            target = request_target(url)  # first: refuses what is no http(s) URL
            outbound.check_url(url)  # then a destination that is not public (after DNS)
            route = (self._manager.connection_from_url(url), target)
            with self._lock:
                # a provider posting to ever new URLs starts over; the manager keeps twice as
                # many pools, so it never closes a pool a kept route still points to
                if len(self._routes) >= _ROUTES:
                    self._routes.clear()
                self._routes[url] = route
        return route

    def post(
        self,
        url: str,
        *,
        body: bytes | None = None,
        json: Any = None,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> HttpAnswer:
        """POST ``body`` (or ``json``, or a ``form``) to ``url``. Raises ``TransportError``
        when no answer comes, ``ValueError`` for a URL or header that cannot be sent
        (``outbound.OutboundRefused`` for a destination that is not public)."""
        sent = dict(headers or {})
        for name, value in sent.items():
            if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
                raise ValueError(f"header {name!r} holds a line break")
        if json is not None:
            body = jsonutil.dumps(json)
            sent.setdefault("Content-Type", "application/json")
        elif form is not None:
            body = urlencode(form).encode()
            sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
        if auth is not None:
            sent.update(make_headers(basic_auth=f"{auth[0]}:{auth[1]}"))
        pool, path = self._route(url)
        for attempt in (1, 2):
            try:
                answer = pool.urlopen(
                    "POST",
                    path,
                    body=body,
                    headers=sent,
                    redirect=False,
                    retries=False,
                    preload_content=False,
                )
                break
            except ProtocolError as exc:
                cause = exc.args[-1] if exc.args else None
                if attempt == 1 and isinstance(cause, _CLOSED_UNSEEN):
                    # the server dropped a kept connection as the request went out: once more
                    # on a fresh one (receivers drop a duplicate by its Idempotency-Key)
                    continue
                raise TransportError(f"{type(exc).__name__}: {exc}") from exc
            except (HTTPError, OSError) as exc:
                raise TransportError(f"{type(exc).__name__}: {exc}") from exc
        try:
            data = answer.read(MAX_ANSWER_BYTES + 1)
            if len(data) > MAX_ANSWER_BYTES:
                answer.close()  # the rest is never read: the connection cannot be kept
                data = data[:MAX_ANSWER_BYTES]
        except (HTTPError, OSError) as exc:
            answer.close()
            raise TransportError(f"{type(exc).__name__}: {exc}") from exc
        finally:
            answer.release_conn()
        return HttpAnswer(answer.status, answer.headers, data)

    def close(self) -> None:
        self._manager.clear()


def _reason(status: int) -> str:
    """The standard phrase of a status: a provider's own error text is not stored (it may
    echo what was sent, or carry whatever an attacker put behind a URL)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "(non-standard status)"


def answer_failure(answer: HttpAnswer, what: str) -> DeliveryResult:
    """The outcome of a non-2xx answer: a retry for ``TRANSIENT`` statuses (honouring a
    ``Retry-After`` in seconds), else a failure."""
    error = f"{what} answered {answer.status} {_reason(answer.status)}"
    if answer.status in TRANSIENT:
        retry_after = answer.headers.get("retry-after")
        seconds = float(retry_after) if retry_after and retry_after.isdigit() else None
        return DeliveryResult.retry(error, retry_after=seconds)
    return DeliveryResult.failed(error)


def transport_failure(exc: TransportError, what: str) -> DeliveryResult:
    """The outcome of a request that got no answer: a retry."""
    return DeliveryResult.retry(f"{what}: {exc}")


def json_body(answer: HttpAnswer, what: str) -> dict[str, Any]:
    """The JSON object a provider answered; raises ``ValueError`` for anything else."""
    try:
        body = jsonutil.loads(answer.body)
    except ValueError as exc:
        raise ValueError(
            f"{what} answered something that is not JSON: {answer.text[:80]!r}"
        ) from exc
    if not isinstance(body, dict):
        raise ValueError(f"{what} answered JSON that is not an object")
    return body
