"""The demo persons' insurance records: resident IDs, phones, insurance, registrations, consents.

Resident IDs are valid (check digit, birth date and sex agree with the person) but made up.
Dates that matter to follow-ups (the pension certification) are set relative to today, so
the demo always shows one coming up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from anxin.cloud.database.models import ChronicRegistration, Consent, Person, User
from anxin.cloud.registry.field_crypto import FieldCipher
from anxin.cloud.registry.registry import Registry, now_ms
from anxin.cloud.registry.resident_id import make_resident_id


@dataclass(frozen=True)
class DemoInsurance:
    region_code: str  # where the resident ID was issued and the person is insured
    medical_insurance_type: str
    ltc_insurance_status: str = "none"
    ltc_assessed_level: int | None = None
    hypertension_outpatient: bool = False
    pension_certification_in_days: int | None = None


# One per demo person (homes.PEOPLE), in the same order.
INSURANCE = (
    DemoInsurance("110105", "employee", hypertension_outpatient=True),
    DemoInsurance("110105", "urban_rural_resident", "insured", 2, pension_certification_in_days=20),
    DemoInsurance("110108", "employee"),
    DemoInsurance("110105", "urban_rural_resident", "receiving", 3),
    DemoInsurance("110101", "urban_rural_resident"),
)
LOGIN_PHONES = {"family": "13900001111", "worker": "13700002222"}
FAMILY_DOCTOR = "社区卫生服务中心 周医生"


def demo_phone(number: int) -> str:
    return f"1380000{number:04d}"


def seed_insured(
    registry: Registry,
    persons: Sequence[tuple[str, int, int]],
    cipher: FieldCipher | None,
    today: date | None = None,
) -> None:
    """Fill in ``persons`` (person id, home number, index into INSURANCE); without a cipher
    the resident IDs and phones are left out (they are only ever stored encrypted)."""
    today = today or date.today()
    with registry.session() as session, session.begin():
        for person_id, number, index in persons:
            person = session.get(Person, person_id)
            if person is None:
                continue
            plan = INSURANCE[index % len(INSURANCE)]
            person.insured_region_code = plan.region_code
            person.medical_insurance_type = plan.medical_insurance_type
            person.ltc_insurance_status = plan.ltc_insurance_status
            person.ltc_assessed_level = plan.ltc_assessed_level
            person.family_doctor = FAMILY_DOCTOR
            person.family_doctor_contract_until = date(today.year + 1, 1, 1)
            if cipher is not None:
                resident_id = make_resident_id(
                    plan.region_code, person.birth_date, person.sex, number % 100
                )
                person.resident_id_enc = cipher.encrypt(resident_id)
                person.resident_id_index = cipher.blind_index(resident_id)
                person.phone_enc = cipher.encrypt(demo_phone(number))
            if plan.hypertension_outpatient:
                session.add(
                    ChronicRegistration(
                        person_id=person_id,
                        condition="hypertension",
                        registered_on=today - timedelta(days=400),
                    )
                )
            if plan.pension_certification_in_days is not None:
                due = today + timedelta(days=plan.pension_certification_in_days)
                person.pension_certification_due = due
                session.add(
                    Consent(
                        person_id=person_id,
                        data_scope="wear_record",
                        grantee="pension_office",
                        purpose="养老金领取资格认证（以可穿戴设备佩戴记录作为生存证明）",
                        granted_at_ms=now_ms() - 30 * 86_400_000,
                        valid_until=due + timedelta(days=30),
                        recorded_by="worker",
                    )
                )
        if cipher is not None:
            for username, phone in LOGIN_PHONES.items():
                user = session.get(User, username)
                if user is not None:
                    user.phone_enc = cipher.encrypt(phone)
