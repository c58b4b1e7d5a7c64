"""FHIR R4 export: a person as a Patient, their vital signs as Observations in a Bundle.

Observations follow the R4 vital-signs profiles (http://hl7.org/fhir/R4/observation-vitalsigns.html):
category ``vital-signs``, a LOINC code per profile, a UCUM ``valueQuantity``
(system http://unitsofmeasure.org), ``effectiveDateTime`` and the subject. Oxygen
saturation carries 2708-6, which the R4 oxygensat profile requires, with 59408-5 (by pulse
oximetry) as a second coding. Blood pressure is one 85354-9 panel per cuff reading with
systolic (8480-6) and diastolic (8462-4) components; a component that was not received
has a ``dataAbsentReason`` instead of a value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from anxin.cloud.database.models import Person
from anxin.cloud.ingest.timeseries import StoredObservation

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
ABSENT_SYSTEM = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
IDENTIFIER_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0203"
DEVICE_SYSTEM = "urn:anxin:device-id"
VITALSIGNS_PROFILE = "http://hl7.org/fhir/StructureDefinition/vitalsigns"


@dataclass(frozen=True)
class Coding:
    code: str
    display: str


@dataclass(frozen=True)
class VitalSign:
    codings: tuple[Coding, ...]
    text: str
    unit: str
    unit_display: str
    profile: str


VITAL_SIGNS: dict[str, VitalSign] = {
    "heart_rate": VitalSign(
        (Coding("8867-4", "Heart rate"),), "Heart rate", "/min", "beats/minute", "heartrate"
    ),
    # An oximeter's pulse rate is a heart rate measurement too (same LOINC code).
    "pulse_rate": VitalSign(
        (Coding("8867-4", "Heart rate"),), "Heart rate", "/min", "beats/minute", "heartrate"
    ),
    "spo2": VitalSign(
        (
            Coding("2708-6", "Oxygen saturation in Arterial blood"),
            Coding("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
        ),
        "Oxygen saturation",
        "%",
        "%",
        "oxygensat",
    ),
    "body_temperature": VitalSign(
        (Coding("8310-5", "Body temperature"),), "Body temperature", "Cel", "C", "bodytemp"
    ),
    "respiration_rate": VitalSign(
        (Coding("9279-1", "Respiratory rate"),),
        "Respiratory rate",
        "/min",
        "breaths/minute",
        "resprate",
    ),
    "body_weight": VitalSign(
        (Coding("29463-7", "Body weight"),), "Body weight", "kg", "kg", "bodyweight"
    ),
}
BP_PANEL = Coding("85354-9", "Blood pressure panel with all children optional")
BP_COMPONENTS = (
    ("systolic_bp", Coding("8480-6", "Systolic blood pressure")),
    ("diastolic_bp", Coding("8462-4", "Diastolic blood pressure")),
)
# The observation types a Bundle is built from.
EXPORTED_TYPES: tuple[str, ...] = (
    *(name for name in VITAL_SIGNS if name != "respiration_rate"),
    "systolic_bp",
    "diastolic_bp",
)
GENDERS = {"F": "female", "M": "male"}


def fhir_instant(ts_ms: int) -> str:
    moment = datetime.fromtimestamp(ts_ms / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def patient(person: Person, resident_id: str | None = None) -> dict[str, Any]:
    """The Patient resource; ``resident_id`` (the plain number) only for callers allowed it."""
    names = [{"use": "official", "text": person.name}]
    if person.name_latin:
        names.append({"use": "usual", "text": person.name_latin})
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": person.id,
        "active": True,
        "name": names,
        "gender": GENDERS.get(person.sex, "unknown"),
        "birthDate": person.birth_date.isoformat(),
    }
    if person.address:
        resource["address"] = [{"use": "home", "text": person.address, "country": "CN"}]
    if resident_id:
        resource["identifier"] = [
            {
                "use": "official",
                "type": {
                    "coding": [
                        {
                            "system": IDENTIFIER_TYPE_SYSTEM,
                            "code": "NNCHN",
                            "display": "National Person Identifier where CHN is the country",
                        }
                    ],
                    "text": "居民身份证号码",
                },
                "value": resident_id,
            }
        ]
    return resource


def _code(codings: Iterable[Coding], text: str) -> dict[str, Any]:
    return {
        "coding": [{"system": LOINC, "code": c.code, "display": c.display} for c in codings],
        "text": text,
    }


def _quantity(value: float, unit: str, display: str) -> dict[str, Any]:
    return {"value": value, "unit": display, "system": UCUM, "code": unit}


def _absent() -> dict[str, Any]:
    return {
        "coding": [{"system": ABSENT_SYSTEM, "code": "unknown", "display": "Unknown"}],
        "text": "not received from the device",
    }


def _base(
    resource_id: str, profile: str, code: dict[str, Any], person_id: str, ts_ms: int, device: str
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": resource_id,
        "meta": {"profile": [f"http://hl7.org/fhir/StructureDefinition/{profile}"]},
        "status": "final",
        "category": [
            {
                "coding": [
                    {"system": CATEGORY_SYSTEM, "code": "vital-signs", "display": "Vital Signs"}
                ],
                "text": "Vital Signs",
            }
        ],
        "code": code,
        "subject": {"reference": f"Patient/{person_id}"},
        "effectiveDateTime": fhir_instant(ts_ms),
        "device": {"identifier": {"system": DEVICE_SYSTEM, "value": device}, "display": device},
    }


def _resource_id(row: StoredObservation) -> str:
    # FHIR ids allow [A-Za-z0-9.-]{1,64}; (gateway, seq) is unique per stored reading.
    safe = "".join(ch if ch.isalnum() or ch in ".-" else "-" for ch in row.gateway_id)
    return f"{safe[:40]}.{row.seq}"


def vital_sign_observation(row: StoredObservation) -> dict[str, Any]:
    sign = VITAL_SIGNS[row.type]
    resource = _base(
        _resource_id(row),
        sign.profile,
        _code(sign.codings, sign.text),
        row.person_id or "",
        row.ts_ms,
        row.device_id,
    )
    resource["valueQuantity"] = _quantity(row.value, sign.unit, sign.unit_display)
    return resource


def blood_pressure_panel(person_id: str, parts: Mapping[str, StoredObservation]) -> dict[str, Any]:
    """One panel from a cuff reading's systolic and/or diastolic rows (same device and time)."""
    first = min(parts.values(), key=lambda row: row.seq)
    resource = _base(
        _resource_id(first) + "-bp",
        "bp",
        _code((BP_PANEL,), "Blood pressure"),
        person_id,
        first.ts_ms,
        first.device_id,
    )
    components = []
    for type_name, coding in BP_COMPONENTS:
        component: dict[str, Any] = {"code": _code((coding,), coding.display)}
        row = parts.get(type_name)
        if row is None:
            component["dataAbsentReason"] = _absent()
        else:
            component["valueQuantity"] = _quantity(row.value, "mm[Hg]", "mmHg")
        components.append(component)
    resource["component"] = components
    return resource


def observations(person_id: str, rows: Sequence[StoredObservation]) -> list[dict[str, Any]]:
    """Observation resources for a person's stored rows, in time order."""
    resources: list[tuple[int, dict[str, Any]]] = []
    cuff_readings: dict[tuple[str, int], dict[str, StoredObservation]] = {}
    for row in rows:
        if row.type in VITAL_SIGNS:
            resources.append((row.ts_ms, vital_sign_observation(row)))
        elif row.type in ("systolic_bp", "diastolic_bp"):
            cuff_readings.setdefault((row.device_id, row.ts_ms), {})[row.type] = row
    for (_device, ts_ms), parts in cuff_readings.items():
        resources.append((ts_ms, blood_pressure_panel(person_id, parts)))
    resources.sort(key=lambda item: (item[0], item[1]["id"]))
    return [resource for _, resource in resources]


def searchset(resources: Sequence[dict[str, Any]], self_url: str, base_url: str) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "link": [{"relation": "self", "url": self_url}],
        "entry": [
            {
                "fullUrl": f"{base_url}/{resource['resourceType']}/{resource['id']}",
                "resource": resource,
                "search": {"mode": "match"},
            }
            for resource in resources
        ],
    }
