"""Request bodies of the registry routes (persons, family, bindings, consents, gateways)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from anxin.cloud.registry.consents import DATA_SCOPES, GRANTEES

PERSON_ID = r"^[A-Za-z0-9_.-]{1,32}$"
SITE_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
USERNAME = r"^[A-Za-z0-9_.@-]{1,64}$"
# Printable text: no control characters (PostgreSQL refuses NUL in text columns).
TEXT = r"^[^\x00-\x1f\x7f]*$"
EARLIEST_BIRTH = date(1880, 1, 1)
PersonId = Annotated[str, Field(pattern=PERSON_ID)]
SiteId = Annotated[str, Field(pattern=SITE_ID)]
CHRONIC_CONDITIONS = (
    "hypertension",
    "diabetes",
    "coronary_heart_disease",
    "cerebrovascular_disease",
    "copd",
    "chronic_heart_failure",
    "chronic_kidney_disease",
    "parkinsons_disease",
    "dementia",
    "malignant_tumour",
)
MedicalInsurance = Literal["employee", "urban_rural_resident"]
LtcStatus = Literal["none", "applied", "insured", "receiving"]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _birth_date_in_range(value: date | None) -> date | None:
    if value is not None and not EARLIEST_BIRTH <= value <= date.today():
        raise ValueError(f"must be between {EARLIEST_BIRTH.isoformat()} and today")
    return value


class PersonCreate(Body):
    id: str | None = Field(default=None, pattern=PERSON_ID)
    name: str = Field(min_length=1, max_length=64, pattern=TEXT)
    name_latin: str = Field(default="", max_length=64, pattern=TEXT)
    birth_date: date
    sex: Literal["F", "M"]
    community: str = Field(min_length=1, max_length=64, pattern=TEXT)
    address: str = Field(default="", max_length=200, pattern=TEXT)
    site_id: str | None = Field(default=None, pattern=SITE_ID)
    resident_id: str | None = Field(default=None, min_length=1, max_length=32, pattern=TEXT)
    phone: str | None = Field(default=None, min_length=1, max_length=32, pattern=TEXT)
    insured_region_code: str | None = Field(default=None, pattern=r"^[0-9]{6}$")
    medical_insurance_type: MedicalInsurance | None = None
    ltc_insurance_status: LtcStatus = "none"
    # Disability level of the national LTC assessment standard: 0 (none) to 5 (severe III).
    ltc_assessed_level: int | None = Field(default=None, ge=0, le=5)
    family_doctor: str | None = Field(default=None, max_length=64, pattern=TEXT)
    family_doctor_contract_until: date | None = None
    pension_certification_due: date | None = None

    _birth = field_validator("birth_date")(_birth_date_in_range)


class PersonPatch(Body):
    """Only the fields sent change; null clears an optional field."""

    name: str = Field(default=None, min_length=1, max_length=64, pattern=TEXT)  # type: ignore[assignment]
    name_latin: str = Field(default=None, max_length=64, pattern=TEXT)  # type: ignore[assignment]
    birth_date: date = Field(default=None)  # type: ignore[assignment]
    sex: Literal["F", "M"] = Field(default=None)  # type: ignore[assignment]
    community: str = Field(default=None, min_length=1, max_length=64, pattern=TEXT)  # type: ignore[assignment]
    address: str = Field(default=None, max_length=200, pattern=TEXT)  # type: ignore[assignment]
    site_id: str | None = Field(default=None, pattern=SITE_ID)
    resident_id: str | None = Field(default=None, min_length=1, max_length=32, pattern=TEXT)
    phone: str | None = Field(default=None, min_length=1, max_length=32, pattern=TEXT)
    insured_region_code: str | None = Field(default=None, pattern=r"^[0-9]{6}$")
    medical_insurance_type: MedicalInsurance | None = None
    ltc_insurance_status: LtcStatus = Field(default=None)  # type: ignore[assignment]
    ltc_assessed_level: int | None = Field(default=None, ge=0, le=5)
    family_doctor: str | None = Field(default=None, max_length=64, pattern=TEXT)
    family_doctor_contract_until: date | None = None
    pension_certification_due: date | None = None

    _birth = field_validator("birth_date")(_birth_date_in_range)

    def changes(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class ChronicRegistrationCreate(Body):
    condition: Literal[CHRONIC_CONDITIONS]  # type: ignore[valid-type]
    registered_on: date
    valid_until: date | None = None


class FamilyLinkCreate(Body):
    username: str = Field(pattern=USERNAME)
    relation: str = Field(min_length=1, max_length=32, pattern=TEXT)
    notify: bool = True


def _moment(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if not datetime(2000, 1, 1, tzinfo=UTC) <= value <= datetime(2200, 1, 1, tzinfo=UTC):
        raise ValueError("must be between the years 2000 and 2200")
    return value


def to_ms(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp() * 1000)


class BindingCreate(Body):
    device_id: str = Field(pattern=SITE_ID)
    valid_from: datetime | None = None
    valid_to: datetime | None = None

    _moments = field_validator("valid_from", "valid_to")(_moment)


class BindingEnd(Body):
    at: datetime | None = None

    _moments = field_validator("at")(_moment)


class ConsentCreate(Body):
    data_scope: Literal[DATA_SCOPES]  # type: ignore[valid-type]
    grantee: Literal[GRANTEES]  # type: ignore[valid-type]
    # For grantee "family": the one family account consented to (lets a worker link it).
    grantee_username: str | None = Field(default=None, pattern=USERNAME)
    purpose: str = Field(min_length=1, max_length=500, pattern=TEXT)
    valid_until: date | None = None


class EnrolmentTokenCreate(Body):
    site_id: str | None = Field(default=None, pattern=SITE_ID)
    valid_hours: float | None = Field(default=None, gt=0, le=720)
