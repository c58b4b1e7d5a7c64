"""Throttling password guesses without letting a stranger lock anyone out.

Failed logins are counted in three scopes, each a row of ``login_throttle``:

``pair``     one client address against one account. Strong: after ``lockout_failures``
             failures each further attempt must wait, first ``login_first_delay_s``, then
             twice as long after every failure, up to ``lockout_minutes``.
``address``  one client address against all accounts (and unknown names). Strong in the
             same way, past a larger allowance (``login_address_failures``): a care office
             behind one address has several users who mistype.
``account``  one account from all addresses. Mild: past ``login_account_failures`` an
             attempt waits a second, doubling to at most ``login_account_delay_max_s``, and
             not at all from an address the account has logged in from in the last
             TRUSTED_DAYS.

So a stranger guessing from their own address is stopped there, and nothing they do
touches the pair and address counters of the worker's address: the worker still logs in
from there. A guesser spread over many addresses gets a few guesses per address, and once
the account's allowance is spent, one guess per few seconds for the whole account (at
most about 17 000 a day at the defaults, against argon2 hashes); the worker's usual address
is not held back even then, and from a new address the worker waits a few seconds at most.
An address is its IPv4 address or IPv6 /64 (see ``client_address``). Counters start
afresh ``login_forget_hours`` after the last failure.

An attempt is counted as a failure in every scope *before* its password is checked, in one
transaction that locks the three rows (SELECT ... FOR UPDATE in one fixed order on
PostgreSQL, the write lock on SQLite), so however many API processes take part, no burst
gets more checks than a scope allows. An attempt refused by the throttle is not counted
and its password is never checked, so it can neither lift nor prolong a wait. When the
password turns out right, the attempt takes back its own count; after a login the pair
also drops the failures counted up to this attempt (those counted after it still stand) and
the account is trusted from that address.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

from sqlalchemy import and_, case, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from anxin.cloud.audit import writer as audit_writer
from anxin.cloud.database.models import LoginThrottleCounter as Counter
from anxin.cloud.registry.registry import Registry
from anxin.config import ApiConfig

TRUSTED_DAYS = 30
PRUNE_EVERY = 500  # claims between deletions of forgotten rows (per process)
ATTEMPTS = 5
NAME_CHARS = 64
Scope = str  # "address" | "pair" | "account"


@dataclass(frozen=True)
class Rule:
    """Free failures, then a wait of ``first_ms`` doubling with each failure up to ``cap_ms``."""

    free: int
    first_ms: int
    cap_ms: int

    def delay_ms(self, failures: int) -> int:
        if failures < self.free:
            return 0
        doublings = min(failures - self.free, 40)
        return int(min(self.cap_ms, self.first_ms * 2**doublings))


@dataclass(frozen=True)
class Policy:
    pair: Rule
    address: Rule
    account: Rule
    forget_ms: int
    trusted_ms: int = TRUSTED_DAYS * 86_400_000

    @classmethod
    def from_config(cls, api: ApiConfig) -> Policy:
        cap_ms = int(api.lockout_minutes * 60_000)
        first_ms = min(cap_ms, int(api.login_first_delay_s * 1000))
        account_cap_ms = int(api.login_account_delay_max_s * 1000)
        return cls(
            pair=Rule(api.lockout_failures, first_ms, cap_ms),
            address=Rule(api.login_address_failures, first_ms, cap_ms),
            account=Rule(api.login_account_failures, min(1000, account_cap_ms), account_cap_ms),
            forget_ms=int(api.login_forget_hours * 3_600_000),
        )

    def rule(self, scope: Scope) -> Rule:
        return {"pair": self.pair, "address": self.address, "account": self.account}[scope]


@dataclass(frozen=True)
class Claim:
    """The throttle's answer to one attempt."""

    allowed: bool
    retry_after_s: int | None = None  # refused: when to try again
    # allowed: each scope's failure count including this attempt, and the wait this attempt
    # sets should its password be wrong
    counted: dict[Scope, int] = field(default_factory=dict)
    wait_if_wrong_s: int | None = None
    pair_key: str = ""
    address_key: str = ""
    account_key: str = ""


