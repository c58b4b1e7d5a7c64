"""API routes for logging in and out, the caller's own account, password, sessions and
second factor, user accounts (admin: create, disable, reset passwords, end sessions) and
the audit log (admin)."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from aiohttp import web
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from anxin.cloud.access import accounts, second_factor, sessions
from anxin.cloud.access.accounts import AccountError, NewUser
from anxin.cloud.access.client_address import client_key
from anxin.cloud.access.hash_pool import HashPoolBusy
from anxin.cloud.access.login import LoginService
from anxin.cloud.access.passwords import hash_password, verify_password
from anxin.cloud.api import account_answers as answer
from anxin.cloud.api.auth import bearer_token, principal_of, require_role
from anxin.cloud.api.context import ApiContext
from anxin.cloud.api.errors import error
from anxin.cloud.api.handlers import Instant, iso
from anxin.cloud.api.operation import MAX_ROW_ID, Answer, bind, operation, operations_of
from anxin.cloud.api.registry_bodies import TEXT
from anxin.cloud.audit.listing import AuditFilter, audit_page, entry_json
from anxin.cloud.audit.verify import verify_with_checkpoints
from anxin.cloud.database.models import ApiSession, User
from anxin.cloud.notify.webhook_target import (
    Resolver,
    WebhookRefused,
    check_webhook_url,
    system_resolver,
)
from anxin.cloud.registry.registry import Registry, now_ms, token_hash
from anxin.config import TimeZoneName

__all__ = ["OPERATIONS", "routes"]

T = TypeVar("T")
log = logging.getLogger(__name__)
# How webhook hosts are looked up when a user sets one (tests put a table here).
WEBHOOK_RESOLVER = web.AppKey("webhook_resolver", Resolver)
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


def _no_nul(text: str) -> str:
    if "\x00" in text:
        raise ValueError("must not contain NUL characters")
    return text


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Annotated[str, Field(max_length=256), AfterValidator(_no_nul)]
    password: Annotated[str, Field(max_length=1024), AfterValidator(_no_nul)]
    totp: Annotated[str, Field(max_length=16), AfterValidator(_no_nul)] | None = Field(
        default=None, description="6-digit authenticator code"
    )


class TotpConfirm(Strict):
    code: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]


class Preferences(Strict):
    """quiet_start and quiet_end go together."""

    notify_channels: list[Channel] | None = Field(default=None, max_length=3)
    notify_min_severity: Severity | None = None
    quiet_start: Annotated[str, StringConstraints(pattern=HHMM)] | None = None
    quiet_end: Annotated[str, StringConstraints(pattern=HHMM)] | None = None
    timezone: Annotated[TimeZoneName, StringConstraints(min_length=1, max_length=64)] | None = (
        Field(default=None, description="IANA name, e.g. Asia/Shanghai")
    )
    email: (
        Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
        | None
    ) = None
    webhook_url: (
        Annotated[str, StringConstraints(max_length=500, pattern=r"^https://\S+$")] | None
    ) = Field(
        default=None,
        description="https URL whose host resolves only to public addresses (or to "
        "notifications.webhook_allowed_networks); no user name or fragment",
    )
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
    community: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        default=None, description="required for a worker"
    )
    supervisor: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    person_id: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = Field(
        default=None, description="required for a recipient"
    )
    email: (
        Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
        | None
    ) = None


class PasswordChange(Strict):
    current_password: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    new_password: Annotated[
        str, StringConstraints(min_length=accounts.MIN_PASSWORD_CHARS, max_length=1024)
    ] = Field(description="not the username, not the current password")


class AdminAction(Strict):
    """Why an administrator disables, enables or resets an account (goes into the audit log)."""

    reason: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        default=None, description="written to the audit log"
    )


class UsersQuery(BaseModel):
    role: answer.Role | None = None


class AuditQuery(BaseModel):
    person_id: str | None = Field(default=None, min_length=1, max_length=32, pattern=TEXT)
    actor: str | None = Field(default=None, min_length=1, max_length=64, pattern=TEXT)
    since: Instant | None = None
    before_id: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ROW_ID,
        description="next page: the next_before_id of the previous one",
    )
    limit: int = Field(default=100, ge=1, le=500)


USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
SESSION_ID = re.compile(r"^[0-9a-f]{24}$")
ADMIN = ("admin",)
USER = {"username": Annotated[str, Field(pattern=USERNAME.pattern)]}
NO_USER = Answer("no such user")
ENDED = Answer("ended", answer.SessionsEnded)


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

    @operation(
        "POST",
        "/login",
        "Log in and receive a bearer token",
        {
            200: Answer("logged in", answer.Session),
            401: Answer(
                "wrong username or password (bad_credentials), code missing (totp_required) "
                "or wrong or reused (bad_totp)"
            ),
            429: Answer(
                "too many failed logins from this address or on this account (locked); "
                "see Retry-After"
            ),
            503: Answer("too many logins at once (busy); see Retry-After"),
        },
        description="Workers and admins (per api.second_factor_roles) also send 'totp'; one "
        "who has not enrolled a second factor gets a restricted session that may only enrol "
        "one (POST /me/totp), read /me and log out.",
        body=Login,
        public=True,
    )
    async def login(self, request: web.Request, body: Login) -> dict[str, Any]:
        username, password, code = body.username, body.password, body.totp or None
        client = client_key(
            request.remote, request.headers.get("X-Forwarded-For"), self.config.api.trusted_proxies
        )
        result = await self.login_service.log_in(username, password, code, client)
        if result.outcome in ("locked", "busy"):
            refused = (
                error(429, "locked", "too many failed logins: wait before trying again")
                if result.outcome == "locked"
                else error(503, "busy", "too many logins at once: try again in a moment")
            )
            refused.headers["Retry-After"] = str(result.retry_after_s or 1)
            raise refused
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
        return {
            "token": token,
            "expires_at": iso(expires),
            "idle_timeout_s": self.config.api.session_idle_s,
            "second_factor": result.second_factor,
            "user": user | {"restricted": restricted},
        }

    @operation("POST", "/logout", "End the session", {200: Answer("done", answer.LoggedOut)})
    async def logout(self, request: web.Request) -> dict[str, Any]:
        token = bearer_token(request)
        if token:
            await asyncio.to_thread(self.registry.close_session, token)
        return {"status": "logged out"}

    # --- the caller's own account ---------------------------------------------------

    @operation(
        "GET",
        "/me",
        "The logged-in user, with their preferences",
        {200: Answer("user", answer.SessionUser)},
    )
    async def me(self, request: web.Request) -> dict[str, Any]:
        principal = principal_of(request)
        user = await asyncio.to_thread(self._user_json, principal.username)
        return user | {"restricted": principal.restricted}

    @operation(
        "POST",
        "/me/totp",
        "Start enrolling a second factor (TOTP): a new secret, pending until a code from it "
        "is confirmed (admins, workers, and any role in api.second_factor_roles)",
        {
            200: Answer("the secret and its otpauth:// URI", answer.TotpEnrolment),
            400: Answer("the server has no encryption key for secrets (not_configured)"),
            403: Answer("the caller's role may not do this"),
        },
    )
    async def start_totp(self, request: web.Request) -> dict[str, Any]:
        username = require_role(request, *self.totp_roles).username
        secret = await self._change(
            lambda session: accounts.start_totp_enrolment(session, username, self.cipher)
        )
        return {
            "secret": secret,
            "otpauth_uri": second_factor.provisioning_uri(secret, username),
            "confirmed": False,
        }

    @operation(
        "POST",
        "/me/totp/confirm",
        "Confirm the pending second factor with a current code",
        {
            200: Answer("enrolled", answer.TotpConfirmed),
            403: Answer("the caller's role may not do this"),
            409: Answer("no enrolment was started"),
        },
        body=TotpConfirm,
    )
    async def confirm_totp(self, request: web.Request, body: TotpConfirm) -> dict[str, Any]:
        username = require_role(request, *self.totp_roles).username
        await self._change(
            lambda session: accounts.confirm_totp(session, username, body.code, self.cipher)
        )
        token = bearer_token(request)
        if token:
            # The code just proved the second factor: this session may do what the role may.
            await asyncio.to_thread(self.registry.lift_restriction, token)
        return {"second_factor": "enrolled", "confirmed": True}

    @operation(
        "PATCH",
        "/me/preferences",
        "Change the caller's contact points and notification preferences",
        {200: Answer("user", answer.User)},
        body=Preferences,
    )
    async def preferences(self, request: web.Request, body: Preferences) -> dict[str, Any]:
        changes = body.model_dump(exclude_unset=True)
        if ("quiet_start" in changes) != ("quiet_end" in changes):
            raise error(400, "bad_parameter", "'quiet_start' and 'quiet_end' go together")
        for required in ("notify_channels", "notify_min_severity", "timezone"):
            if required in changes and changes[required] is None:
                raise error(400, "bad_parameter", f"'{required}' may not be null")
        if changes.get("webhook_url"):
            await self._check_webhook(request, changes["webhook_url"])
        username = principal_of(request).username

        def change(session: Any) -> dict[str, Any]:
            user = accounts.update_preferences(session, username, changes, self.cipher)
            return accounts.user_json(user, self.cipher)

        return await self._change(change)

    async def _check_webhook(self, request: web.Request, url: str) -> None:
        """400 unless a webhook may go to ``url`` (a public host, or an allow-listed one)."""
        resolver = request.app.get(WEBHOOK_RESOLVER, system_resolver)
        allowed = self.config.notifications.webhook_allowed_networks
        try:
            await check_webhook_url(url, allowed, resolver)
        except WebhookRefused as exc:
            raise error(400, "bad_parameter", f"webhook_url: {exc}") from None

    @operation(
        "POST",
        "/me/password",
        "Change the caller's password (needs the current one); the caller's other sessions "
        "end, this one stays open",
        {
            200: Answer("changed", answer.PasswordChanged),
            403: Answer("'current_password' is wrong (wrong_password)"),
            409: Answer("the password changed while this request was checked"),
            503: Answer("too many password checks at once (busy)"),
        },
        body=PasswordChange,
    )
    async def change_password(self, request: web.Request, body: PasswordChange) -> dict[str, Any]:
        """The caller's own password; their other sessions end, this one stays open."""
        username = principal_of(request).username
        token = bearer_token(request)
        keep = token_hash(token) if token else None
        problem = accounts.password_problem(body.new_password, username, "new_password")
        if problem is None and body.new_password == body.current_password:
            problem = "'new_password' must differ from the current password"
        if problem:
            raise error(400, "bad_parameter", problem)
        stored = await self._change(lambda session: accounts.password_hash_of(session, username))
        # Argon2 runs in the logins' own pool, never on the threads every request shares.
        try:
            ticket = self.login_service.hash_pool.reserve()
        except HashPoolBusy:
            raise error(
                503, "busy", "too many password checks at once: try again shortly"
            ) from None
        with ticket:
            if not await ticket.run(verify_password, body.current_password, stored):
                await self._change(
                    lambda session: accounts.refuse_password_change(session, username)
                )
                raise error(
                    403, "wrong_password", "'current_password' is not your current password"
                )
            new_hash = await ticket.run(hash_password, body.new_password)
        ended = await self._change(
            lambda session: accounts.change_password(session, username, stored, new_hash, keep)
        )
        return {"password_changed": True, "sessions_ended": ended}

    # --- the caller's own sessions ------------------------------------------------------

    @operation(
        "GET",
        "/me/sessions",
        "The caller's open sessions, newest first (no tokens)",
        {200: Answer("sessions", list[answer.ApiSession])},
    )
    async def my_sessions(self, request: web.Request) -> list[dict[str, Any]]:
        username = principal_of(request).username
        current = token_hash(bearer_token(request) or "")

        def read() -> list[dict[str, Any]]:
            with self.registry.session() as session:
                rows = sessions.live_sessions(
                    session, username, now_ms(), self.config.api.session_idle_s
                )
                return [session_json(row, current) for row in rows]

        return await asyncio.to_thread(read)

    @operation(
        "DELETE",
        "/me/sessions",
        "Log out everywhere: end all the caller's sessions, this one too",
        {200: ENDED},
    )
    async def end_my_sessions(self, request: web.Request) -> dict[str, Any]:
        """Log out everywhere, this session included."""
        username = principal_of(request).username
        ended = await self._change(lambda session: sessions.end_all(session, username, username))
        return {"sessions_ended": ended}

    @operation(
        "DELETE",
        "/me/sessions/{session_id}",
        "End one of the caller's sessions",
        {200: ENDED, 404: Answer("the caller has no open session with this id")},
        path_params={"session_id": Annotated[str, Field(pattern=SESSION_ID.pattern)]},
    )
    async def end_my_session(self, request: web.Request) -> dict[str, Any]:
        username = principal_of(request).username
        session_id = request.match_info["session_id"]
        ended = SESSION_ID.match(session_id) is not None and await self._change(
            lambda session: sessions.end_one(session, username, username, session_id)
        )
        if not ended:
            raise error(404, "not_found", "you have no open session with this id")
        return {"sessions_ended": 1}

    # --- users (admin) -----------------------------------------------------------------

    @operation(
        "GET",
        "/users",
        "All user accounts (admin)",
        {200: Answer("users", list[answer.User])},
        query=UsersQuery,
        roles=ADMIN,
    )
    async def list_users(self, _request: web.Request, query: UsersQuery) -> list[dict[str, Any]]:
        role = query.role

        def read() -> list[dict[str, Any]]:
            with self.registry.session() as session:
                return [
                    accounts.user_json(user, self.cipher)
                    for user in accounts.list_users(session, role)
                ]

        return await asyncio.to_thread(read)

    @operation(
        "POST",
        "/users",
        "Create a user of any role (admin); passwords need 10 characters",
        {201: Answer("created", answer.User), 409: Answer("the username is taken")},
        body=UserCreate,
        roles=ADMIN,
    )
    async def create_user(self, request: web.Request, body: UserCreate) -> dict[str, Any]:
        actor = principal_of(request).username
        new = NewUser(**body.model_dump())

        def change(session: Any) -> dict[str, Any]:
            return accounts.user_json(accounts.create_user(session, actor, new), self.cipher)

        return await self._change(change)

    @operation(
        "POST",
        "/users/{username}/disable",
        "Disable a user (admin): all their sessions end at once and they cannot log in; not "
        "the caller's own account",
        {
            200: Answer("disabled", answer.User),
            404: NO_USER,
            409: Answer("the caller's own account"),
        },
        body=AdminAction,
        body_required=False,
        roles=ADMIN,
        path_params=USER,
    )
    async def disable_user(self, request: web.Request, body: AdminAction) -> dict[str, Any]:
        """Disable the account: all its sessions end and it cannot log in."""
        return await self._set_disabled(request, body, True)

    @operation(
        "POST",
        "/users/{username}/enable",
        "Enable a disabled user again (admin)",
        {200: Answer("enabled", answer.User), 404: NO_USER},
        body=AdminAction,
        body_required=False,
        roles=ADMIN,
        path_params=USER,
    )
    async def enable_user(self, request: web.Request, body: AdminAction) -> dict[str, Any]:
        return await self._set_disabled(request, body, False)

    async def _set_disabled(
        self, request: web.Request, body: AdminAction, disabled: bool
    ) -> dict[str, Any]:
        actor = principal_of(request).username
        username = _username(request)

        def change(session: Any) -> dict[str, Any]:
            user = accounts.set_disabled(session, actor, username, disabled, body.reason)
            return accounts.user_json(user, self.cipher)

        return await self._change(change)

    @operation(
        "POST",
        "/users/{username}/password-reset",
        "Reset a user's password (admin): a temporary one, shown once, that they must change "
        "at their next login; all their sessions end",
        {
            200: Answer("the temporary password", answer.PasswordReset),
            404: NO_USER,
            409: Answer("the caller's own account: use POST /me/password"),
        },
        body=AdminAction,
        body_required=False,
        roles=ADMIN,
        path_params=USER,
        headers={"Cache-Control": "no-store"},
    )
    async def reset_password(self, request: web.Request, body: AdminAction) -> dict[str, Any]:
        """A temporary password, shown once; the user must change it at their next login."""
        actor = principal_of(request).username
        username = _username(request)
        temporary = await self._change(
            lambda session: accounts.reset_password(session, actor, username, body.reason)
        )
        return {"username": username, "temporary_password": temporary, "must_change_password": True}

    @operation(
        "DELETE",
        "/users/{username}/sessions",
        "End all sessions of a user (admin)",
        {200: ENDED, 404: NO_USER},
        roles=ADMIN,
        path_params=USER,
    )
    async def end_user_sessions(self, request: web.Request) -> dict[str, Any]:
        actor = principal_of(request).username
        username = _username(request)

        def change(session: Any) -> int:
            if session.get(User, username) is None:
                raise AccountError(404, "not_found", f"no user '{username}'")
            return sessions.end_all(session, actor, username)

        return {"sessions_ended": await self._change(change)}

    # --- audit log (admin) ------------------------------------------------------------

    @operation(
        "GET",
        "/audit",
        "Audit log entries, newest first (admin); this read is audited too",
        {200: Answer("a page", answer.AuditPage)},
        query=AuditQuery,
        roles=ADMIN,
    )
    async def audit_entries(self, _request: web.Request, query: AuditQuery) -> dict[str, Any]:
        wanted = AuditFilter(
            person_id=query.person_id,
            actor=query.actor,
            since_ms=query.since,
            before_id=query.before_id,
            limit=query.limit,
        )

        def read() -> dict[str, Any]:
            with self.registry.session() as session:
                rows, next_before = audit_page(session, wanted)
                return {
                    "entries": [entry_json(row, iso(row.at_ms)) for row in rows],
                    "next_before_id": next_before,
                }

        return await asyncio.to_thread(read)

    @operation(
        "GET",
        "/audit/verify",
        "Walk the audit hash chain and report entries that do not fit (admin)",
        {200: Answer("the verification", answer.AuditVerification)},
        roles=ADMIN,
    )
    async def audit_verify(self, _request: web.Request) -> dict[str, Any]:

        def check() -> dict[str, Any]:
            # The chain, and the signed checkpoints of it kept outside the database.
            with self.registry.session() as session:
                result = verify_with_checkpoints(session, self.config.audit)
            return {
                "entries": result.entries,
                "intact": result.intact,
                "problems": [
                    {"entry_id": p.entry_id, "what": f"{p.place}: {p.what}" if p.place else p.what}
                    for p in result.problems
                ],
            }

        return await asyncio.to_thread(check)

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


def _username(request: web.Request) -> str:
    username = request.match_info["username"]
    if not USERNAME.match(username):
        raise error(404, "not_found", "no user with this name")
    return username


def session_json(row: ApiSession, current_token_hash: str) -> dict[str, Any]:
    return {
        "id": sessions.public_id(row.token_hash),
        "created_at": iso(row.created_at_ms),
        "last_used_at": iso(row.last_used_at_ms),
        "expires_at": iso(row.expires_at_ms),
        "restricted": bool(row.restricted),
        "current": row.token_hash == current_token_hash,
    }


def has_control_characters(text: str) -> bool:
    return any(ord(char) < 32 or ord(char) == 127 for char in text)


OPERATIONS = operations_of(AccountHandlers)


def routes(ctx: ApiContext, prefix: str) -> list[web.RouteDef]:
    return bind(AccountHandlers(ctx), prefix)
