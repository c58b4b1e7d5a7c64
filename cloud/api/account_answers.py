"""What the account routes answer: sessions, users, second factor, password changes and
the audit log. Phone numbers only ever leave masked; no hash or secret leaves at all."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from anxin.cloud.api.operation import Moment, Reply

Role = Literal["admin", "worker", "family", "recipient"]


class UserPreferences(Reply):
    notify_channels: list[str]
    notify_min_severity: str
    quiet_start: str | None
    quiet_end: str | None
    timezone: str
    email: str | None
    webhook_url: str | None
    phone: str | None = Field(description="masked")


class User(Reply):
    username: str
    display_name: str
    role: Role
    community: str | None
    supervisor: str | None
    person_id: str | None
    disabled: bool
    must_change_password: bool = Field(
        description="after a reset: the session may only change the password"
    )
    second_factor: Literal["enrolled", "none"]
    preferences: UserPreferences


class SessionUser(User):
    restricted: bool = Field(
        description="the session may only enrol a second factor, read /me and log out"
    )


class Session(Reply):
    token: str
    expires_at: Moment
    idle_timeout_s: int
    second_factor: Literal["verified", "not_required", "enrolment_required"]
    user: SessionUser


class LoggedOut(Reply):
    status: Literal["logged out"]


class TotpEnrolment(Reply):
    secret: str = Field(description="base32")
    otpauth_uri: str
    confirmed: bool


class TotpConfirmed(Reply):
    second_factor: Literal["enrolled"]
    confirmed: bool


class PasswordChanged(Reply):
    password_changed: bool
    sessions_ended: int


class PasswordReset(Reply):
    username: str
    temporary_password: str = Field(description="shown once")
    must_change_password: bool


class ApiSession(Reply):
    id: str
    created_at: Moment
    last_used_at: Moment
    expires_at: Moment
    restricted: bool
    current: bool = Field(description="the session of this request")


class SessionsEnded(Reply):
    sessions_ended: int


class AuditEntry(Reply):
    id: int
    at: Moment
    at_ms: int
    actor: str
    action: str
    target: str
    person_id: str | None
    detail: dict[str, Any] | None
    hash: str


class AuditPage(Reply):
    entries: list[AuditEntry]
    next_before_id: int | None = Field(description="for the next page, as before_id")


class AuditProblem(Reply):
    entry_id: int | None
    what: str


class AuditVerification(Reply):
    entries: int
    intact: bool
    problems: list[AuditProblem]
