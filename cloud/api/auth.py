"""Bearer tokens and the middleware that authorises, and audits, every request on the server.

Every request made with a session — answered or refused — is written to the audit log:
actor, "read" for GET (else "api.<method>"), the path as target, the route's person, and
the route template with the status. A refusal of a token whose session has ended is
written too (the session still says whose it was); a token nobody issued is not.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from anxin.cloud.api.errors import error
from anxin.cloud.audit import writer as audit_writer
from anxin.cloud.registry.registry import Principal, Registry

log = logging.getLogger(__name__)

PUBLIC_PATHS = frozenset({"/health", "/login", "/openapi.json", "/gateways/enrol"})
# What a session without the second factor its role needs may do: enrol one, and leave.
RESTRICTED_ALLOWED = frozenset(
    {
        ("GET", "/me"),
        ("POST", "/me/totp"),
        ("POST", "/me/totp/confirm"),
        ("POST", "/me/password"),
        ("POST", "/logout"),
    }
)
# What a session may do while its password, reset by an administrator, awaits a new one.
PASSWORD_CHANGE_ALLOWED = frozenset({("GET", "/me"), ("POST", "/me/password"), ("POST", "/logout")})
PRINCIPAL = web.RequestKey("principal", Principal)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def make_auth_middleware(
    registry: Registry, prefix: str, idle_s: int | None = None
) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Sessions end ``idle_s`` after their last use (None: only at their expiry)."""

    @web.middleware
    async def authorise(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path[len(prefix) :] if request.path.startswith(prefix) else request.path
        if path in PUBLIC_PATHS or not request.path.startswith(prefix):
            return await handler(request)
        token = bearer_token(request)
        if token is None:
            raise error(401, "login_required", "log in first: send 'Authorization: Bearer <token>'")
        check = await asyncio.to_thread(registry.check_session, token, idle_s)
        if check.principal is None:
            refusal = (
                error(401, "account_disabled", "this account has been disabled")
                if check.reason == "disabled"
                else error(401, "session_expired", "the session token is unknown or has expired")
            )
            if check.username is not None:
                await _audit(registry, check.username, request, path, 401, check.reason)
            raise refusal
        principal = check.principal
        request[PRINCIPAL] = principal
        status = 500
        try:
            if (
                principal.must_change_password
                and (request.method, path) not in PASSWORD_CHANGE_ALLOWED
            ):
                raise error(
                    403,
                    "password_change_required",
                    "your password was reset: choose a new one with POST /me/password first",
                )
            if principal.restricted and (request.method, path) not in RESTRICTED_ALLOWED:
                raise error(
                    403,
                    "second_factor_enrolment_required",
                    "your role needs a second factor: enrol one with POST /me/totp and "
                    "POST /me/totp/confirm first",
                )
            response = await handler(request)
            status = response.status
        except web.HTTPException as exc:
            status = exc.status
            await _audit(registry, principal.username, request, path, status)
            raise
        except Exception:
            await _audit(registry, principal.username, request, path, status)
            raise
        if not await _audit(registry, principal.username, request, path, status):
            # Personal data is not handed out unless its reading is on record.
            raise error(503, "audit_unavailable", "the audit log could not be written; try again")
        return response

    return authorise


def principal_of(request: web.Request) -> Principal:
    return request[PRINCIPAL]


def require_role(request: web.Request, *roles: str) -> Principal:
    """The caller, if their role is one of ``roles``; 403 otherwise."""
    principal = principal_of(request)
    if principal.role not in roles:
        raise error(
            403, "forbidden", f"a {principal.role} may not do this (needs {' or '.join(roles)})"
        )
    return principal


async def _audit(
    registry: Registry,
    actor: str,
    request: web.Request,
    path: str,
    status: int,
    why: str | None = None,
) -> bool:
    """Write the request's audit entry; False (and a log line) when the database refused."""
    resource = request.match_info.route.resource
    detail: dict[str, Any] = {
        "route": resource.canonical if resource is not None else None,
        "status": status,
    }
    if why is not None:
        detail["session"] = why
    action = "read" if request.method in ("GET", "HEAD") else f"api.{request.method.lower()}"
    try:
        await asyncio.to_thread(
            audit_writer.append,
            registry,
            actor,
            action,
            path.lstrip("/"),
            request.match_info.get("person_id"),
            detail,
        )
    except SQLAlchemyError:
        log.exception("could not write the audit entry for %s %s", request.method, path)
        return False
    return True
