"""Insured persons: enrolment and changes, chronic-disease registrations, family links.

Every change is written to the audit log in the same transaction. Resident IDs and phone
numbers are stored encrypted (``field_crypto``); the audit log names the fields that
changed, never their values.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.cloud.audit.chain import record
from anxin.cloud.database.models import ChronicRegistration, FamilyLink, Person, User
from anxin.cloud.registry.errors import Conflict, InvalidField, NotFound
from anxin.cloud.registry.field_crypto import FieldCipher, mask_phone, mask_resident_id, require
from anxin.cloud.registry.resident_id import ResidentIdError, parse_resident_id

# Plain columns a caller may set; resident_id and phone are encrypted separately.
PERSON_FIELDS = (
    "name",
    "name_latin",
    "birth_date",
    "sex",
    "community",
    "address",
    "site_id",
    "insured_region_code",
    "medical_insurance_type",
    "ltc_insurance_status",
    "ltc_assessed_level",
    "family_doctor",
    "family_doctor_contract_until",
    "pension_certification_due",
)
SECRET_FIELDS = ("resident_id", "phone")
PHONE = re.compile(r"^\+?[0-9]{5,15}$")


def normalise_phone(text: str) -> str:
    phone = re.sub(r"[\s()-]", "", text)
    if not PHONE.match(phone):
        raise InvalidField("phone", f"'{text}' is not a phone number (5-15 digits, optional +)")
    return phone


def get_person(session: Session, person_id: str) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(f"no person '{person_id}'")
    return person


def create_person(
    session: Session,
    actor: str,
    cipher: FieldCipher | None,
    fields: Mapping[str, Any],
    person_id: str | None = None,
) -> Person:
    """Enrol a person from ``fields`` (PERSON_FIELDS and SECRET_FIELDS)."""
    person_id = person_id or f"p-{secrets.token_hex(5)}"
    if session.get(Person, person_id) is not None:
        raise Conflict(f"id: a person '{person_id}' already exists")
    person = Person(id=person_id, ltc_insurance_status="none", name_latin="", address="")
    for name in PERSON_FIELDS:
        if fields.get(name) is not None:
            setattr(person, name, fields[name])
    _set_secrets(session, cipher, person, fields)
    session.add(person)
    session.flush()
    record(
        session,
        actor,
        "person.create",
        f"persons/{person_id}",
        person_id,
        {"fields": sorted(k for k, v in fields.items() if v is not None)},
    )
    return person


def update_person(
    session: Session,
    actor: str,
    cipher: FieldCipher | None,
    person_id: str,
    changes: Mapping[str, Any],
) -> Person:
    """Apply ``changes`` (only the keys given; None clears an optional field)."""
    person = get_person(session, person_id)
    for name in PERSON_FIELDS:
        if name in changes:
            if changes[name] is None and name in ("name", "birth_date", "sex", "community"):
                raise InvalidField(name, "may not be null")
            setattr(person, name, changes[name])
    if person.ltc_insurance_status is None:
        person.ltc_insurance_status = "none"
    if "resident_id" in changes or "phone" in changes:
        _set_secrets(session, cipher, person, changes)
    elif ("birth_date" in changes or "sex" in changes) and person.resident_id_enc:
        # The stored resident ID must still agree with the new birth date and sex.
        stored = require(cipher, "a person with a resident ID").decrypt(person.resident_id_enc)
        _check_resident_id(stored, person)
    session.flush()
    record(
        session,
        actor,
        "person.update",
        f"persons/{person_id}",
        person_id,
        {"fields": sorted(changes)},
    )
    return person


def _set_secrets(
    session: Session, cipher: FieldCipher | None, person: Person, fields: Mapping[str, Any]
) -> None:
    if "resident_id" in fields:
        text = fields["resident_id"]
        if text is None:
            person.resident_id_enc = person.resident_id_index = None
        else:
            number = _check_resident_id(text, person)
            cipher = require(cipher, "a resident ID")
            indexes = cipher.blind_indexes(number)
            other = session.scalars(
                select(Person.id).where(
                    Person.resident_id_index.in_(indexes), Person.id != person.id
                )
            ).first()
            if other is not None:
                raise Conflict("resident_id: another person is already registered with this ID")
            person.resident_id_enc = cipher.encrypt(number)
            person.resident_id_index = indexes[0]
    if "phone" in fields:
        text = fields["phone"]
        person.phone_enc = (
            None
            if text is None
            else require(cipher, "a phone number").encrypt(normalise_phone(text))
        )


def _check_resident_id(text: str, person: Person) -> str:
    try:
        return parse_resident_id(text, person.birth_date, person.sex).number
    except ResidentIdError as exc:
        raise InvalidField("resident_id", str(exc)) from None


def reveal(cipher: FieldCipher | None, token: str | None) -> str | None:
    """The plaintext of an encrypted field; None when empty or no key is configured."""
    if token is None or cipher is None:
        return None
    return cipher.decrypt(token)


def masked_resident_id(cipher: FieldCipher | None, person: Person) -> str | None:
    number = reveal(cipher, person.resident_id_enc)
    return None if number is None else mask_resident_id(number)


def masked_phone(cipher: FieldCipher | None, token: str | None) -> str | None:
    phone = reveal(cipher, token)
    return None if phone is None else mask_phone(phone)


def rekey(session: Session, cipher: FieldCipher) -> int:
    """Re-encrypt persons' and users' fields made with an old key; how many rows changed.
    Afterwards the old keys can leave the configuration."""
    changed = 0
    for person in session.scalars(select(Person)):
        touched = False
        if person.resident_id_enc and cipher.needs_rekey(person.resident_id_enc):
            number = cipher.decrypt(person.resident_id_enc)
            person.resident_id_enc = cipher.encrypt(number)
            person.resident_id_index = cipher.blind_index(number)
            touched = True
        if person.phone_enc and cipher.needs_rekey(person.phone_enc):
            person.phone_enc = cipher.encrypt(cipher.decrypt(person.phone_enc))
            touched = True
        changed += touched
    for user in session.scalars(select(User)):
        if user.phone_enc and cipher.needs_rekey(user.phone_enc):
            user.phone_enc = cipher.encrypt(cipher.decrypt(user.phone_enc))
            changed += 1
    if changed:
        record(session, "system:rekey", "registry.rekey", "persons", None, {"rows": changed})
    return changed


# --- chronic-disease registrations ----------------------------------------------


def add_chronic_registration(
    session: Session,
    actor: str,
    person_id: str,
    condition: str,
    registered_on: date,
    valid_until: date | None = None,
) -> ChronicRegistration:
    get_person(session, person_id)
    if valid_until is not None and valid_until < registered_on:
        raise InvalidField(
            "valid_until",
            f"{valid_until.isoformat()} is before registered_on {registered_on.isoformat()}",
        )
    registration = ChronicRegistration(
        person_id=person_id,
        condition=condition,
        registered_on=registered_on,
        valid_until=valid_until,
    )
    session.add(registration)
    session.flush()
    record(
        session,
        actor,
        "chronic_registration.create",
        f"persons/{person_id}/chronic-registrations/{registration.id}",
        person_id,
        {"condition": condition},
    )
    return registration


def chronic_registrations(session: Session, person_ids: list[str]) -> list[ChronicRegistration]:
    if not person_ids:
        return []
    return list(
        session.scalars(
            select(ChronicRegistration)
            .where(ChronicRegistration.person_id.in_(person_ids))
            .order_by(ChronicRegistration.registered_on, ChronicRegistration.id)
        )
    )


# --- family links ------------------------------------------------------------------


def link_family(
    session: Session,
    actor: str,
    person_id: str,
    username: str,
    relation: str,
    notify: bool,
) -> FamilyLink:
    """Link a family account to a person (or change the relation and notify flag)."""
    get_person(session, person_id)
    user = session.get(User, username)
    if user is None or user.role != "family":
        raise InvalidField("username", f"'{username}' is not a family account")
    link = session.get(FamilyLink, (username, person_id))
    action = "family_link.update"
    if link is None:
        link = FamilyLink(username=username, person_id=person_id)
        session.add(link)
        action = "family_link.create"
    link.relation = relation
    link.notify = notify
    session.flush()
    record(
        session,
        actor,
        action,
        f"persons/{person_id}/family/{username}",
        person_id,
        {"relation": relation, "notify": notify},
    )
    return link


def unlink_family(session: Session, actor: str, person_id: str, username: str) -> None:
    """Remove the link: the relative no longer sees the person nor is told of their alerts."""
    link = session.get(FamilyLink, (username, person_id))
    if link is None:
        raise NotFound(f"'{username}' is not linked to this person")
    relation = link.relation
    session.delete(link)
    session.flush()
    record(
        session,
        actor,
        "family_link.delete",
        f"persons/{person_id}/family/{username}",
        person_id,
        {"relation": relation},
    )


def family_of(session: Session, person_id: str) -> list[tuple[FamilyLink, User]]:
    return [
        (link, user)
        for link, user in session.execute(
            select(FamilyLink, User)
            .join(User, User.username == FamilyLink.username)
            .where(FamilyLink.person_id == person_id)
            .order_by(FamilyLink.username)
        )
    ]
