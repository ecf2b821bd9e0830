"""Every error leaves the API as ``application/problem+json`` naming the field at fault."""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from partitur.api.body_limit import cutoff_problem
from partitur.core.errors import PartiturError

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"
#: The response header (and the header a proxy may send) that names a request.
REQUEST_ID_HEADER = "X-Request-Id"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def problem_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def error_response(exc: PartiturError, path: str) -> JSONResponse:
    """The problem document of one of partitur's errors, with the headers it asks for
    (``Retry-After`` of a rate limit)."""
    return problem_response(exc.status, exc.to_problem(instance=path), exc.headers() or None)


def _loc_to_field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def validation_problem(exc: RequestValidationError, path: str) -> JSONResponse:
    errors = [
        {"field": _loc_to_field(e.get("loc", ())), "message": e.get("msg", "invalid")}
        for e in exc.errors()
    ]
    first = errors[0] if errors else {"field": "body", "message": "invalid request"}
    return problem_response(
        422,
        {
            "type": "https://partitur.dev/problems/validation-error",
            "title": "Validation failed",
            "status": 422,
            "detail": f"{first['field']}: {first['message']}",
            "field": first["field"],
            "errors": errors,
            "instance": path,
        },
    )


def new_request_id(offered: str | None = None) -> str:
    """The id of a request: the caller's ``X-Request-Id`` when it is a plain token (a proxy in
    front may have set it), else a new random one."""
    if offered and _REQUEST_ID.fullmatch(offered):
        return offered
    return uuid.uuid4().hex


def unexpected_problem(path: str, request_id: str | None = None) -> JSONResponse:
    """A 500 that names the request id, which the log line carries too, so a person who sees
    the error can be matched to its traceback."""
    request_id = request_id or new_request_id()
    log.exception("unhandled error path=%s request_id=%s", path, request_id)
    return problem_response(
        500,
        {
            "type": "https://partitur.dev/problems/internal-error",
            "title": "Internal error",
            "status": 500,
            "detail": "an unexpected error occurred; it has been logged",
            "instance": path,
            "request_id": request_id,
        },
    )


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(PartiturError)
    async def _partitur_error(request: Request, exc: PartiturError) -> JSONResponse:
        return error_response(exc, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_problem(exc, request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        cut_off = cutoff_problem(exc, request.url.path)
        if cut_off is not None:
            return problem_response(exc.status_code, cut_off)
        return problem_response(
            exc.status_code,
            {
                "type": "about:blank",
                "title": str(exc.detail),
                "status": exc.status_code,
                "detail": str(exc.detail),
                "instance": request.url.path,
            },
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return unexpected_problem(request.url.path, getattr(request.state, "request_id", None))
