"""The fast lane: a few hot endpoints served without the framework's per-request machinery.

The tracking API and the decision API answer thousands of requests a second; for them the
middleware stack, route matching and dependency solving cost as much CPU as the work itself.
A domain registers such an endpoint with ``hot_route(method, path, endpoint)`` (an
``async (Request) -> Response`` that authenticates and validates by hand); ``PartiturApp``
dispatches an exact method and path match straight to it and renders errors as the installed
exception handlers would (problem+json naming the field). The same endpoints stay in the
domain's FastAPI router for the OpenAPI documentation, and serve when the fast lane is off.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from partitur.api.body_limit import bounded_receive, declared_length, limit_for, refusal
from partitur.api.problems import (
    REQUEST_ID_HEADER,
    error_response,
    new_request_id,
    unexpected_problem,
    validation_problem,
)
from partitur.api.security import with_security_headers
from partitur.core.errors import PartiturError

Endpoint = Callable[[Request], Awaitable[Response]]

_HOT: dict[tuple[str, str], Endpoint] = {}


def hot_route(method: str, path: str, endpoint: Endpoint) -> None:
    """Serve ``method path`` (an exact path, no parameters) through the fast lane."""
    _HOT[(method.upper(), path)] = endpoint


class PartiturApp(FastAPI):
    """FastAPI with the fast lane in front, and the security headers (``api/security.py``)
    on every answer. Every request outside the fast lane gets a request id
    (``request.state.request_id``, answered as ``X-Request-Id``) that a 500 and the audit
    entries it writes name; in the fast lane only an unexpected error makes one."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            send = with_security_headers(scope, send)
        endpoint = _HOT.get((scope["method"], scope["path"])) if scope["type"] == "http" else None
        if endpoint is None:
            if scope["type"] != "http":
                await super().__call__(scope, receive, send)
                return
            offered = next(
                (v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), None
            )
            request_id = new_request_id(offered)
            scope.setdefault("state", {})["request_id"] = request_id
            header = (REQUEST_ID_HEADER.lower().encode(), request_id.encode())

            async def send_with_id(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = [*message.get("headers", []), header]
                await send(message)

            path = scope["path"]
            limit = limit_for(path)
            length = declared_length(scope)
            if length is not None and length > limit:
                # refused before a byte of the body is read
                await error_response(refusal(path, limit), path)(scope, receive, send_with_id)
                return
            await super().__call__(scope, bounded_receive(receive, path, limit), send_with_id)
            return
        scope["app"] = self
        request = Request(scope, receive)
        try:
            response = await endpoint(request)
        except PartiturError as exc:
            response = error_response(exc, scope["path"])
        except RequestValidationError as exc:
            response = validation_problem(exc, scope["path"])
        except Exception:  # noqa: BLE001 - logged, answered with a 500 problem
            response = unexpected_problem(scope["path"])
        await response(scope, receive, send)
