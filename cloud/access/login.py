"""Checking a login: password, second factor, lock-out after repeated failures.

Every attempt, good or bad, is written to the audit log with the username tried. An
unknown username costs the same password-hashing work as a known one and is locked out
the same way (counted in memory), so neither timing nor answers tell which names exist.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm import Session

from anxin.cloud.access import second_factor
from anxin.cloud.access.passwords import (
    hash_password,
    needs_rehash,
    spend_time_as_if_verifying,
    verify_password,
)
from anxin.cloud.audit import writer as audit_writer
from anxin.cloud.audit.chain import record
from anxin.cloud.database.models import User
from anxin.cloud.registry.field_crypto import FieldCipher, FieldCryptoError
from anxin.cloud.registry.registry import Principal, Registry, now_ms
from anxin.config import ApiConfig

Outcome = Literal["ok", "bad_credentials", "locked", "totp_required", "bad_totp"]
SecondFactor = Literal["verified", "not_required", "enrolment_required"]
UNKNOWN_NAMES_KEPT = 10_000
USERNAME_CHARS = 64
ATTEMPTS = 5


@dataclass(frozen=True)
class LoginResult:
    outcome: Outcome
    principal: Principal | None = None
    second_factor: SecondFactor = "not_required"
    retry_after_s: int | None = None  # when locked


@dataclass(frozen=True)
class _Snapshot:
    """What is read of a user before the (slow) password check."""

    password_hash: str
    role: str
    disabled: bool
    locked_until_ms: int | None
    totp_secret_enc: str | None
    totp_last_step: int | None


class LoginService:
    def __init__(self, registry: Registry, api: ApiConfig, cipher: FieldCipher | None) -> None:
        self.registry = registry
        self.cipher = cipher
        self.second_factor_roles = frozenset(api.second_factor_roles)
        self.max_failures = api.lockout_failures
        self.lockout_ms = int(api.lockout_minutes * 60_000)
        self._unknown: dict[str, tuple[int, int]] = {}  # name -> (failures, locked until ms)
        self._unknown_lock = threading.Lock()

    def log_in(self, username: str, password: str, code: str | None) -> LoginResult:
        """Check one attempt; the caller opens the session when the outcome is "ok"."""
        at = now_ms()
        # A name longer than any stored one cannot exist: not worth a query.
        snapshot = self._snapshot(username) if len(username) <= USERNAME_CHARS else None
        if snapshot is None or snapshot.disabled:
            spend_time_as_if_verifying(password)
            result = self._unknown_name_failed(username, at)
            self._audit(username, result, "unknown user" if snapshot is None else "disabled")
            return result
        password_ok = verify_password(password, snapshot.password_hash)
        if snapshot.locked_until_ms is not None and snapshot.locked_until_ms > at:
            result = _locked(snapshot.locked_until_ms, at)
            self._audit(username, result, "locked")
            return result
        if not password_ok:
            return self._failed(username, at, "bad_credentials", "wrong password")
        step: int | None = None
        if snapshot.totp_secret_enc is not None:
            if not code:
                result = LoginResult("totp_required")
                self._audit(username, result, "no code")
                return result
            step = self._check_code(snapshot, code)
            if step is None:
                return self._failed(username, at, "bad_totp", "wrong or reused code")
            factor: SecondFactor = "verified"
        elif snapshot.role in self.second_factor_roles:
            factor = "enrolment_required"
        else:
            factor = "not_required"
        return self._succeeded(username, password, snapshot, step, factor)

    # --- steps ---------------------------------------------------------------------

    def _snapshot(self, username: str) -> _Snapshot | None:
        with self.registry.session() as session:
            user = session.get(User, username)
            if user is None:
                return None
            return _Snapshot(
                user.password_hash,
                user.role,
                bool(user.disabled),
                user.locked_until_ms,
                user.totp_secret_enc,
                user.totp_last_step,
            )

    def _check_code(self, snapshot: _Snapshot, code: str) -> int | None:
        try:
            secret = second_factor.unseal(self.cipher, snapshot.totp_secret_enc or "")
        except FieldCryptoError:
            return None  # no key, or the wrong one: nobody can log in with a code now
        return second_factor.accepted_step(secret, code, snapshot.totp_last_step)

    def _failed(self, username: str, at: int, outcome: Outcome, why: str) -> LoginResult:
        def change() -> LoginResult:
            with self.registry.session() as session, session.begin():
                user = session.get(User, username, with_for_update=True)
                if user is None:
                    return LoginResult(outcome)
                user.failed_logins = (user.failed_logins or 0) + 1
                result = LoginResult(outcome)
                if user.failed_logins >= self.max_failures:
                    user.failed_logins = 0
                    user.locked_until_ms = at + self.lockout_ms
                    result = _locked(user.locked_until_ms, at)
                _audit_in(session, username, result, why)
                return result

        return audit_writer.retrying(change, ATTEMPTS)

    def _succeeded(
        self,
        username: str,
        password: str,
        snapshot: _Snapshot,
        step: int | None,
        factor: SecondFactor,
    ) -> LoginResult:
        new_hash = hash_password(password) if needs_rehash(snapshot.password_hash) else None

        def change() -> LoginResult:
            with self.registry.session() as session, session.begin():
                user = session.get(User, username, with_for_update=True)
                if user is None:
                    return LoginResult("bad_credentials")
                if step is not None:
                    if user.totp_last_step is not None and step <= user.totp_last_step:
                        # A concurrent login used the same code first.
                        result = LoginResult("bad_totp")
                        _audit_in(session, username, result, "reused code")
                        return result
                    user.totp_last_step = step
                user.failed_logins = 0
                user.locked_until_ms = None
                if new_hash is not None and user.password_hash == snapshot.password_hash:
                    user.password_hash = new_hash
                result = LoginResult("ok", second_factor=factor)
                _audit_in(session, username, result, factor)
                return result

        result = audit_writer.retrying(change, ATTEMPTS)
        if result.outcome != "ok":
            return result
        principal = self.registry.principal(username)
        if principal is None:
            return LoginResult("bad_credentials")
        return LoginResult("ok", principal, factor)

    def _unknown_name_failed(self, username: str, at: int) -> LoginResult:
        key = username[:128]
        with self._unknown_lock:
            failures, locked_until = self._unknown.get(key, (0, 0))
            if locked_until > at:
                return _locked(locked_until, at)
            failures += 1
            if failures >= self.max_failures:
                self._unknown[key] = (0, at + self.lockout_ms)
                return _locked(at + self.lockout_ms, at)
            if len(self._unknown) >= UNKNOWN_NAMES_KEPT:
                self._unknown.clear()
            self._unknown[key] = (failures, 0)
        return LoginResult("bad_credentials")

    def _audit(self, username: str, result: LoginResult, why: str) -> None:
        def write() -> None:
            with self.registry.session() as session, session.begin():
                _audit_in(session, username, result, why)

        audit_writer.retrying(write, ATTEMPTS)


def _locked(until_ms: int, at: int) -> LoginResult:
    return LoginResult("locked", retry_after_s=max(1, math.ceil((until_ms - at) / 1000)))


def _audit_in(session: Session, username: str, result: LoginResult, why: str) -> None:
    ok = result.outcome == "ok"
    record(
        session,
        username[:64] if ok else "anonymous",
        "login" if ok else "login.failed",
        "login",
        None,
        {"username": username[:64], "outcome": result.outcome, "why": why},
    )
