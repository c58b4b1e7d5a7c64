"""The OpenAPI description of the registry routes: paths relative to the API prefix, and schemas.

Request bodies are described by their pydantic models, so the document and the checks agree.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from anxin.cloud.api.openapi import ERROR, JSON, response, secured
from anxin.cloud.api.registry_bodies import (
    PERSON_ID,
    SITE_ID,
    BindingCreate,
    BindingEnd,
    ChronicRegistrationCreate,
    ConsentCreate,
    EnrolmentTokenCreate,
    FamilyLinkCreate,
    PersonCreate,
    PersonPatch,
)


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _list_of(name: str) -> dict[str, Any]:
    return {"type": "array", "items": _ref(name)}


def _body(name: str, required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {JSON: {"schema": _ref(name)}}}


def _path(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema}


PERSON_PARAM = _path("person_id", {"type": "string", "pattern": PERSON_ID})
# Row ids are 32-bit integers (PostgreSQL INTEGER).
ROW_ID = {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}
BINDING_PARAM = _path("binding_id", ROW_ID)
CONSENT_PARAM = _path("consent_id", ROW_ID)
GATEWAY_PARAM = _path("gateway_id", {"type": "string", "pattern": SITE_ID})

FORBIDDEN = response("the caller's role may not do this", ERROR)
NOT_FOUND = response("no such person (or one the caller may not see)", ERROR)
CONFLICT = response("contradicts what is stored (duplicate, overlapping, already done)", ERROR)
NO_KEY = response("no encryption key is configured for resident IDs and phones", ERROR)


def _op(
    summary: str,
    ok: dict[str, Any],
    params: list[dict[str, Any]] | None = None,
    body: str | None = None,
    body_required: bool = True,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    responses = {**ok, "403": FORBIDDEN, "404": NOT_FOUND, **(extra or {})}
    operation: dict[str, Any] = {"summary": summary, "responses": responses}
    if params:
        operation["parameters"] = params
    if body:
        operation["requestBody"] = _body(body, body_required)
    return secured(operation)


PATHS: dict[str, Any] = {
    "/persons": {
        "get": _op(
            "Persons the caller may see, with latest vitals, open alert count and insurance "
            "fields (resident ID and phone masked)",
            {"200": response("persons", _list_of("Person"))},
        ),
        "post": _op(
            "Enrol a person (admin; worker within their community)",
            {"201": response("enrolled", _ref("Person"))},
            body="PersonCreate",
            extra={"409": CONFLICT, "503": NO_KEY},
        ),
    },
    "/persons/{person_id}": {
        "get": _op("One person", {"200": response("person", _ref("Person"))}, [PERSON_PARAM]),
        "patch": _op(
            "Change a person's fields (only those sent; null clears an optional one)",
            {"200": response("person", _ref("Person"))},
            [PERSON_PARAM],
            "PersonPatch",
            extra={"409": CONFLICT, "503": NO_KEY},
        ),
    },
    "/persons/{person_id}/chronic-registrations": {
        "get": _op(
            "The person's chronic-disease outpatient registrations",
            {"200": response("registrations", _list_of("ChronicRegistration"))},
            [PERSON_PARAM],
        ),
        "post": _op(
            "Record a chronic-disease outpatient registration",
            {"201": response("recorded", _ref("ChronicRegistration"))},
            [PERSON_PARAM],
            "ChronicRegistrationCreate",
        ),
    },
    "/persons/{person_id}/family": {
        "get": _op(
            "Family members linked to the person (phones masked)",
            {"200": response("family", _list_of("FamilyMember"))},
            [PERSON_PARAM],
        ),
        "post": _op(
            "Link a family account to the person, or change its relation and notify flag",
            {"201": response("linked", _ref("FamilyMember"))},
            [PERSON_PARAM],
            "FamilyLinkCreate",
        ),
    },
    "/persons/{person_id}/bindings": {
        "get": _op(
            "The person's device bindings, newest first",
            {"200": response("bindings", _list_of("Binding"))},
            [PERSON_PARAM],
        ),
        "post": _op(
            "Bind a device to the person (refused while it is bound to anyone)",
            {"201": response("bound", _ref("Binding"))},
            [PERSON_PARAM],
            "BindingCreate",
            extra={"409": CONFLICT},
        ),
    },
    "/bindings/{binding_id}/end": {
        "post": _op(
            "End a binding (now, or at the time given)",
            {"200": response("ended", _ref("Binding"))},
            [BINDING_PARAM],
            "BindingEnd",
            body_required=False,
            extra={"409": CONFLICT},
        )
    },
    "/persons/{person_id}/consents": {
        "get": _op(
            "The person's consents, newest first",
            {"200": response("consents", _list_of("Consent"))},
            [PERSON_PARAM],
        ),
        "post": _op(
            "Record a consent",
            {"201": response("recorded", _ref("Consent"))},
            [PERSON_PARAM],
            "ConsentCreate",
        ),
    },
    "/consents/{consent_id}/revoke": {
        "post": _op(
            "Revoke a consent",
            {"200": response("revoked", _ref("Consent"))},
            [CONSENT_PARAM],
            extra={"409": CONFLICT},
        )
    },
    "/workers": {
        "get": _op(
            "Community health workers (admin: all; worker: their community)",
            {"200": response("workers", _list_of("Worker"))},
        )
    },
    "/devices": {
        "get": _op(
            "Devices at the homes of the persons the caller may see (admin: all)",
            {"200": response("devices", _list_of("Device"))},
        )
    },
    "/gateways": {
        "get": _op(
            "Gateways (admin: all; worker: at their community's homes)",
            {"200": response("gateways", _list_of("Gateway"))},
        )
    },
    "/gateways/{gateway_id}/enrolment-tokens": {
        "post": _op(
            "Issue a one-time enrolment token for a gateway (admin); an earlier unused one "
            "stops working",
            {"201": response("issued", _ref("EnrolmentToken"))},
            [GATEWAY_PARAM],
            "EnrolmentTokenCreate",
        )
    },
}

_NULLABLE_STRING = {"type": ["string", "null"]}
_NULLABLE_DATE = {"type": ["string", "null"], "format": "date"}
_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}


def _model(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    schema.pop("title", None)
    return schema


SCHEMAS: dict[str, Any] = {
    "PersonCreate": _model(PersonCreate),
    "PersonPatch": _model(PersonPatch),
    "ChronicRegistrationCreate": _model(ChronicRegistrationCreate),
    "FamilyLinkCreate": _model(FamilyLinkCreate),
    "BindingCreate": _model(BindingCreate),
    "BindingEnd": _model(BindingEnd),
    "ConsentCreate": _model(ConsentCreate),
    "EnrolmentTokenCreate": _model(EnrolmentTokenCreate),
    "Person": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "name_latin": {"type": "string"},
            "sex": {"enum": ["F", "M"]},
            "age": {"type": "integer"},
            "birth_date": {"type": "string", "format": "date"},
            "community": {"type": "string"},
            "address": {"type": "string"},
            "site_id": _NULLABLE_STRING,
            "resident_id": {
                "type": ["string", "null"],
                "description": "masked: first 6 and last 4 characters",
                "examples": ["110105********0021"],
            },
            "phone": {
                "type": ["string", "null"],
                "description": "masked",
                "examples": ["138****5678"],
            },
            "insured_region_code": _NULLABLE_STRING,
            "medical_insurance_type": {"enum": ["employee", "urban_rural_resident", None]},
            "ltc_insurance_status": {"enum": ["none", "applied", "insured", "receiving"]},
            "ltc_assessed_level": {"type": ["integer", "null"]},
            "family_doctor": _NULLABLE_STRING,
            "family_doctor_contract_until": _NULLABLE_DATE,
            "pension_certification_due": _NULLABLE_DATE,
            "chronic_registrations": _list_of("ChronicRegistration"),
            "latest": {"type": "object", "description": "heart_rate and spo2: value, unit, ts"},
            "open_alerts": {"type": "integer"},
            "devices": {"type": "array", "items": {"type": "object"}},
        },
    },
    "ChronicRegistration": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "condition": {"type": "string"},
            "registered_on": {"type": "string", "format": "date"},
            "valid_until": _NULLABLE_DATE,
        },
    },
    "FamilyMember": {
        "type": "object",
        "properties": {
            "username": {"type": "string"},
            "display_name": {"type": "string"},
            "relation": {"type": "string"},
            "notify": {"type": "boolean"},
            "phone": {"type": ["string", "null"], "description": "masked"},
        },
    },
    "Worker": {
        "type": "object",
        "properties": {
            "username": {"type": "string"},
            "display_name": {"type": "string"},
            "community": _NULLABLE_STRING,
            "supervisor": _NULLABLE_STRING,
            "phone": {"type": ["string", "null"], "description": "masked"},
        },
    },
    "Binding": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "device_id": {"type": "string"},
            "person_id": {"type": "string"},
            "valid_from": {"type": "string", "format": "date-time"},
            "valid_to": _NULLABLE_TIME,
            "active": {"type": "boolean"},
        },
    },
    "Device": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "gateway_id": {"type": "string"},
            "site_id": {"type": "string"},
            "kind": {"type": "string"},
            "address": {"type": "string"},
            "state": {"type": "string"},
            "person_id": {
                "type": ["string", "null"],
                "description": "who it is bound to now, when the caller may see them",
            },
            "binding_id": {"type": ["integer", "null"]},
        },
    },
    "Gateway": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "site_id": {"type": "string"},
            "online": {"type": "boolean"},
            "last_seen": _NULLABLE_TIME,
            "enrolled": {"type": "boolean", "description": "has broker credentials"},
        },
    },
    "EnrolmentToken": {
        "type": "object",
        "properties": {
            "token": {"type": "string", "description": "anxin1.…, shown once"},
            "site_id": {"type": "string"},
            "gateway_id": {"type": "string"},
            "api_url": {"type": "string"},
            "expires_at": {"type": "string", "format": "date-time"},
        },
    },
    "Consent": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "person_id": {"type": "string"},
            "data_scope": {"enum": ["vitals", "alerts", "wear_record", "insurance_record"]},
            "grantee": {"enum": ["family", "community_worker", "insurer", "pension_office", "gp"]},
            "purpose": {"type": "string"},
            "granted_at": {"type": "string", "format": "date-time"},
            "valid_until": _NULLABLE_DATE,
            "revoked_at": _NULLABLE_TIME,
            "recorded_by": {"type": "string"},
            "in_force_today": {"type": "boolean"},
        },
    },
}
