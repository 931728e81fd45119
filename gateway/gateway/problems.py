"""RFC 9457 problem details: every error the gateway returns."""

import json

from werkzeug.wrappers import Response

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Validation error",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


class Problem(Exception):
    def __init__(self, status, name, detail="", **extra):
        super().__init__(detail)
        self.status = status
        self.name = name
        self.detail = detail
        self.extra = extra

    def body(self):
        return {
            "type": f"/problems/{self.name}",
            "title": TITLES.get(self.status, "Error"),
            "status": self.status,
            "detail": self.detail,
            **self.extra,
        }


def problem_response(problem, request_id=None, headers=None):
    response = Response(
        json.dumps(problem.body()), status=problem.status, content_type="application/problem+json"
    )
    if request_id:
        response.headers["X-Request-Id"] = request_id
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def malformed_json(detail):
    return Problem(400, "malformed-json", detail)


def validation_error(errors, detail="The request has invalid fields."):
    return Problem(422, "validation-error", detail, errors=errors)


def unauthorized(detail="A valid bearer token is required."):
    return Problem(401, "unauthorized", detail)


def forbidden(detail="You may not do this here."):
    return Problem(403, "forbidden", detail)


def not_found(detail="No such resource."):
    return Problem(404, "not-found", detail)
