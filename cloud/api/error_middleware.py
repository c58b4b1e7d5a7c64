"""The outermost middleware: whatever goes wrong, the caller gets the API's JSON error.

aiohttp answers an unknown route, a wrong method or an oversized body with plain text,
and an unexpected exception with a bare 500; here each becomes ``{"error": {...}}`` with
the same status (and headers such as Allow). An unexpected exception is logged with its
traceback under a short incident id, which the answer quotes instead of any detail.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from http import HTTPStatus

from aiohttp import web

from anxin.cloud.api.errors import error_body
from anxin.cloud.api.json_body import TOO_LARGE

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
JSON = "application/json"
# Headers of aiohttp's own answer that describe its plain-text body, not the error.
BODY_HEADERS = frozenset({"content-type", "content-length", "content-encoding"})


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == JSON:
            raise
        return _as_json(request, exc)
    except ConnectionResetError:
        raise  # the caller went away: nobody to answer, nothing to investigate
    except Exception:
        incident = secrets.token_hex(4)
        log.exception("incident %s: %s %s failed", incident, request.method, request.path)
        return web.json_response(
            error_body(
                "internal_error",
                f"the server could not answer this request (incident {incident}, logged)",
            ),
            status=500,
        )


def _as_json(request: web.Request, exc: web.HTTPException) -> web.Response:
    code, message = _describe(request, exc)
    headers = {k: v for k, v in exc.headers.items() if k.lower() not in BODY_HEADERS}
    return web.json_response(error_body(code, message), status=exc.status, headers=headers)


def _describe(request: web.Request, exc: web.HTTPException) -> tuple[str, str]:
    where = f"{request.method} {request.path}"
    if isinstance(exc, web.HTTPNotFound):
        return "not_found", f"no such route: {where}"
    if isinstance(exc, web.HTTPMethodNotAllowed):
        allowed = ", ".join(sorted(exc.allowed_methods))
        return "method_not_allowed", f"{where}: the method is not allowed here (allowed: {allowed})"
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return "body_too_large", TOO_LARGE
    try:
        phrase = HTTPStatus(exc.status).phrase
    except ValueError:
        phrase = exc.reason
    return phrase.lower().replace(" ", "_").replace("-", "_"), f"{where}: {(exc.text or phrase)[:200]}"
