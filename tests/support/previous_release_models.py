"""The registry tables exactly as the previous release defined them (its cloud/database/models.py,
unchanged but for this docstring): creating them with ``create_all`` makes the database
that release left behind, with its own constraint names and no ``alembic_version``."""

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
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


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
    role: Mapped[str] = mapped_column(String(16))  # admin | worker | family
    password_hash: Mapped[str] = mapped_column(String(256))
    community: Mapped[str | None] = mapped_column(String(64), nullable=True)


class FamilyLink(Base):
    __tablename__ = "family_links"

    username: Mapped[str] = mapped_column(ForeignKey("users.username"), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id"), primary_key=True)
    relation: Mapped[str] = mapped_column(String(32), default="")


class ApiSession(Base):
    __tablename__ = "api_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("users.username"))
    expires_at_ms: Mapped[int] = mapped_column(BigInteger)


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
