"""Registry tables: insured persons, homes' gateways and devices, bindings, users, alerts,
care (interventions, assessments, follow-ups), consents, notifications and the audit log.

Columns ending in ``_enc`` hold AES-GCM ciphertext (see ``anxin.cloud.registry.field_crypto``);
columns ending in ``_index`` hold a keyed hash of the same value, for lookups."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Constraint names are spelled out so PostgreSQL and SQLite agree and migrations
# (cloud/database/migrations) can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Person(Base):
    __tablename__ = "persons"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    name_latin: Mapped[str] = mapped_column(String(64), default="")
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(1))
    community: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(200), default="")
    site_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    resident_id_enc: Mapped[str | None] = mapped_column(String(255), nullable=True)
    resident_id_index: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    phone_enc: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # 6-digit administrative division code of the insuring region (GB/T 2260).
    insured_region_code: Mapped[str | None] = mapped_column(String(6), nullable=True)
    # employee | urban_rural_resident
    medical_insurance_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # none | applied | insured | receiving
    ltc_insurance_status: Mapped[str] = mapped_column(String(16), default="none")
    ltc_assessed_level: Mapped[int | None] = mapped_column(Integer, nullable=True)
    family_doctor: Mapped[str | None] = mapped_column(String(64), nullable=True)
    family_doctor_contract_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    pension_certification_due: Mapped[date | None] = mapped_column(Date, nullable=True)


class ChronicRegistration(Base):
    """A chronic-disease outpatient registration (门诊慢特病) with the insurer."""

    __tablename__ = "chronic_registrations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id"), index=True)
    condition: Mapped[str] = mapped_column(String(32))  # hypertension | diabetes | ...
    registered_on: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)


class Gateway(Base):
    __tablename__ = "gateways"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(64), index=True)
    online: Mapped[bool] = mapped_column(default=False)
    last_seen_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class Device(Base):
    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    gateway_id: Mapped[str] = mapped_column(ForeignKey("gateways.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(32), default="unknown")


class Binding(Base):
    """A device worn by (or installed for) one person for a period."""

    __tablename__ = "bindings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), index=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id"), index=True)
    valid_from_ms: Mapped[int] = mapped_column(BigInteger)
    valid_to_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class User(Base):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))  # admin | worker | family | recipient
    password_hash: Mapped[str] = mapped_column(String(256))
    community: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # For workers: who their alerts escalate to after them.
    supervisor: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # For recipients: the person record they are.
    person_id: Mapped[str | None] = mapped_column(ForeignKey("persons.id"), nullable=True)
    totp_secret_enc: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # A TOTP secret being enrolled: it replaces totp_secret_enc once a code from it is confirmed.
    totp_pending_enc: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # The last TOTP time step a code was accepted for: no code is accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    disabled: Mapped[bool] = mapped_column(default=False)
    # When an administrator disabled the account (None while it is enabled).
    disabled_at_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # After an administrator's password reset: the user's sessions may only change it.
    must_change_password: Mapped[bool] = mapped_column(default=False)
    # Contact points and notification preferences.
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    phone_enc: Mapped[str | None] = mapped_column(String(255), nullable=True)
    webhook_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    notify_channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    notify_min_severity: Mapped[str] = mapped_column(String(16), default="high")
    quiet_start: Mapped[str | None] = mapped_column(String(5), nullable=True)  # "22:00"
    quiet_end: Mapped[str | None] = mapped_column(String(5), nullable=True)  # "07:00"
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    # Language of the notifications sent to this user: zh (the default) or en.
    language: Mapped[str] = mapped_column(String(2), default="zh")


class LoginThrottleCounter(Base):
    """Failed logins counted per client address, per (address, account) and per account
    (see ``anxin.cloud.access.login_throttle``)."""

    __tablename__ = "login_throttle"

    scope: Mapped[str] = mapped_column(String(8), primary_key=True)  # address | pair | account
    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_ms: Mapped[int] = mapped_column(BigInteger, default=0, index=True)
    # No attempt in this scope is checked before then (once past the free failures).
    next_allowed_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    # pair rows: when the account last logged in from the address.
    last_success_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class FamilyLink(Base):
    __tablename__ = "family_links"

    username: Mapped[str] = mapped_column(ForeignKey("users.username"), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id"), primary_key=True)
    relation: Mapped[str] = mapped_column(String(32), default="")
    # Whether this relative is told of the person's alerts (escalation level 1).
    notify: Mapped[bool] = mapped_column(default=True)


class ApiSession(Base):
    __tablename__ = "api_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("users.username"))
    expires_at_ms: Mapped[int] = mapped_column(BigInteger)
    created_at_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    # Sliding idle limit: a session unused for longer than its idle timeout ends.
    last_used_at_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    # A worker or admin without an enrolled second factor: may only enrol one and log out.
    restricted: Mapped[bool] = mapped_column(default=False)


class Alert(Base):
    """One open alert per person and kind: repeats fold into it (``occurrences``)."""

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("gateway_id", "seq", name="uq_alert_gateway_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    gateway_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger)
    person_id: Mapped[str | None] = mapped_column(
        ForeignKey("persons.id"), nullable=True, index=True
    )
    device_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    raised_at_ms: Mapped[int] = mapped_column(BigInteger)
    last_raised_at_ms: Mapped[int] = mapped_column(BigInteger)
    received_at_ms: Mapped[int] = mapped_column(BigInteger)
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    observation: Mapped[str | None] = mapped_column(String(32), nullable=True)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    threshold: Mapped[float | None] = mapped_column(Float, nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
    # What triggered it (values and their window), as the gateway sent it.
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    acknowledged_at_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    assigned_to: Mapped[str | None] = mapped_column(String(64), nullable=True)
    closed_at_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # resolved: what happened (outcome); dismissed: why (reason).
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)
    # 0 = nobody notified yet; 1 family, 2 community worker, 3 the worker's supervisor.
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    next_escalation_at_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True, index=True)


class AlertTransition(Base):
    """One step of an alert's life, stamped with who and when."""

    __tablename__ = "alert_transitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))  # a username, or "system:<what>"
    at_ms: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(Text, default="")


