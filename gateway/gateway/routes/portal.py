"""The portal: static HTML, JavaScript modules and CSS under `/portal/` (no build step).

The portal is a single-page app that calls only the public `/v1` API with the signed-in person's
token; this module only serves its files. It is not part of the API: these handlers are plain
`Route.decorator` entrypoints, not `@route`s, so they stay out of `ROUTES` and the OpenAPI document
(and schemathesis never sees them).

- `/portal` redirects to `/portal/`.
- `/portal/<file>` serves a file of `gateway/portal/` with its content type; a path naming a file
  (with an extension) that does not exist is 404 problem+json.
- Any other path under `/portal/` (`/portal/worker`, `/portal/shifts/<id>`, the links
  notifications send) serves `index.html`: the app routes on the client, so such a link opens the
  page it names once the person has signed in.

GatewayService takes them in as the other routes, as a base class (`PortalRoutes`).

Every answer carries a strict Content-Security-Policy (scripts, styles and connections to this
origin only, no inline script, no framing), `nosniff` and `no-referrer`. Files are revalidated on
each load (`Cache-Control: no-cache` with an ETag): without a build step there are no fingerprinted
names to cache for long, and a deploy must reach every browser at once.
"""

import hashlib
import mimetypes
from pathlib import Path, PurePosixPath

from werkzeug.wrappers import Response

from gateway.http import Route
from gateway.problems import not_found, problem_response

PORTAL_DIR = Path(__file__).resolve().parent.parent / "portal"

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' blob: data:",  # the fill-rate chart is fetched with the token, shown from a blob
    "connect-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
))
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
}


def _file_response(request, path):
    body = path.read_bytes()
    etag = hashlib.sha256(body).hexdigest()[:32]
    content_type = (CONTENT_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
                    or "application/octet-stream")
    if etag in request.if_none_match:
        response = Response(status=304)
    else:
        response = Response(body, content_type=content_type)
    response.set_etag(etag)
    response.headers["Cache-Control"] = "no-cache"
    response.headers.update(SECURITY_HEADERS)
    return response


def _resolve(path):
    """The file a portal path names, None when it names none (the app's own routes), or False when
    it names a file that does not exist or lies outside the portal's directory."""
    parts = PurePosixPath(path).parts
    if not parts or not PurePosixPath(path).suffix:
        return None
    if any(part in ("..", ".") or part.startswith(".") or "\x00" in part for part in parts):
        return False  # (a NUL names no file: the filesystem refuses it)
    candidate = (PORTAL_DIR / PurePosixPath(*parts)).resolve()
    if PORTAL_DIR not in candidate.parents or not candidate.is_file():
        return False
    return candidate


class PortalRoutes:
    """The portal's files (not `@route`s: outside the API and its document)."""

    @Route.decorator("GET", "/portal")
    def portal_redirect(self, request):
        response = Response(status=308, headers={"Location": "/portal/"})
        response.headers.update(SECURITY_HEADERS)
        return response

    @Route.decorator("GET", "/portal/")
    def portal_index(self, request):
        return _file_response(request, PORTAL_DIR / "index.html")

    @Route.decorator("GET", "/portal/<path:path>")
    def portal_file(self, request, path):
        found = _resolve(path)
        if found is False:
            response = problem_response(not_found("No such portal file."))
            response.headers.update(SECURITY_HEADERS)
            return response
        return _file_response(request, found or PORTAL_DIR / "index.html")
