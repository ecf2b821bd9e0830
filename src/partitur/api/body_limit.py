"""Every request body is bounded: a route reads at most ``MAX_BODY_BYTES`` unless it is given
more in ``BODY_LIMITS`` (exact path). A ``Content-Length`` over the limit is answered 413 before
the body is read; a body that turns out longer than its header said (or has none) is cut off
as it streams in, with the same answer. The fast lane's endpoints bound their bodies
themselves (``events.api``)."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import Message, Receive, Scope

from partitur.core.errors import PartiturError

#: The largest request body a route reads unless ``BODY_LIMITS`` gives it more.
MAX_BODY_BYTES = 1 << 20
#: Routes that may read larger bodies (bytes), by exact path.
BODY_LIMITS: dict[str, int] = {}


def allow_body(path: str, limit: int) -> None:
    """Let the route at ``path`` read bodies of up to ``limit`` bytes."""
    BODY_LIMITS[path] = limit


class RequestTooLarge(PartiturError):
    status = 413
    problem = "request-too-large"
    title = "Request body too large"


class _Cutoff(HTTPException):
    """Raised from ``receive`` when the streamed body passes the limit. An HTTP exception,
    so the framework passes it on to the problem handlers instead of calling it a parse
    error; ``problem`` holds the answer."""

    def __init__(self, error: RequestTooLarge) -> None:
        super().__init__(status_code=413, detail=error.detail)
        self.error = error


def limit_for(path: str) -> int:
    return BODY_LIMITS.get(path, MAX_BODY_BYTES)


def refusal(path: str, limit: int) -> RequestTooLarge:
    return RequestTooLarge(
        f"the request body may have at most {limit:,} bytes", field="body", limit_bytes=limit
    )


def declared_length(scope: Scope) -> int | None:
    for key, value in scope["headers"]:
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def bounded_receive(receive: Receive, path: str, limit: int) -> Receive:
    """``receive`` that raises once more than ``limit`` body bytes arrived."""
    received = 0

    async def receive_bounded() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise _Cutoff(refusal(path, limit))
        return message

    return receive_bounded


def cutoff_problem(exc: HTTPException, instance: str) -> dict[str, Any] | None:
    """The problem document of a cut-off body (None: another HTTP error)."""
    return exc.error.to_problem(instance=instance) if isinstance(exc, _Cutoff) else None
