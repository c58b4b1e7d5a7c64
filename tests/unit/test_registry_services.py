"""The registry services on SQLite and on the real PostgreSQL."""

import functools
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from anxin.cloud.access.passwords import hash_password
from anxin.cloud.audit import chain as audit
from anxin.cloud.database.engines import make_engine
from anxin.cloud.database.models import AuditEntry, Binding, FamilyLink, Person
from anxin.cloud.registry.bindings import bind_device, bindings_of_person, end_binding
from anxin.cloud.registry.consents import day_of, grant_consent, has_consent, revoke_consent
from anxin.cloud.registry.errors import Conflict, InvalidField
from anxin.cloud.registry.field_crypto import FieldCipher, MissingKeyError
from anxin.cloud.registry.persons import (
    add_chronic_registration,
    create_person,
    link_family,
    rekey,
    update_person,
)
from anxin.cloud.registry.registry import Registry, now_ms
from anxin.cloud.registry.resident_id import make_resident_id, parse_resident_id
from anxin.demo import homes
from anxin.demo.homes import demo_homes, seed_registry

CIPHER = FieldCipher(bytes(range(32)))
cached_hash = functools.cache(hash_password)  # argon2 is slow by design; tests reuse hashes
BORN = date(1950, 5, 4)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.services)])
def registry(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Registry]:
    monkeypatch.setattr(homes, "hash_password", cached_hash)
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/registry.sqlite"
    else:
        url = request.getfixturevalue("postgres_url")
    registry = Registry(make_engine(url), binding_cache_s=3600)
    registry.create_schema()
    seed_registry(registry, demo_homes(3), cipher=CIPHER)
    yield registry
    registry.engine.dispose()


def new_fields(**extra: object) -> dict[str, object]:
    return {
        "name": "孙玉梅",
        "birth_date": BORN,
        "sex": "F",
        "community": "幸福里社区",
        "resident_id": make_resident_id("110105", BORN, "F", 7),
        "phone": "138 1234 5678",
    } | extra


def last_audit(registry: Registry) -> AuditEntry:
    with registry.session() as session:
        return session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()  # type: ignore[return-value]


def test_a_new_person_is_stored_encrypted_and_audited(registry: Registry) -> None:
    with registry.session() as session, session.begin():
        create_person(session, "admin", CIPHER, new_fields(), "p-new")
    with registry.session() as session:
        person = session.get(Person, "p-new")
        assert person is not None and person.resident_id_enc and person.phone_enc
        assert "110105" not in person.resident_id_enc and "5678" not in person.phone_enc
        assert CIPHER.decrypt(person.resident_id_enc) == make_resident_id("110105", BORN, "F", 7)
        assert CIPHER.decrypt(person.phone_enc) == "13812345678"
        assert audit.verify(session).intact
    entry = last_audit(registry)
    assert (entry.actor, entry.action, entry.target) == ("admin", "person.create", "persons/p-new")
    assert "resident_id" in entry.detail["fields"]  # type: ignore[index]
    assert "110105" not in str(entry.detail)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"resident_id": "110105195005040071"}, "resident_id: check digit should be"),
        (
            {"birth_date": date(1950, 5, 5)},
            "resident_id: the resident ID gives birth date 1950-05-04",
        ),
        ({"sex": "M"}, "resident_id: the resident ID says female"),
        ({"phone": "call me"}, "phone: 'call me' is not a phone number"),
    ],
)
def test_bad_person_fields_are_refused_naming_the_field(
    registry: Registry, change: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidField, match=message), registry.session() as session, session.begin():
        create_person(session, "admin", CIPHER, new_fields(**change), "p-bad")
    with registry.session() as session:
        assert session.get(Person, "p-bad") is None


def test_a_resident_id_is_registered_once(registry: Registry) -> None:
    with registry.session() as session:
        p1 = session.get(Person, "p0001")
        assert p1 is not None and p1.resident_id_enc
        taken = CIPHER.decrypt(p1.resident_id_enc)
    fields = new_fields(resident_id=taken.lower(), birth_date=p1.birth_date, sex=p1.sex)
    with (
        pytest.raises(Conflict, match="resident_id: another person"),
        registry.session() as s,
        s.begin(),
    ):
        create_person(s, "admin", CIPHER, fields, "p-dup")
    # After a key rotation the old index still finds it.
    rotated = FieldCipher(bytes(range(1, 33)), [bytes(range(32))])
    with pytest.raises(Conflict), registry.session() as s, s.begin():
        create_person(s, "admin", rotated, fields, "p-dup")


def test_without_a_key_nothing_personal_is_stored(registry: Registry) -> None:
    with pytest.raises(MissingKeyError, match="encryption_key"), registry.session() as s, s.begin():
        create_person(s, "admin", None, new_fields(), "p-nokey")
    with registry.session() as session, session.begin():
        create_person(session, "admin", None, new_fields(resident_id=None, phone=None), "p-nokey")


def test_update_checks_the_stored_id_and_clears_fields(registry: Registry) -> None:
    with registry.session() as session, session.begin():
        with pytest.raises(InvalidField, match="resident_id: the resident ID gives birth date"):
            update_person(session, "worker", CIPHER, "p0001", {"birth_date": date(1942, 3, 16)})
        session.rollback()
    with registry.session() as session, session.begin():
        person = update_person(
            session,
            "worker",
            CIPHER,
            "p0001",
            {"phone": None, "ltc_insurance_status": "applied", "address": "新地址"},
        )
        assert person.phone_enc is None and person.resident_id_enc is not None
    assert last_audit(registry).detail == {"fields": ["address", "ltc_insurance_status", "phone"]}