class AlertRepeat(Base):
    """(gateway, seq) of every alert message folded into an open alert, so a redelivery is known."""

    __tablename__ = "alert_repeats"

    gateway_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"))


class DeadLetter(Base):
    """A message that failed validation: kept with the reason, never silently dropped."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(256))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    reason: Mapped[str] = mapped_column(Text)
    received_at_ms: Mapped[int] = mapped_column(BigInteger)
    # invalid (schema, topic) | origin (not from the device's enrolled gateway)
    # | unstorable (failed to store, alone, on every try)
    kind: Mapped[str] = mapped_column(String(16), default="invalid", server_default="invalid")


class SecurityEvent(Base):
    """Messages refused because of who sent them (an unknown gateway, another site's
    device), counted per gateway, claimed site and reason."""

    __tablename__ = "security_events"
    __table_args__ = (
        UniqueConstraint("gateway_id", "site_id", "reason", name="uq_security_event"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    gateway_id: Mapped[str] = mapped_column(String(64))
    site_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(300))
    count: Mapped[int] = mapped_column(Integer, default=0)
    first_seen_ms: Mapped[int] = mapped_column(BigInteger)
    last_seen_ms: Mapped[int] = mapped_column(BigInteger, index=True)


class IngestHeartbeat(Base):
    """What one ingest worker last said about itself, for /health in the API process."""

    __tablename__ = "ingest_heartbeats"

    worker_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    started_at_ms: Mapped[int] = mapped_column(BigInteger)
    updated_at_ms: Mapped[int] = mapped_column(BigInteger)
    last_stored_at_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # Messages received and not yet stored or set aside, and since when some have waited.
    waiting: Mapped[int] = mapped_column(Integer, default=0)
    waiting_since_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # Messages held for another try because a store was unreachable.
    retrying: Mapped[int] = mapped_column(Integer, default=0)
    # Messages the broker sent again (MQTT DUP flag) since the worker started.
    redelivered: Mapped[int] = mapped_column(BigInteger, default=0)
    messages: Mapped[int] = mapped_column(BigInteger, default=0)
    stored: Mapped[int] = mapped_column(BigInteger, default=0)
    # Dead letters by kind (invalid, origin, unstorable) since the worker started.
    dead_letters: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)


class EnrolmentToken(Base):
    """A one-time token an installer exchanges for a gateway's broker credentials.

    Only the SHA-256 of the token's secret is kept."""

    __tablename__ = "enrolment_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(64))
    gateway_id: Mapped[str] = mapped_column(String(64), index=True)
    issued_at_ms: Mapped[int] = mapped_column(BigInteger)
    expires_at_ms: Mapped[int] = mapped_column(BigInteger)
    used_at_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # Set when a newer token for the same gateway replaced this one before it was used.
    revoked_at_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class GatewayCredential(Base):
    """A gateway's broker login: the password only as Mosquitto's PBKDF2 hash line."""

    __tablename__ = "gateway_credentials"

    gateway_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(64))
    topic_root: Mapped[str] = mapped_column(String(128))
    password_hash: Mapped[str] = mapped_column(String(256))
    issued_at_ms: Mapped[int] = mapped_column(BigInteger)


