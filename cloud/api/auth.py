"""Login, bearer tokens and the middleware that authorises every request on the server."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web

from anxin.cloud.api.errors import error
from anxin.cloud.registry import Principal, Registry

PUBLIC_PATHS = frozenset({"/health", "/login", "/openapi.json", "/gateways/enrol"})
PRINCIPAL = web.RequestKey("principal", Principal)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def make_auth_middleware(
    registry: Registry, prefix: str
) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def authorise(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path[len(prefix) :] if request.path.startswith(prefix) else request.path
        if path in PUBLIC_PATHS or not request.path.startswith(prefix):
            return await handler(request)
        token = bearer_token(request)
        if token is None:
            raise error(401, "login_required", "log in first: send 'Authorization: Bearer <token>'")
        principal = await asyncio.to_thread(registry.principal_for_token, token)
        if principal is None:
            raise error(401, "session_expired", "the session token is unknown or has expired")
        request[PRINCIPAL] = principal
        return await handler(request)

    return authorise


def principal_of(request: web.Request) -> Principal:
    return request[PRINCIPAL]