def test_a_device_is_bound_to_one_person_at_a_time(registry: Registry) -> None:
    assert registry.person_for_device("hr-1", now_ms()) == "p0001"
    with (
        pytest.raises(Conflict, match="device 'hr-1' is bound"),
        registry.session() as s,
        s.begin(),
    ):
        bind_device(s, "worker", "p0002", "hr-1")
    with registry.session() as session, session.begin():
        first = bindings_of_person(session, "p0001")
        hr = next(b for b in first if b.device_id == "hr-1")
        end_binding(session, "worker", hr.id, now_ms() - 1000)
        new = bind_device(session, "worker", "p0002", "hr-1", now_ms() - 500)
    registry.forget_bindings("hr-1")
    assert registry.person_for_device("hr-1", now_ms()) == "p0002"
    assert registry.person_for_device("hr-1", now_ms() - 2000) == "p0001"
    with pytest.raises(Conflict, match="already ended"), registry.session() as s, s.begin():
        end_binding(s, "worker", hr.id)
    with pytest.raises(InvalidField, match="device_id"), registry.session() as s, s.begin():
        bind_device(s, "worker", "p0002", "no-such-device")
    with registry.session() as session:
        assert session.get(Binding, new.id) is not None
        assert audit.verify(session).intact
    assert last_audit(registry).action == "binding.create"


def test_consents_count_until_revoked_or_expired(registry: Registry) -> None:
    today = day_of(now_ms())  # consents count in China Standard Time days
    with registry.session() as session:
        # The demo's p0002 lets the pension office see the wear record.
        assert has_consent(session, "p0002", "wear_record", "pension_office", today)
        assert not has_consent(session, "p0002", "wear_record", "insurer", today)
        assert not has_consent(session, "p0001", "wear_record", "pension_office", today)
    with registry.session() as session, session.begin():
        consent = grant_consent(
            session,
            "worker",
            "p0001",
            "vitals",
            "gp",
            "家庭医生签约随访",
            today + timedelta(days=10),
        )
    with registry.session() as session:
        assert has_consent(session, "p0001", "vitals", "gp", today)
        assert has_consent(session, "p0001", "vitals", "gp", today + timedelta(days=10))
        assert not has_consent(session, "p0001", "vitals", "gp", today + timedelta(days=11))
        assert not has_consent(session, "p0001", "vitals", "gp", today - timedelta(days=1))
    with registry.session() as session, session.begin():
        revoke_consent(session, "worker", consent.id)
    with registry.session() as session:
        assert not has_consent(session, "p0001", "vitals", "gp", today)
    with pytest.raises(Conflict, match="already revoked"), registry.session() as s, s.begin():
        revoke_consent(s, "worker", consent.id)
    with pytest.raises(InvalidField, match="grantee"), registry.session() as s, s.begin():
        grant_consent(s, "worker", "p0001", "vitals", "neighbour", "x")
    assert last_audit(registry).action == "consent.revoke"


def test_chronic_registrations_and_family_links(registry: Registry) -> None:
    with registry.session() as session, session.begin():
        add_chronic_registration(session, "worker", "p0003", "diabetes", date(2024, 1, 5))
        link_family(session, "worker", "p0002", "family", "son", notify=False)
    with registry.session() as session:
        link = session.get(FamilyLink, ("family", "p0002"))
        assert link is not None and (link.relation, link.notify) == ("son", False)
    not_family = "username: 'worker' is not a family account"
    with pytest.raises(InvalidField, match=not_family), registry.session() as s, s.begin():
        link_family(s, "admin", "p0002", "worker", "son", True)
    with pytest.raises(InvalidField, match="valid_until"), registry.session() as s, s.begin():
        add_chronic_registration(s, "worker", "p0003", "copd", date(2024, 1, 5), date(2023, 1, 1))


def test_rekey_moves_every_value_to_the_current_key(registry: Registry) -> None:
    rotated = FieldCipher(bytes(range(1, 33)), [bytes(range(32))])
    with registry.session() as session, session.begin():
        assert rekey(session, rotated) == 3 + 2  # three persons, two logins with phones
    only_new = FieldCipher(bytes(range(1, 33)))
    with registry.session() as session:
        for person in session.scalars(select(Person)):
            assert person.resident_id_enc and person.phone_enc
            number = only_new.decrypt(person.resident_id_enc)
            assert person.resident_id_index == only_new.blind_index(number)


def test_demo_persons_have_consistent_ids_and_insurance(registry: Registry) -> None:
    with registry.session() as session:
        people = {p.id: p for p in session.scalars(select(Person))}
    for person in people.values():
        assert person.resident_id_enc is not None
        parse_resident_id(CIPHER.decrypt(person.resident_id_enc), person.birth_date, person.sex)
    assert {p.medical_insurance_type for p in people.values()} == {
        "employee",
        "urban_rural_resident",
    }
    due = people["p0002"].pension_certification_due
    assert due is not None and date.today() < due <= date.today() + timedelta(days=30)
