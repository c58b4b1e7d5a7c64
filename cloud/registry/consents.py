"""Consents: which data about a person may go to whom, for what, until when.

A consent counts on a day when it was granted on or before that day, had not been revoked
by then, and its ``valid_until`` (inclusive) has not passed. Days are China Standard Time.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.cloud.audit.chain import record
from anxin.cloud.database.models import Consent
from anxin.cloud.registry.errors import Conflict, InvalidField, NotFound
from anxin.cloud.registry.persons import get_person
from anxin.cloud.registry.registry import now_ms

DATA_SCOPES = ("vitals", "alerts", "wear_record", "insurance_record")
GRANTEES = ("family", "community_worker", "insurer", "pension_office", "gp")
CHINA = ZoneInfo("Asia/Shanghai")


def day_of(ms: int) -> date:
    return datetime.fromtimestamp(ms / 1000, tz=CHINA).date()


def grant_consent(
    session: Session,
    actor: str,
    person_id: str,
    data_scope: str,
    grantee: str,
    purpose: str,
    valid_until: date | None = None,
    granted_at_ms: int | None = None,
) -> Consent:
    get_person(session, person_id)
    if data_scope not in DATA_SCOPES:
        raise InvalidField("data_scope", f"'{data_scope}' is not one of {', '.join(DATA_SCOPES)}")
    if grantee not in GRANTEES:
        raise InvalidField("grantee", f"'{grantee}' is not one of {', '.join(GRANTEES)}")
    granted = now_ms() if granted_at_ms is None else granted_at_ms
    if valid_until is not None and valid_until < day_of(granted):
        raise InvalidField("valid_until", f"{valid_until.isoformat()} is already past")
    consent = Consent(
        person_id=person_id,
        data_scope=data_scope,
        grantee=grantee,
        purpose=purpose,
        granted_at_ms=granted,
        valid_until=valid_until,
        recorded_by=actor,
    )
    session.add(consent)
    session.flush()
    record(
        session,
        actor,
        "consent.grant",
        f"consents/{consent.id}",
        person_id,
        {
            "data_scope": data_scope,
            "grantee": grantee,
            "valid_until": valid_until.isoformat() if valid_until else None,
        },
    )
    return consent


def get_consent(session: Session, consent_id: int) -> Consent:
    consent = session.get(Consent, consent_id)
    if consent is None:
        raise NotFound(f"no consent {consent_id}")
    return consent


def revoke_consent(session: Session, actor: str, consent_id: int) -> Consent:
    consent = get_consent(session, consent_id)
    if consent.revoked_at_ms is not None:
        raise Conflict(f"consent {consent_id} was already revoked")
    consent.revoked_at_ms = now_ms()
    session.flush()
    record(session, actor, "consent.revoke", f"consents/{consent_id}", consent.person_id)
    return consent


def counts_on(consent: Consent, on_date: date) -> bool:
    if day_of(consent.granted_at_ms) > on_date:
        return False
    if consent.revoked_at_ms is not None and day_of(consent.revoked_at_ms) <= on_date:
        return False
    return consent.valid_until is None or on_date <= consent.valid_until


def has_consent(
    session: Session, person_id: str, data_scope: str, grantee: str, on_date: date
) -> bool:
    """Whether ``grantee`` may have the person's ``data_scope`` data on ``on_date``."""
    candidates = session.scalars(
        select(Consent).where(
            Consent.person_id == person_id,
            Consent.data_scope == data_scope,
            Consent.grantee == grantee,
        )
    )
    return any(counts_on(consent, on_date) for consent in candidates)


def consents_of(session: Session, person_id: str) -> list[Consent]:
    return list(
        session.scalars(
            select(Consent)
            .where(Consent.person_id == person_id)
            .order_by(Consent.granted_at_ms.desc(), Consent.id.desc())
        )
    )
