"""The registry: who is who, which device is bound to whom, users, alerts, dead letters."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from sqlalchemy import Engine, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from anxin.cloud.care.alert_lifecycle import ACTIVE_STATUSES, record_raised
from anxin.cloud.database.models import (
    Alert,
    AlertRepeat,
    ApiSession,
    Base,
    Binding,
    DeadLetter,
    Device,
    FamilyLink,
    Gateway,
    Person,
    User,
)
from anxin.cloud.database.schema import upgrade as upgrade_schema
from anxin.protocol import AlertMessage, GatewayState

# A conflicting concurrent write (not a redelivery) is retried this many times in all.
ALERT_WRITE_ATTEMPTS = 5


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class Principal:
    """The logged-in user a request acts for."""

    username: str
    display_name: str
    role: str
    community: str | None
    person_ids: frozenset[str]  # linked recipients, for family members
    person_id: str | None = None  # for a recipient: the person record they are
    # A session that may only enrol a second factor, read /me and log out.
    restricted: bool = False
    # An administrator reset the password: the session may only change it, read /me, log out.
    must_change_password: bool = False


@dataclass(frozen=True)
class SessionCheck:
    """What a bearer token stands for: the principal, or why not (and whose it was)."""

    principal: Principal | None
    username: str | None  # known even when the session has ended
    reason: str | None  # None | "unknown" | "expired" | "idle" | "disabled"


class Registry:
    def __init__(self, engine: Engine, binding_cache_s: float = 10.0) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._binding_cache: dict[str, tuple[float, list[Binding]]] = {}
        self._binding_cache_s = binding_cache_s
        self._lock = threading.Lock()

    def create_schema(self) -> str | None:
        """Bring the tables to the newest schema revision (Alembic); return that revision."""
        return upgrade_schema(self.engine)

    def session(self) -> Session:
        return self._sessions()

    def add_all(self, rows: Iterable[Base]) -> None:
        with self.session() as session, session.begin():
            session.add_all(list(rows))

    # --- people and devices -------------------------------------------------

    def has_people(self) -> bool:
        with self.session() as session:
            return session.scalars(select(Person.id).limit(1)).first() is not None

    def persons_visible_to(self, principal: Principal) -> list[Person]:
        query = select(Person).order_by(Person.id)
        if principal.role == "family":
            query = query.where(Person.id.in_(principal.person_ids))
        elif principal.role == "worker":
            query = query.where(Person.community == principal.community)
        elif principal.role == "recipient":
            query = query.where(Person.id == principal.person_id)
        elif principal.role != "admin":
            return []
        with self.session() as session:
            return list(session.scalars(query))

    def can_see_person(self, principal: Principal, person_id: str) -> bool:
        if principal.role == "recipient":
            return principal.person_id is not None and principal.person_id == person_id
        return any(p.id == person_id for p in self.persons_visible_to(principal))

    def person_for_device(self, device_id: str, at_ms: int) -> str | None:
        """The person the device was bound to at ``at_ms`` (bindings are cached briefly)."""
        with self._lock:
            cached = self._binding_cache.get(device_id)
        if cached is None or time.monotonic() - cached[0] > self._binding_cache_s:
            with self.session() as session:
                bindings = list(
                    session.scalars(select(Binding).where(Binding.device_id == device_id))
                )
            cached = (time.monotonic(), bindings)
            with self._lock:
                self._binding_cache[device_id] = cached
        for binding in cached[1]:
            if binding.valid_from_ms <= at_ms and (
                binding.valid_to_ms is None or at_ms < binding.valid_to_ms
            ):
                return binding.person_id
        return None

    def forget_bindings(self, device_id: str) -> None:
        """Drop the device's cached bindings: call after committing a change to them."""
        with self._lock:
            self._binding_cache.pop(device_id, None)

    def devices_of_person(self, person_id: str, at_ms: int | None = None) -> list[Device]:
        return self.devices_of_persons([person_id], at_ms)[person_id]

    def devices_of_persons(
        self, person_ids: Iterable[str], at_ms: int | None = None
    ) -> dict[str, list[Device]]:
        """The devices bound to each person at ``at_ms`` (now), by device id; every person
        asked about is a key, one without devices with an empty list."""
        at = now_ms() if at_ms is None else at_ms
        devices: dict[str, list[Device]] = {person_id: [] for person_id in person_ids}
        if not devices:
            return devices
        query = (
            select(Binding.person_id, Device)
            .join(Binding, Binding.device_id == Device.id)
            .where(Binding.person_id.in_(sorted(devices)), Binding.valid_from_ms <= at)
            .where(or_(Binding.valid_to_ms.is_(None), Binding.valid_to_ms > at))
            .order_by(Binding.person_id, Device.id)
        )
        with self.session() as session:
            for person_id, device in session.execute(query):
                devices[person_id].append(device)
        return devices

    def gateway(self, gateway_id: str) -> Gateway | None:
        with self.session() as session:
            return session.get(Gateway, gateway_id)

    def record_gateway_state(self, state: GatewayState) -> None:
        """Note an enrolled gateway's state; a gateway never enrolled is never added here."""
        with self.session() as session, session.begin():
            gateway = session.get(Gateway, state.gateway_id)
            if gateway is None or gateway.site_id != state.site_id:
                raise ValueError(
                    f"gateway {state.gateway_id} is not enrolled for site {state.site_id}"
                )
            gateway.online = state.online
            gateway.last_seen_ms = state.ts_ms
            for device_id, device_state in state.devices.items():
                device = session.get(Device, device_id)
                if device is not None and device.gateway_id == state.gateway_id:
                    device.state = device_state

    # --- alerts ---------------------------------------------------------------

    def record_alert(self, message: AlertMessage, person_id: str | None) -> bool:
        """Store an alert; False when (gateway, seq) was seen before. Repeats fold into the open one.

        Concurrent ingest workers may hold repeats of one alert at once: the person and kind
        are locked for the transaction (PostgreSQL), so two of them neither open two alerts
        nor lose an occurrence. A conflict that is not a redelivery is retried, and raised
        after a few tries so that the message stays unacknowledged and comes again."""
        for attempt in range(ALERT_WRITE_ATTEMPTS):
            try:
                return self._record_alert_once(message, person_id)
            except IntegrityError:
                with self.session() as session:
                    if session.get(AlertRepeat, (message.gateway_id, message.seq)) is not None:
                        return False  # another ingest worker stored this (gateway, seq) first
                if attempt == ALERT_WRITE_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _record_alert_once(self, message: AlertMessage, person_id: str | None) -> bool:
        received = now_ms()
        subject = f"person:{person_id}" if person_id else f"device:{message.device_id}"
        with self.session() as session, session.begin():
            _lock_for_transaction(session, f"alert|{subject}|{message.kind}")
            if session.get(AlertRepeat, (message.gateway_id, message.seq)) is not None:
                return False
            # One open alert per person and kind (per device when nobody is bound).
            same_subject = (
                Alert.person_id == person_id if person_id else Alert.device_id == message.device_id
            )
            open_alert = session.scalars(
                select(Alert).where(
                    same_subject,
                    Alert.kind == message.kind,
                    Alert.status.in_(ACTIVE_STATUSES),
                )
            ).first()
            if open_alert is None:
                open_alert = Alert(
                    gateway_id=message.gateway_id,
                    seq=message.seq,
                    person_id=person_id,
                    device_id=message.device_id,
                    kind=message.kind,
                    severity=message.severity,
                    status="open",
                    raised_at_ms=message.raised_at_ms,
                    last_raised_at_ms=message.raised_at_ms,
                    received_at_ms=received,
                    occurrences=1,
                    observation=message.observation,
                    value=message.value,
                    threshold=message.threshold,
                    message=message.message,
                    evidence=message.evidence,
                )
                session.add(open_alert)
                session.flush()
                # None → open, audited; escalation (family first) due at once.
                record_raised(session, open_alert, f"gateway:{message.gateway_id}")
            else:
                open_alert.occurrences += 1
                open_alert.last_raised_at_ms = max(
                    open_alert.last_raised_at_ms, message.raised_at_ms
                )
                open_alert.value = message.value
                open_alert.evidence = message.evidence or open_alert.evidence
            session.flush()
            session.add(
                AlertRepeat(gateway_id=message.gateway_id, seq=message.seq, alert_id=open_alert.id)
            )
        return True

    def alerts_visible_to(
        self, principal: Principal, statuses: Sequence[str] | None = None
    ) -> list[Alert]:
        visible = {p.id for p in self.persons_visible_to(principal)}
        query = select(Alert).order_by(Alert.raised_at_ms.desc())
        if statuses:
            query = query.where(Alert.status.in_(list(statuses)))
        with self.session() as session:
            alerts = list(session.scalars(query))
        if principal.role == "admin":
            return alerts
        return [alert for alert in alerts if alert.person_id in visible]

    # --- dead letters -----------------------------------------------------------

    def keep_dead_letter(
        self, topic: str, payload: bytes, reason: str, kind: str = "invalid"
    ) -> None:
        with self.session() as session, session.begin():
            session.add(
                DeadLetter(
                    topic=topic, payload=payload, reason=reason, received_at_ms=now_ms(), kind=kind
                )
            )

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        with self.session() as session:
            return list(
                session.scalars(select(DeadLetter).order_by(DeadLetter.id.desc()).limit(limit))
            )

    # --- users and sessions --------------------------------------------------------

    # Logging in (password, second factor, lock-out): anxin.cloud.access.login.LoginService.

    def principal(self, username: str) -> Principal | None:
        with self.session() as session:
            user = session.get(User, username)
            return None if user is None else _principal_of(session, user)

    def open_session(self, username: str, ttl_s: int, restricted: bool = False) -> tuple[str, int]:
        token = secrets.token_urlsafe(32)
        opened = now_ms()
        expires = opened + ttl_s * 1000
        with self.session() as session, session.begin():
            session.add(
                ApiSession(
                    token_hash=token_hash(token),
                    username=username,
                    expires_at_ms=expires,
                    created_at_ms=opened,
                    last_used_at_ms=opened,
                    restricted=restricted,
                )
            )
        return token, expires

    def principal_for_token(self, token: str, idle_s: int | None = None) -> Principal | None:
        return self.check_session(token, idle_s).principal

    def check_session(
        self, token: str, idle_s: int | None = None, at_ms: int | None = None
    ) -> SessionCheck:
        """The session's principal if it has neither expired nor sat idle for ``idle_s`` and
        its user is still enabled; using it restarts the idle count. An ended session is
        deleted. Read afresh on every request (nothing cached), so that disabling a user,
        ending their sessions or unlinking them from a person bites on the next request."""
        at = now_ms() if at_ms is None else at_ms
        with self.session() as session, session.begin():
            row = session.get(ApiSession, token_hash(token))
            if row is None:
                return SessionCheck(None, None, "unknown")
            username = row.username
            user = session.get(User, username)
            reason = None
            if user is None:
                reason = "unknown"
            elif user.disabled:
                reason = "disabled"
            elif row.expires_at_ms <= at:
                reason = "expired"
            elif idle_s is not None and at - row.last_used_at_ms > idle_s * 1000:
                reason = "idle"
            if reason is not None or user is None:
                session.delete(row)
                return SessionCheck(None, username, reason)
            row.last_used_at_ms = max(row.last_used_at_ms, at)
            principal = _principal_of(session, user)
            if row.restricted:
                principal = replace(principal, restricted=True)
        return SessionCheck(principal, username, None)

    def lift_restriction(self, token: str) -> None:
        """The session's user has just enrolled a second factor: it may now do all its role may."""
        with self.session() as session, session.begin():
            row = session.get(ApiSession, token_hash(token))
            if row is not None:
                row.restricted = False

    def close_session(self, token: str) -> None:
        with self.session() as session, session.begin():
            row = session.get(ApiSession, token_hash(token))
            if row is not None:
                session.delete(row)


def _lock_for_transaction(session: Session, name: str) -> None:
    """Hold a lock named ``name`` until the transaction ends (PostgreSQL advisory lock;
    SQLite serialises writers by itself)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _principal_of(session: Session, user: User) -> Principal:
    linked = session.scalars(
        select(FamilyLink.person_id).where(FamilyLink.username == user.username)
    )
    return Principal(
        user.username,
        user.display_name,
        user.role,
        user.community,
        frozenset(linked),
        person_id=user.person_id,
        must_change_password=bool(user.must_change_password),
    )


def token_hash(token: str) -> str:
    """How a bearer token is stored: only its hash, so the table cannot be used to log in."""
    return hashlib.sha256(token.encode()).hexdigest()
