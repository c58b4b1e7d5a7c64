"""API routes for logging in and out, the caller's own account and second factor, user
accounts (admin) and the audit log (admin)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from anxin.cloud.access import accounts, second_factor
from anxin.cloud.access.accounts import AccountError, NewUser
from anxin.cloud.access.login import LoginService
from anxin.cloud.api.account_openapi import PATHS, SCHEMAS
from anxin.cloud.api.auth import bearer_token, principal_of, require_role
from anxin.cloud.api.body import read_body
from anxin.cloud.api.context import ApiContext
from anxin.cloud.api.errors import error
from anxin.cloud.api.handlers import iso, parse_time
from anxin.cloud.audit import chain as audit
from anxin.cloud.audit.listing import AuditFilter, audit_page, entry_json
from anxin.cloud.database.models import User
from anxin.cloud.registry.registry import Registry
from anxin.config import TimeZoneName

__all__ = ["PATHS", "SCHEMAS", "routes"]

T = TypeVar("T")
log = logging.getLogger(__name__)
HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
Severity = Literal["low", "medium", "high", "critical"]
Channel = Literal["webhook", "email", "sms"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _printable(cls, value: Any) -> Any:
        # PostgreSQL refuses NUL in text; no field here has a use for control characters.
        if isinstance(value, str) and has_control_characters(value):
            raise ValueError("must not contain control characters")
        return value


class TotpConfirm(Strict):
    code: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]


class Preferences(Strict):
    notify_channels: list[Channel] | None = Field(default=None, max_length=3)
    notify_min_severity: Severity | None = None
    quiet_start: Annotated[str, StringConstraints(pattern=HHMM)] | None = None
    quiet_end: Annotated[str, StringConstraints(pattern=HHMM)] | None = None
    timezone: Annotated[TimeZoneName, StringConstraints(min_length=1, max_length=64)] | None = None
    email: (
        Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
        | None
    ) = None
    webhook_url: (
        Annotated[str, StringConstraints(max_length=500, pattern=r"^https://\S+$")] | None
    ) = None
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{6,20}$")] | None = None

    @field_validator("notify_channels")
    @classmethod
    def _distinct(cls, channels: list[str] | None) -> list[str] | None:
        if channels is not None and len(set(channels)) != len(channels):
            raise ValueError("each channel may appear once")
        return channels


class UserCreate(Strict):
    username: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.@-]{1,64}$")]
    display_name: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    role: Literal["admin", "worker", "family", "recipient"]
    password: Annotated[str, StringConstraints(min_length=10, max_length=1024)]
    community: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    supervisor: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    person_id: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = None
    email: (
        Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
        | None
    ) = None


class AccountHandlers:
    def __init__(self, ctx: ApiContext) -> None:
        self.registry: Registry = ctx.registry
        self.config = ctx.config
        self.cipher = second_factor.field_cipher(ctx.config)
        self.login_service = LoginService(ctx.registry, ctx.config.api, self.cipher)
        # Staff may always add a second factor; other roles when the configuration asks them to.
        self.totp_roles = sorted({"admin", "worker", *ctx.config.api.second_factor_roles})
        if ctx.config.api.second_factor_roles and self.cipher is None:
            log.warning(
                "api.second_factor_roles asks %s for a second factor, but without "
                "[registry] encryption_key nobody can enrol one: they can only log in "
                "to a restricted session",
                ", ".join(ctx.config.api.second_factor_roles),
            )

    # --- session ----------------------------------------------------------------------

    async def login(self, request: web.Request) -> web.Response:
        username, password, code = await _login_body(request)
        result = await asyncio.to_thread(self.login_service.log_in, username, password, code)
        if result.outcome == "locked":
            locked = error(
                429, "locked", "too many failed logins: the account is locked for a while"
            )
            locked.headers["Retry-After"] = str(result.retry_after_s or 1)
            raise locked
        if result.outcome == "totp_required":
            raise error(401, "totp_required", "this account needs the code from its authenticator")
        if result.outcome == "bad_totp":
            raise error(401, "bad_totp", "wrong or already used authenticator code")
        if result.outcome != "ok" or result.principal is None:
            raise error(401, "bad_credentials", "wrong username or password")
        restricted = result.second_factor == "enrolment_required"
        token, expires = await asyncio.to_thread(
            self.registry.open_session, username, self.config.api.session_ttl_s, restricted
        )
        user = await asyncio.to_thread(self._user_json, username)
        return web.json_response(
            {
                "token": token,
                "expires_at": iso(expires),
                "idle_timeout_s": self.config.api.session_idle_s,
                "second_factor": result.second_factor,
                "user": user | {"restricted": restricted},
            }
        )

    async def logout(self, request: web.Request) -> web.Response:
        token = bearer_token(request)
        if token:
            await asyncio.to_thread(self.registry.close_session, token)
        return web.json_response({"status": "logged out"})

    # --- the caller's own account ---------------------------------------------------

    async def me(self, request: web.Request) -> web.Response:
        principal = principal_of(request)
        user = await asyncio.to_thread(self._user_json, principal.username)
        return web.json_response(user | {"restricted": principal.restricted})

    async def start_totp(self, request: web.Request) -> web.Response:
        username = require_role(request, *self.totp_roles).username
        secret = await self._change(
            lambda session: accounts.start_totp_enrolment(session, username, self.cipher)
        )
        return web.json_response(
            {
                "secret": secret,
                "otpauth_uri": second_factor.provisioning_uri(secret, username),
                "confirmed": False,
            }
        )

    async def confirm_totp(self, request: web.Request) -> web.Response:
        username = require_role(request, *self.totp_roles).username
        body = await read_body(request, TotpConfirm)
        await self._change(
            lambda session: accounts.confirm_totp(session, username, body.code, self.cipher)
        )
        token = bearer_token(request)
        if token:
            # The code just proved the second factor: this session may do what the role may.
            await asyncio.to_thread(self.registry.lift_restriction, token)
        return web.json_response({"second_factor": "enrolled", "confirmed": True})

    async def preferences(self, request: web.Request) -> web.Response:
        body = await read_body(request, Preferences)
        changes = body.model_dump(exclude_unset=True)
        if ("quiet_start" in changes) != ("quiet_end" in changes):
            raise error(400, "bad_parameter", "'quiet_start' and 'quiet_end' go together")
        for required in ("notify_channels", "notify_min_severity", "timezone"):
            if required in changes and changes[required] is None:
                raise error(400, "bad_parameter", f"'{required}' may not be null")
        username = principal_of(request).username

        def change(session: Any) -> dict[str, Any]:
            user = accounts.update_preferences(session, username, changes, self.cipher)
            return accounts.user_json(user, self.cipher)

        return web.json_response(await self._change(change))

    # --- users (admin) -----------------------------------------------------------------

    async def list_users(self, request: web.Request) -> web.Response:
        require_role(request, "admin")
        role = request.query.get("role")
        if role is not None and role not in accounts.ROLES:
            raise error(400, "bad_parameter", f"'role' must be one of {', '.join(accounts.ROLES)}")

        def read() -> list[dict[str, Any]]:
            with self.registry.session() as session:
                return [
                    accounts.user_json(user, self.cipher)
                    for user in accounts.list_users(session, role)
                ]

        return web.json_response(await asyncio.to_thread(read))

    async def create_user(self, request: web.Request) -> web.Response:
        actor = require_role(request, "admin").username
        body = await read_body(request, UserCreate)
        new = NewUser(**body.model_dump())

        def change(session: Any) -> dict[str, Any]:
            return accounts.user_json(accounts.create_user(session, actor, new), self.cipher)

        return web.json_response(await self._change(change), status=201)

    # --- audit log (admin) ------------------------------------------------------------

    async def audit_entries(self, request: web.Request) -> web.Response:
        require_role(request, "admin")
        wanted = _audit_filter(request)

        def read() -> dict[str, Any]:
            with self.registry.session() as session:
                rows, next_before = audit_page(session, wanted)
                return {
                    "entries": [entry_json(row, iso(row.at_ms)) for row in rows],
                    "next_before_id": next_before,
                }

        return web.json_response(await asyncio.to_thread(read))

    async def audit_verify(self, request: web.Request) -> web.Response:
        require_role(request, "admin")

        def check() -> dict[str, Any]:
            with self.registry.session() as session:
                result = audit.verify(session)
            return {
                "entries": result.entries,
                "intact": result.intact,
                "problems": [{"entry_id": p.entry_id, "what": p.what} for p in result.problems],
            }

        return web.json_response(await asyncio.to_thread(check))

    # --- plumbing ------------------------------------------------------------------------

    def _user_json(self, username: str) -> dict[str, Any]:
        with self.registry.session() as session:
            user = session.get(User, username)
            if user is None:
                raise error(404, "not_found", f"no user '{username}'")
            return accounts.user_json(user, self.cipher)

    async def _change(self, change: Callable[[Any], T]) -> T:
        def run() -> T:
            with self.registry.session() as session, session.begin():
                return change(session)

        try:
            return await asyncio.to_thread(run)
        except AccountError as exc:
            raise error(exc.status, exc.code, str(exc)) from None


async def _login_body(request: web.Request) -> tuple[str, str, str | None]:
    try:
        body = json.loads(await request.read() or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise error(400, "bad_json", "the request body must be JSON") from None
    if not isinstance(body, dict):
        raise error(400, "bad_json", "the request body must be a JSON object")
    unknown = sorted(set(body) - {"username", "password", "totp"})
    if unknown:
        raise error(400, "bad_parameter", f"unknown field '{unknown[0]}'")
    username, password, code = body.get("username"), body.get("password"), body.get("totp")
    if not isinstance(username, str) or not isinstance(password, str):
        raise error(400, "bad_parameter", "'username' and 'password' must both be strings")
    if code is not None and not isinstance(code, str):
        raise error(400, "bad_parameter", "'totp' must be a string of 6 digits")
    for name, value in (("username", username), ("password", password), ("totp", code)):
        if value and "\x00" in value:
            raise error(400, "bad_parameter", f"'{name}' must not contain NUL characters")
    return username, password, code or None


def _audit_filter(request: web.Request) -> AuditFilter:
    query = request.query
    person_id, actor = query.get("person_id"), query.get("actor")
    for name, value in (("person_id", person_id), ("actor", actor)):
        if value is not None and has_control_characters(value):
            raise error(400, "bad_parameter", f"'{name}' must not contain control characters")
    if person_id is not None and not 1 <= len(person_id) <= 32:
        raise error(400, "bad_parameter", "'person_id' must have 1 to 32 characters")
    if actor is not None and not 1 <= len(actor) <= 64:
        raise error(400, "bad_parameter", "'actor' must have 1 to 64 characters")
    since = parse_time("since", query["since"]) if "since" in query else None
    return AuditFilter(
        person_id=person_id,
        actor=actor,
        since_ms=since,
        before_id=_int_param(query.get("before_id"), "before_id", 1, 2**31 - 1),
        limit=_int_param(query.get("limit"), "limit", 1, 500) or 100,
    )


def has_control_characters(text: str) -> bool:
    return any(ord(char) < 32 or ord(char) == 127 for char in text)


def _int_param(text: str | None, name: str, low: int, high: int) -> int | None:
    if text is None:
        return None
    if not text.isdigit() or len(text) > 12 or not low <= int(text) <= high:
        raise error(400, "bad_parameter", f"'{name}' must be a whole number from {low} to {high}")
    return int(text)


def routes(ctx: ApiContext, prefix: str) -> list[web.RouteDef]:
    handlers = AccountHandlers(ctx)
    return [
        web.post(f"{prefix}/login", handlers.login),
        web.post(f"{prefix}/logout", handlers.logout),
        web.get(f"{prefix}/me", handlers.me),
        web.post(f"{prefix}/me/totp", handlers.start_totp),
        web.post(f"{prefix}/me/totp/confirm", handlers.confirm_totp),
        web.patch(f"{prefix}/me/preferences", handlers.preferences),
        web.get(f"{prefix}/users", handlers.list_users),
        web.post(f"{prefix}/users", handlers.create_user),
        web.get(f"{prefix}/audit", handlers.audit_entries),
        web.get(f"{prefix}/audit/verify", handlers.audit_verify),
    ]
