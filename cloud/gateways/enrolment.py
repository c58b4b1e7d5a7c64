"""Gateway enrolment: a one-time, expiring token an installer exchanges for broker credentials.

The token's format is in ``anxin.enrolment_token``; the registry keeps only the SHA-256 of its
secret. Redeeming it creates (or rotates) the gateway's broker password, rewrites the
broker's password and ACL files and has the broker reread them before the new password is
committed and handed out.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from anxin.cloud.database.models import EnrolmentToken, Gateway, GatewayCredential
from anxin.cloud.gateways.broker_auth import (
    USERNAME,
    BrokerAuthError,
    BrokerFiles,
    CloudLogin,
    GatewayLogin,
    mosquitto_hash,
    new_password,
)
from anxin.cloud.registry.registry import Registry, now_ms
from anxin.config import CloudConfig
from anxin.enrolment_token import EnrolmentToken as ParsedToken
from anxin.enrolment_token import TokenError, format_token
from anxin.enrolment_token import parse_token as _parse

log = logging.getLogger(__name__)


class EnrolmentError(Exception):
    """A refused or failed enrolment; ``status`` and ``code`` are what the API answers."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def parse_token(text: str) -> ParsedToken:
    try:
        return _parse(text)
    except TokenError as exc:
        raise EnrolmentError(400, "token_malformed", str(exc)) from None


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class IssuedToken:
    token: str
    site_id: str
    gateway_id: str
    api_url: str
    expires_at_ms: int

    @property
    def expires_at(self) -> str:
        return _iso(self.expires_at_ms)


