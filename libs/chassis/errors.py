"""Errors a service raises on purpose. They cross nameko RPC as themselves
(`deserialize_to_instance`), so the gateway can map each to its problem type.

nameko rebuilds a registered exception as `cls(*exc.args)`, so every error keeps
exactly two args: the detail text and a dict of extras (e.g. `errors`, `rules`).
"""

from nameko.exceptions import deserialize_to_instance


class DomainError(Exception):
    """Base of errors that describe the caller's mistake, not a fault."""

    problem = "conflict"
    status = 409

    def __init__(self, detail="", extra=None, **kwargs):
        extra = {**(extra or {}), **kwargs}
        super().__init__(detail, extra)
        self.detail = detail
        self.extra = extra


@deserialize_to_instance
class NotFound(DomainError):
    problem, status = "not-found", 404


@deserialize_to_instance
class Conflict(DomainError):
    problem, status = "conflict", 409


@deserialize_to_instance
class Invalid(DomainError):
    """Well-formed input that is wrong; `errors` maps field -> [messages]."""

    problem, status = "validation-error", 422

    @property
    def errors(self):
        return self.extra.get("errors", {})


@deserialize_to_instance
class Forbidden(DomainError):
    problem, status = "forbidden", 403


@deserialize_to_instance
class Unauthorized(DomainError):
    problem, status = "unauthorized", 401


@deserialize_to_instance
class TooManyRequests(DomainError):
    problem, status = "too-many-requests", 429


@deserialize_to_instance
class Unavailable(DomainError):
    """A broker or database this call needs is unreachable: retry later (503)."""

    problem, status = "service-unavailable", 503
