"""Checking a login: throttle, password, second factor.

Every attempt, good or bad, is written to the audit log with the username tried and the
client it came from. Before its password is looked at, an attempt is counted by the
throttle (``login_throttle``: per client address, per address and account, per account),
which may refuse it; hashing runs in a bounded pool of its own (``hash_pool``), which may
turn it away when full. An unknown username costs the same hashing as a known one and is
throttled the same way, so neither timing nor answers tell which names exist.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm import Session

from anxin.cloud.access import second_factor
from anxin.cloud.access.hash_pool import HashPool, HashPoolBusy, HashTicket
from anxin.cloud.access.login_throttle import Claim, LoginThrottle, Policy
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

Outcome = Literal["ok", "bad_credentials", "locked", "busy", "totp_required", "bad_totp"]
SecondFactor = Literal["verified", "not_required", "enrolment_required"]
USERNAME_CHARS = 64
ATTEMPTS = 5
BUSY_RETRY_AFTER_S = 1


@dataclass(frozen=True)
class LoginResult:
    outcome: Outcome
    principal: Principal | None = None
    second_factor: SecondFactor = "not_required"
    retry_after_s: int | None = None  # when locked or busy


@dataclass(frozen=True)
class _Snapshot:
    """What is read of a user before the (slow) password check."""

    password_hash: str
    role: str
    disabled: bool
    totp_secret_enc: str | None
    totp_last_step: int | None


class LoginService:
    def __init__(self, registry: Registry, api: ApiConfig, cipher: FieldCipher | None) -> None:
        self.registry = registry
        self.cipher = cipher
        self.second_factor_roles = frozenset(api.second_factor_roles)
        self.throttle = LoginThrottle(registry, Policy.from_config(api))
        self.hash_pool = HashPool(api.login_hash_threads, api.login_hash_queue)

    async def log_in(
        self, username: str, password: str, code: str | None, client: str
    ) -> LoginResult:
        """Check one attempt from ``client`` (see ``client_address``); the caller opens the
        session when the outcome is "ok"."""
        at = now_ms()
        try:
            ticket = self.hash_pool.reserve()
        except HashPoolBusy:
            result = LoginResult("busy", retry_after_s=BUSY_RETRY_AFTER_S)
            await self._audit(username, client, result, "busy")
            return result
        with ticket:
            claim = await asyncio.to_thread(self.throttle.claim, client, username, at)
            if not claim.allowed:
                result = LoginResult("locked", retry_after_s=claim.retry_after_s)
                await self._audit(username, client, result, "throttled")
                return result
            return await self._check(username, password, code, client, claim, ticket)

    async def _check(
        self,
        username: str,
        password: str,
        code: str | None,
        client: str,
        claim: Claim,
        ticket: HashTicket,
    ) -> LoginResult:
        # A name longer than any stored one cannot exist: not worth a query.
        snapshot = (
            await asyncio.to_thread(self._snapshot, username)
            if len(username) <= USERNAME_CHARS
            else None
        )
        if snapshot is None or snapshot.disabled:
            await ticket.run(spend_time_as_if_verifying, password)
            why = "unknown user" if snapshot is None else "disabled"
            return await self._failed(username, client, claim, "bad_credentials", why)
        if not await ticket.run(verify_password, password, snapshot.password_hash):
            return await self._failed(username, client, claim, "bad_credentials", "wrong password")
        step: int | None = None
        if snapshot.totp_secret_enc is not None:
            if not code:
                await asyncio.to_thread(self.throttle.password_was_right, claim, now_ms(), False)
                result = LoginResult("totp_required")
                await self._audit(username, client, result, "no code")
                return result
            step = self._check_code(snapshot, code)
            if step is None:
                return await self._failed(
                    username, client, claim, "bad_totp", "wrong or reused code"
                )
            factor: SecondFactor = "verified"
        elif snapshot.role in self.second_factor_roles:
            factor = "enrolment_required"
        else:
            factor = "not_required"
        new_hash = (
            await ticket.run(hash_password, password)
            if needs_rehash(snapshot.password_hash)
            else None
        )
        result = await asyncio.to_thread(
            self._succeeded, username, client, snapshot, step, factor, new_hash
        )
        if result.outcome == "ok":
            await asyncio.to_thread(self.throttle.password_was_right, claim, now_ms(), True)
        elif result.outcome == "bad_totp":
            result = self._locked_if_waiting(result, claim)
        return result

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
                user.totp_secret_enc,
                user.totp_last_step,
            )

    def _check_code(self, snapshot: _Snapshot, code: str) -> int | None:
        try:
            secret = second_factor.unseal(self.cipher, snapshot.totp_secret_enc or "")
        except FieldCryptoError:
            return None  # no key, or the wrong one: nobody can log in with a code now
        return second_factor.accepted_step(secret, code, snapshot.totp_last_step)

    async def _failed(
        self, username: str, client: str, claim: Claim, outcome: Outcome, why: str
    ) -> LoginResult:
        """The throttle counted the failure already; say so when it now makes them wait."""
        result = self._locked_if_waiting(LoginResult(outcome), claim)
        await self._audit(username, client, result, why)
        return result

    @staticmethod
    def _locked_if_waiting(result: LoginResult, claim: Claim) -> LoginResult:
        if claim.wait_if_wrong_s is None:
            return result
        return LoginResult("locked", retry_after_s=claim.wait_if_wrong_s)

    def _succeeded(
        self,
        username: str,
        client: str,
        snapshot: _Snapshot,
        step: int | None,
        factor: SecondFactor,
        new_hash: str | None,
    ) -> LoginResult:
        def change() -> LoginResult:
            with self.registry.session() as session, session.begin():
                user = session.get(User, username, with_for_update=True)
                if user is None:
                    return LoginResult("bad_credentials")
                if step is not None:
                    if user.totp_last_step is not None and step <= user.totp_last_step:
                        # A concurrent login used the same code first.
                        result = LoginResult("bad_totp")
                        _audit_in(session, username, client, result, "reused code")
                        return result
                    user.totp_last_step = step
                if new_hash is not None and user.password_hash == snapshot.password_hash:
                    user.password_hash = new_hash
                result = LoginResult("ok", second_factor=factor)
                _audit_in(session, username, client, result, factor)
                return result

        result = audit_writer.retrying(change, ATTEMPTS)
        if result.outcome != "ok":
            return result
        principal = self.registry.principal(username)
        if principal is None:
            return LoginResult("bad_credentials")
        return LoginResult("ok", principal, factor)

    async def _audit(self, username: str, client: str, result: LoginResult, why: str) -> None:
        def write() -> None:
            with self.registry.session() as session, session.begin():
                _audit_in(session, username, client, result, why)

        await asyncio.to_thread(audit_writer.retrying, write, ATTEMPTS)


def _audit_in(
    session: Session, username: str, client: str, result: LoginResult, why: str
) -> None:
    ok = result.outcome == "ok"
    record(
        session,
        username[:64] if ok else "anonymous",
        "login" if ok else "login.failed",
        "login",
        None,
        {"username": username[:64], "outcome": result.outcome, "why": why, "client": client},
    )
