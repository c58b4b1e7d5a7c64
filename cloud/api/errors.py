"""JSON error responses that say what was wrong."""

from __future__ import annotations

from typing import Any

from aiohttp import web


def error_body(code: str, message: str) -> dict[str, Any]:
    """The one shape of every error the API answers."""
    return {"error": {"code": code, "message": message}}


def error(status: int, code: str, message: str) -> web.HTTPException:
    cls = {
        400: web.HTTPBadRequest,
        401: web.HTTPUnauthorized,
        403: web.HTTPForbidden,
        404: web.HTTPNotFound,
        409: web.HTTPConflict,
        410: web.HTTPGone,
        413: web.HTTPRequestEntityTooLarge,
        415: web.HTTPUnsupportedMediaType,
        429: web.HTTPTooManyRequests,
        500: web.HTTPInternalServerError,
        503: web.HTTPServiceUnavailable,
    }[status]
    body = web.json_response(error_body(code, message)).text
    if cls is web.HTTPRequestEntityTooLarge:
        return web.HTTPRequestEntityTooLarge(0, text=body, content_type="application/json")
    return cls(text=body, content_type="application/json")