class LoginThrottle:
    def __init__(self, registry: Registry, policy: Policy) -> None:
        self.registry = registry
        self.policy = policy
        self._claims = itertools.count(1)
        self._postgresql = registry.engine.dialect.name == "postgresql"

    def claim(self, client: str, username: str, at: int) -> Claim:
        """Count the attempt in every scope, or refuse it, atomically across processes."""
        name = username[:NAME_CHARS]
        keys = {"account": name, "address": client, "pair": f"{client}|{name}"}

        def change() -> Claim:
            with self.registry.session() as session, session.begin():
                return self._claim_in(session, keys, at)

        claim = audit_writer.retrying(change, ATTEMPTS)
        if next(self._claims) % PRUNE_EVERY == 0:
            self.forget_old(at)
        return claim

    def _claim_in(self, session: Session, keys: dict[Scope, str], at: int) -> Claim:
        wanted = sorted(keys.items())  # one order for every process: no deadlocks
        insert = postgresql_insert if self._postgresql else sqlite_insert
        # Taking the write lock first (SQLite) and creating missing rows (both).
        session.execute(
            insert(Counter)
            .values(
                [
                    {"scope": s, "key": k, "failures": 0, "last_failure_ms": 0, "next_allowed_ms": 0}
                    for s, k in wanted
                ]
            )
            .on_conflict_do_nothing(index_elements=["scope", "key"])
        )
        rows = {
            row.scope: row
            for row in session.scalars(
                select(Counter)
                .where(or_(*(and_(Counter.scope == s, Counter.key == k) for s, k in wanted)))
                .order_by(Counter.scope, Counter.key)
                .with_for_update()
            )
        }
        policy = self.policy
        pair = rows["pair"]
        trusted = pair.last_success_ms is not None and at - pair.last_success_ms < policy.trusted_ms
        checked = ["pair", "address"] if trusted else ["pair", "address", "account"]
        waits = [
            rows[scope].next_allowed_ms - at
            for scope in checked
            if self._fresh_failures(rows[scope], at) >= policy.rule(scope).free
            and rows[scope].next_allowed_ms > at
        ]
        if waits:
            return Claim(False, retry_after_s=_seconds(max(waits)))
        counted: dict[Scope, int] = {}
        wait_ms = 0
        for scope, row in rows.items():
            row.failures = self._fresh_failures(row, at) + 1
            row.last_failure_ms = at
            delay = policy.rule(scope).delay_ms(row.failures)
            row.next_allowed_ms = at + delay
            counted[scope] = row.failures
            if scope in checked:
                wait_ms = max(wait_ms, delay)
        return Claim(
            True,
            counted=counted,
            wait_if_wrong_s=_seconds(wait_ms) if wait_ms else None,
            pair_key=keys["pair"],
            address_key=keys["address"],
            account_key=keys["account"],
        )

    def _fresh_failures(self, row: Counter, at: int) -> int:
        return row.failures if at - row.last_failure_ms < self.policy.forget_ms else 0

    def password_was_right(self, claim: Claim, at: int, logged_in: bool) -> None:
        """Take back the attempt's own count; after a login also reset the pair (unless an
        attempt was counted after this one) and trust the account from this address."""
        mine = claim.counted.get("pair", 1)

        def change() -> None:
            with self.registry.session() as session, session.begin():
                for scope, key in (("account", claim.account_key), ("address", claim.address_key)):
                    session.execute(
                        update(Counter)
                        .where(Counter.scope == scope, Counter.key == key, Counter.failures > 0)
                        .values(failures=Counter.failures - 1)
                    )
                pair = and_(Counter.scope == "pair", Counter.key == claim.pair_key)
                if not logged_in:
                    session.execute(
                        update(Counter)
                        .where(pair, Counter.failures > 0)
                        .values(failures=Counter.failures - 1)
                    )
                    return
                nobody_after = Counter.failures <= mine
                session.execute(
                    update(Counter)
                    .where(pair)
                    .values(
                        failures=case((nobody_after, 0), else_=Counter.failures - mine),
                        next_allowed_ms=case((nobody_after, 0), else_=Counter.next_allowed_ms),
                        last_success_ms=at,
                    )
                )

        audit_writer.retrying(change, ATTEMPTS)

    def forget_old(self, at: int) -> int:
        """Delete counters past their forget time whose address is not trusted any more."""
        policy = self.policy
        with self.registry.session() as session, session.begin():
            result = session.execute(
                delete(Counter).where(
                    Counter.last_failure_ms < at - policy.forget_ms,
                    or_(
                        Counter.last_success_ms.is_(None),
                        Counter.last_success_ms < at - policy.trusted_ms,
                    ),
                )
            )
            return int(getattr(result, "rowcount", 0) or 0)


def _seconds(ms: int) -> int:
    return max(1, math.ceil(ms / 1000))