class Notification(Base):
    """One message to one recipient over one channel: the outbox and its delivery record."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"), nullable=True, index=True)
    recipient: Mapped[str] = mapped_column(String(64), index=True)  # a username
    channel: Mapped[str] = mapped_column(String(16))  # webhook | email | sms
    severity: Mapped[str] = mapped_column(String(16))
    escalation_level: Mapped[int] = mapped_column(Integer, default=1)
    # pending (quiet hours: pending until they end) | sent | logged (accepted by a channel
    # that does not deliver, such as the built-in SMS gateway) | failed | suppressed_rate_limit
    status: Mapped[str] = mapped_column(String(32), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at_ms: Mapped[int] = mapped_column(BigInteger)
    sent_at_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    detail: Mapped[str] = mapped_column(Text, default="")


class Consent(Base):
    """What data about a person may be used, for whom, until when."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id"), index=True)
    # vitals | alerts | wear_record | insurance_record
    data_scope: Mapped[str] = mapped_column(String(32))
    # family | community_worker | insurer | pension_office | gp
    grantee: Mapped[str] = mapped_column(String(32))
    # For grantee "family": the one family account the consent is for (None: family at large).
    grantee_username: Mapped[str | None] = mapped_column(String(64), nullable=True)
    purpose: Mapped[str] = mapped_column(Text, default="")
    granted_at_ms: Mapped[int] = mapped_column(BigInteger)
    valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    revoked_at_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(64))


class Intervention(Base):
    """A care task: from an alert, a follow-up rule, or made by hand."""

    __tablename__ = "interventions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id"), index=True)
    # phone_call | home_visit | gp_referral | emergency_call | medication_review
    # | chronic_outpatient_application | ltc_assessment_referral | wellness_visit
    # | pension_certification_reminder
    kind: Mapped[str] = mapped_column(String(40))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"), nullable=True)
    follow_up_id: Mapped[int | None] = mapped_column(ForeignKey("follow_ups.id"), nullable=True)
    # open | in_progress | done | cancelled
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    assigned_to: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    due_at_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at_ms: Mapped[int] = mapped_column(BigInteger)
    completed_at_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")


class BarthelAssessment(Base):
    """A Barthel Index (ADL) assessment: the ten items' scores and their total (0-100)."""

    __tablename__ = "barthel_assessments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id"), index=True)
    assessed_on: Mapped[date] = mapped_column(Date)
    assessed_by: Mapped[str] = mapped_column(String(64))
    items: Mapped[dict[str, int]] = mapped_column(JSON)
    total: Mapped[int] = mapped_column(Integer)
    notes: Mapped[str] = mapped_column(Text, default="")
    recorded_at_ms: Mapped[int] = mapped_column(BigInteger)


class FollowUp(Base):
    """An insurance follow-up one rule raised for one person, with the evidence it saw."""

    __tablename__ = "follow_ups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id"), index=True)
    rule_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40))  # the intervention kind it asks for
    explanation: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    # open | done | dismissed
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    created_at_ms: Mapped[int] = mapped_column(BigInteger)
    closed_at_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class AuditEntry(Base):
    """One line of the append-only audit log; ``hash`` chains it to the line before."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at_ms: Mapped[int] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))  # e.g. read, alert.acknowledge
    target: Mapped[str] = mapped_column(String(200))  # e.g. persons/p-1, alerts/7
    person_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # Unique: two writers that raced for the same predecessor cannot both commit (no fork).
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Which audit key made ``hash`` (HMAC-SHA256); '' for the unkeyed SHA-256 of earlier
    # releases, which come first in the chain.
    key_id: Mapped[str] = mapped_column(String(16), default="", server_default="")


class AuditHead(Base):
    """The chain's last entry, updated with every append: it serialises writers (row lock)
    and lets verification notice entries cut off the end."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    last_id: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))
    entries: Mapped[int] = mapped_column(Integer)
