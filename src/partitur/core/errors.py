"""One error hierarchy. Each error maps once to an HTTP problem type and a CLI exit code."""

from __future__ import annotations

from typing import Any


class PartiturError(Exception):
    """Base of every error partitur raises on purpose."""

    status: int = 500
    problem: str = "internal-error"
    title: str = "Internal error"
    exit_code: int = 1

    def __init__(self, detail: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        """Render as an RFC 9457 problem document."""
        body: dict[str, Any] = {
            "type": f"https://partitur.dev/problems/{self.problem}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.field is not None:
            body["field"] = self.field
        if instance is not None:
            body["instance"] = instance
        body.update(self.extra)
        return body

    def headers(self) -> dict[str, str]:
        """HTTP headers the answer carries besides the problem document."""
        return {}


class ValidationFailed(PartiturError):
    """Input is well-formed but not acceptable (a field has a bad value)."""

    status = 422
    problem = "validation-error"
    title = "Validation failed"
    exit_code = 2


class BadRequest(PartiturError):
    """Input cannot be read at all (bad JSON, too large, wrong encoding)."""

    status = 400
    problem = "bad-request"
    title = "Bad request"
    exit_code = 2


class Unauthorized(PartiturError):
    status = 401
    problem = "unauthorized"
    title = "Unauthorized"
    exit_code = 3


class Forbidden(PartiturError):
    status = 403
    problem = "forbidden"
    title = "Forbidden"
    exit_code = 3


class NotFound(PartiturError):
    status = 404
    problem = "not-found"
    title = "Not found"
    exit_code = 4


class Conflict(PartiturError):
    status = 409
    problem = "conflict"
    title = "Conflict"
    exit_code = 5


class PayloadTooLarge(BadRequest):
    """Segment answers 400 for oversized messages and batches; so do we."""

    problem = "payload-too-large"
    title = "Payload too large"


class RateLimited(PartiturError):
    """Too many attempts; ``retry_after`` says in how many seconds to try again."""

    status = 429
    problem = "rate-limited"
    title = "Too many requests"
    exit_code = 6

    def __init__(self, detail: str, *, retry_after: int, field: str | None = None) -> None:
        super().__init__(detail, field=field, retry_after=retry_after)
        self.retry_after = max(1, retry_after)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class DependencyFailed(PartiturError):
    """An external system (provider, SMTP server, webhook) failed."""

    status = 502
    problem = "dependency-failed"
    title = "External system failed"
    exit_code = 7


class InvalidDocument(ValidationFailed):
    """A declarative document (journey, segment, template, map) has problems.

    ``problems`` lists every problem found, each with a ``path`` or ``node`` and a ``message``.
    """

    problem = "invalid-document"
    title = "Invalid document"

    def __init__(self, detail: str, *, problems: list[dict[str, Any]]) -> None:
        super().__init__(detail, problems=problems)
        self.problems = problems
