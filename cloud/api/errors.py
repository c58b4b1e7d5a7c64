"""JSON error responses that say what was wrong."""

from __future__ import annotations

from aiohttp import web


def error(status: int, code: str, message: str) -> web.HTTPException:
    cls = {
        400: web.HTTPBadRequest,
        401: web.HTTPUnauthorized,
        403: web.HTTPForbidden,
        404: web.HTTPNotFound,
        409: web.HTTPConflict,
        410: web.HTTPGone,
        429: web.HTTPTooManyRequests,
        503: web.HTTPServiceUnavailable,
    }[status]
    return cls(
        text=web.json_response({"error": {"code": code, "message": message}}).text,
        content_type="application/json",
    )
