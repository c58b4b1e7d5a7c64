"""What the registry routes answer: persons, family, workers, devices, bindings, gateways,
enrolment tokens, consents. Resident IDs and phone numbers only ever leave masked."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from anxin.cloud.api.operation import Day, Moment, Reply
from anxin.cloud.api.registry_bodies import LtcStatus, MedicalInsurance
from anxin.cloud.registry.consents import DATA_SCOPES, GRANTEES

MASKED = "masked"


class ChronicRegistration(Reply):
    id: int
    condition: str
    registered_on: Day
    valid_until: Day | None


class LatestReading(Reply):
    value: float
    unit: str = Field(description="UCUM")
    ts: Moment


class PersonDevice(Reply):
    id: str
    kind: str
    state: str


class Person(Reply):
    id: str
    name: str
    name_latin: str
    sex: Literal["F", "M"]
    age: int
    birth_date: Day
    community: str
    address: str
    site_id: str | None
    resident_id: str | None = Field(
        description="masked: first 6 and last 4 characters", examples=["110105********0021"]
    )
    phone: str | None = Field(description=MASKED, examples=["138****5678"])
    insured_region_code: str | None
    medical_insurance_type: MedicalInsurance | None
    ltc_insurance_status: LtcStatus
    ltc_assessed_level: int | None
    family_doctor: str | None
    family_doctor_contract_until: Day | None
    pension_certification_due: Day | None
    chronic_registrations: list[ChronicRegistration]
    latest: dict[Literal["heart_rate", "spo2"], LatestReading] = Field(
        description="the newest heart_rate and spo2 of the last 10 minutes, when there is one"
    )
    open_alerts: int
    devices: list[PersonDevice]


class FamilyMember(Reply):
    username: str
    display_name: str
    relation: str
    notify: bool
    phone: str | None = Field(description=MASKED)


class FamilyUnlinked(Reply):
    person_id: str
    username: str
    unlinked: bool


class Worker(Reply):
    username: str
    display_name: str
    community: str | None
    supervisor: str | None
    phone: str | None = Field(description=MASKED)


class Binding(Reply):
    id: int
    device_id: str
    person_id: str
    valid_from: Moment
    valid_to: Moment | None
    active: bool


class Device(Reply):
    id: str
    gateway_id: str
    site_id: str
    kind: str
    address: str
    state: str
    person_id: str | None = Field(
        description="who it is bound to now, when the caller may see them"
    )
    binding_id: int | None


class Gateway(Reply):
    id: str
    site_id: str
    online: bool
    last_seen: Moment | None
    enrolled: bool = Field(description="has broker credentials")


class EnrolmentToken(Reply):
    token: str = Field(description="anxin1.…, shown once")
    site_id: str
    gateway_id: str
    api_url: str
    expires_at: Moment


class Consent(Reply):
    id: int
    person_id: str
    data_scope: Literal[DATA_SCOPES]  # type: ignore[valid-type]
    grantee: Literal[GRANTEES]  # type: ignore[valid-type]
    grantee_username: str | None = Field(description="grantee family: the account consented to")
    purpose: str
    granted_at: Moment
    valid_until: Day | None
    revoked_at: Moment | None
    recorded_by: str
    in_force_today: bool