@dataclass(frozen=True)
class GatewayCredentials:
    """What an enrolled gateway needs: its identity, its broker and its broker login."""

    site_id: str
    gateway_id: str
    topic_root: str
    mqtt_host: str
    mqtt_port: int
    mqtt_protocol: str
    username: str
    password: str = field(repr=False)
    ca_pem: str | None = field(repr=False)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class Enrolment:
    def __init__(self, registry: Registry, config: CloudConfig) -> None:
        self.registry = registry
        self.config = config
        self.files = BrokerFiles(config.broker)

    @property
    def api_url(self) -> str:
        api = self.config.api
        return api.public_url or f"http://{api.host}:{api.port}/api/v1"

    def issue(self, site_id: str, gateway_id: str, valid_hours: float | None = None) -> IssuedToken:
        """A new token for the gateway; any earlier unused one for it stops working."""
        for name, value in (("site", site_id), ("gateway", gateway_id)):
            if not USERNAME.match(value):
                raise ValueError(
                    f"{name} id '{value}' must be 1-64 letters, digits, '_', '.' or '-', "
                    "starting with a letter or digit"
                )
        if gateway_id == self.config.mqtt.username:
            raise ValueError(f"gateway id '{gateway_id}' is the cloud's own broker user")
        hours = self.config.broker.enrolment_valid_hours if valid_hours is None else valid_hours
        if not 0 < hours <= 24 * 30:
            raise ValueError(f"--valid-hours must be above 0 and at most 720, got {hours}")
        secret = secrets.token_urlsafe(32)
        now = now_ms()
        expires = now + int(hours * 3_600_000)
        with self.registry.session() as session, session.begin():
            gateway = session.get(Gateway, gateway_id)
            if gateway is None:
                session.add(Gateway(id=gateway_id, site_id=site_id))
            elif gateway.site_id != site_id:
                raise ValueError(
                    f"gateway '{gateway_id}' belongs to site '{gateway.site_id}', not '{site_id}'"
                )
            session.execute(
                update(EnrolmentToken)
                .where(
                    EnrolmentToken.gateway_id == gateway_id,
                    EnrolmentToken.used_at_ms.is_(None),
                    EnrolmentToken.revoked_at_ms.is_(None),
                )
                .values(revoked_at_ms=now)
            )
            session.add(
                EnrolmentToken(
                    token_hash=ParsedToken("", secret).secret_hash,
                    site_id=site_id,
                    gateway_id=gateway_id,
                    issued_at_ms=now,
                    expires_at_ms=expires,
                )
            )
        return IssuedToken(
            format_token(self.api_url, secret), site_id, gateway_id, self.api_url, expires
        )

    def exchange(self, token: str) -> GatewayCredentials:
        """Redeem a token once: a fresh broker password, in effect at the broker on return."""
        parsed = parse_token(token)
        password = new_password()
        now = now_ms()
        ca_file = self.config.broker.tls_ca_file
        try:  # before the token is spent
            ca_pem = ca_file.read_text(encoding="ascii") if ca_file else None
        except (OSError, UnicodeDecodeError) as exc:
            raise EnrolmentError(
                503, "broker_unavailable", f"the broker's CA certificate is unreadable: {exc}"
            ) from exc
        with self.files.locked(), self.registry.session() as session:
            try:
                with session.begin():
                    claimed = session.execute(
                        update(EnrolmentToken)
                        .where(
                            EnrolmentToken.token_hash == parsed.secret_hash,
                            EnrolmentToken.used_at_ms.is_(None),
                            EnrolmentToken.revoked_at_ms.is_(None),
                            EnrolmentToken.expires_at_ms > now,
                        )
                        .values(used_at_ms=now)
                    )
                    row = session.get(EnrolmentToken, parsed.secret_hash)
                    if claimed.rowcount != 1 or row is None:  # type: ignore[attr-defined]
                        raise _refusal(row, now)
                    credential = session.get(GatewayCredential, row.gateway_id)
                    if credential is None:
                        credential = GatewayCredential(gateway_id=row.gateway_id)
                        session.add(credential)
                    credential.site_id = row.site_id
                    credential.topic_root = self.config.ingest.topic_root
                    credential.password_hash = mosquitto_hash(password)
                    credential.issued_at_ms = now
                    session.flush()
                    # The broker takes the new password before it is committed and handed out.
                    self._write_broker_files(session)
                    self.files.reload()
            except BrokerAuthError as exc:
                log.error("enrolment of a gateway failed at the broker: %s", exc)
                self._restore_broker_files()
                raise EnrolmentError(
                    503, "broker_unavailable", f"the broker could not take the credentials: {exc}"
                ) from exc
        log.info("gateway %s of site %s enrolled", row.gateway_id, row.site_id)
        return GatewayCredentials(
            site_id=row.site_id,
            gateway_id=row.gateway_id,
            topic_root=self.config.ingest.topic_root,
            mqtt_host=self.config.broker.host,
            mqtt_port=self.config.broker.port,
            mqtt_protocol=self.config.broker.protocol,
            username=row.gateway_id,
            password=password,
            ca_pem=ca_pem,
        )

    def sync_broker_files(self, reload: bool = True) -> int:
        """Rewrite the broker's files from the registry and reload it; the gateway count."""
        with self.files.locked(), self.registry.session() as session:
            count = self._write_broker_files(session)
        if reload:
            self.files.reload()
        return count

    def _write_broker_files(self, session: Any) -> int:
        gateways = [
            GatewayLogin(c.gateway_id, c.site_id, c.topic_root, c.password_hash)
            for c in session.scalars(select(GatewayCredential))
        ]
        mqtt = self.config.mqtt
        cloud = (
            CloudLogin(mqtt.username, mosquitto_hash(mqtt.password))
            if mqtt.username and mqtt.password
            else None
        )
        self.files.write(cloud, [self.config.ingest.topic_root], gateways)
        return len(gateways)

    def _restore_broker_files(self) -> None:
        try:
            with self.registry.session() as session:
                self._write_broker_files(session)
        except (BrokerAuthError, OSError):
            log.exception("could not restore the broker files from the registry")


def _refusal(row: EnrolmentToken | None, now: int) -> EnrolmentError:
    again = "ask for a new one (anxin admin enrol-gateway)"
    if row is None:
        return EnrolmentError(403, "token_unknown", f"this enrolment token is not known; {again}")
    if row.used_at_ms is not None:
        return EnrolmentError(
            410,
            "token_used",
            f"this enrolment token was already used at {_iso(row.used_at_ms)}; {again}",
        )
    if row.revoked_at_ms is not None:
        return EnrolmentError(
            410, "token_replaced", f"a newer enrolment token replaced this one; use that or {again}"
        )
    return EnrolmentError(
        410, "token_expired", f"this enrolment token expired at {_iso(row.expires_at_ms)}; {again}"
    )


class FailureLimiter:
    """Refuses a client for a while after too many refused tokens (per address, in memory)."""

    def __init__(self, max_failures: int = 10, window_s: float = 600.0) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: str) -> float | None:
        now = time.monotonic()
        with self._lock:
            failures = self._failures.get(key)
            if failures is None:
                return None
            while failures and failures[0] <= now - self.window_s:
                failures.popleft()
            if not failures:
                del self._failures[key]
                return None
            if len(failures) < self.max_failures:
                return None
            return failures[0] + self.window_s - now

    def failed(self, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._failures) > 10_000:  # forget addresses whose failures are old
                self._failures = {
                    k: v for k, v in self._failures.items() if v and v[-1] > now - self.window_s
                }
            self._failures.setdefault(key, deque()).append(now)
