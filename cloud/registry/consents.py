"""Consents: which data about a person may go to whom, for what, until when.

A consent counts on a day when it was granted on or before that day, had not been revoked
by then, and its ``valid_until`` (inclusive) has not passed. Days are China Standard Time.
A consent for grantee "family" may name one family account (``grantee_username``): only
such a consent, to that account's seeing the person's vitals, lets a worker link it.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.cloud.audit.chain import record
from anxin.cloud.database.models import Consent, FamilyLink, User
from anxin.cloud.registry.errors import Conflict, ConsentRequired, InvalidField, NotFound
from anxin.cloud.registry.persons import get_person
from anxin.cloud.registry.registry import now_ms

DATA_SCOPES = ("vitals", "alerts", "wear_record", "insurance_record")
GRANTEES = ("family", "community_worker", "insurer", "pension_office", "gp")
CHINA = ZoneInfo("Asia/Shanghai")
# A family link shows the relative the person's vital signs (and alerts, and their export).
FAMILY_LINK_SCOPE = "vitals"


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
    grantee_username: str | None = None,
) -> Consent:
    get_person(session, person_id)
    if data_scope not in DATA_SCOPES:
        raise InvalidField("data_scope", f"'{data_scope}' is not one of {', '.join(DATA_SCOPES)}")
    if grantee not in GRANTEES:
        raise InvalidField("grantee", f"'{grantee}' is not one of {', '.join(GRANTEES)}")
    if grantee_username is not None:
        if grantee != "family":
            raise InvalidField("grantee_username", "names a family account: grantee 'family' only")
        user = session.get(User, grantee_username)
        if user is None or user.role != "family":
            raise InvalidField("grantee_username", f"'{grantee_username}' is not a family account")
    granted = now_ms() if granted_at_ms is None else granted_at_ms
    if valid_until is not None and valid_until < day_of(granted):
        raise InvalidField("valid_until", f"{valid_until.isoformat()} is already past")
    consent = Consent(
        person_id=person_id,
        data_scope=data_scope,
        grantee=grantee,
        grantee_username=grantee_username,
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
            "grantee_username": grantee_username,
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


def require_family_consent(session: Session, person_id: str, username: str) -> None:
    """Refuse a new link of family account ``username`` to the person unless the person's
    consent to that account's seeing their vitals is in force today (an existing link may
    change its relation or notify flag without one)."""
    if session.get(FamilyLink, (username, person_id)) is not None:
        return
    user = session.get(User, username)
    if user is None or user.role != "family":
        return  # not a family account: persons.link_family refuses it, naming the field
    candidates = session.scalars(
        select(Consent).where(
            Consent.person_id == person_id,
            Consent.data_scope == FAMILY_LINK_SCOPE,
            Consent.grantee == "family",
            Consent.grantee_username == username,
        )
    )
    today = day_of(now_ms())
    if not any(counts_on(consent, today) for consent in candidates):
        raise ConsentRequired(
            f"a worker may link '{username}' to this person only with the person's consent: "
            f"first record a consent with grantee 'family', grantee_username '{username}' and "
            f"data_scope '{FAMILY_LINK_SCOPE}', or ask an administrator"
        )


def consents_of(session: Session, person_id: str) -> list[Consent]:
    return list(
        session.scalars(
            select(Consent)
            .where(Consent.person_id == person_id)
            .order_by(Consent.granted_at_ms.desc(), Consent.id.desc())
        )
    )
