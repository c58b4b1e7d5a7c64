"""OpenAPI paths and schemas of the care area: interventions, assessments, follow-ups."""

from __future__ import annotations

from typing import Any

from anxin.cloud.api.openapi import ERROR, JSON, response, secured
from anxin.cloud.care.barthel import BANDS, ITEMS
from anxin.cloud.care.interventions import KINDS, STATUSES

USERNAME = "^[A-Za-z0-9_.@-]{1,64}$"
PERSON_ID = "^[A-Za-z0-9_.-]{1,32}$"
RULE_ID = "^[a-z][a-z0-9_]{0,63}$"
NOT_FOUND = response("unknown, or not visible to the caller", ERROR)
FORBIDDEN = response("the caller's role may not do this", ERROR)
CONFLICT = response("the task or follow-up is in a status that does not allow this", ERROR)


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _array(name: str) -> dict[str, Any]:
    return {"type": "array", "items": _ref(name)}


def _body(name: str) -> dict[str, Any]:
    return {"required": True, "content": {JSON: {"schema": _ref(name)}}}


def _path(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _query(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    parameter = {"name": name, "in": "query", "required": False, "schema": schema}
    return parameter | ({"description": description} if description else {})


PERSON = _path("person_id", {"type": "string", "pattern": PERSON_ID})
ID = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
INTERVENTION = _path("intervention_id", ID)
FOLLOW_UP = _path("follow_up_id", ID)
ALERT = _path("alert_id", ID)
TEXT = {"type": "string", "maxLength": 4000}
REQUIRED_TEXT = {"type": "string", "minLength": 1, "maxLength": 4000}


def _operation(summary: str, ok: dict[str, Any], **extra: Any) -> dict[str, Any]:
    responses = {"200": ok} | extra.pop("responses", {})
    return secured({"summary": summary, "responses": responses} | extra)


def _transition(summary: str, body: str | None) -> dict[str, Any]:
    extra: dict[str, Any] = {
        "parameters": [INTERVENTION],
        "responses": {"403": FORBIDDEN, "404": NOT_FOUND, "409": CONFLICT},
    }
    if body:
        extra["requestBody"] = _body(body)
    return {
        "post": _operation(
            summary + " (409 illegal_transition from a status that does not allow it)",
            response("the intervention", _ref("Intervention")),
            **extra,
        )
    }


PATHS: dict[str, Any] = {
    "/persons/{person_id}/interventions": {
        "get": _operation(
            "A person's care tasks, newest first",
            response("interventions", _array("Intervention")),
            parameters=[PERSON, _query("status", {"enum": list(STATUSES)})],
            responses={"404": NOT_FOUND},
        ),
        "post": secured(
            {
                "summary": "Create a care task for a person (admin, worker of the community)",
                "parameters": [PERSON],
                "requestBody": _body("InterventionCreateForPerson"),
                "responses": {
                    "201": response("created", _ref("Intervention")),
                    "403": FORBIDDEN,
                    "404": NOT_FOUND,
                },
            }
        ),
    },
    "/interventions": {
        "get": _operation(
            "Care tasks the caller may see (a worker: their community's and those assigned "
            "to them), newest first, at most 1000",
            response("interventions", _array("Intervention")),
            parameters=[
                _query("status", {"enum": list(STATUSES)}),
                _query("kind", {"enum": list(KINDS)}),
                _query("assigned_to", {"type": "string", "pattern": USERNAME}),
                _query("person_id", {"type": "string", "pattern": PERSON_ID}),
            ],
        )
    },
    "/interventions/{intervention_id}": {
        "get": _operation(
            "One care task",
            response("the intervention", _ref("Intervention")),
            parameters=[INTERVENTION],
            responses={"404": NOT_FOUND},
        ),
        "patch": _operation(
            "Reassign, reschedule or annotate an open or in-progress task",
            response("the intervention", _ref("Intervention")),
            parameters=[INTERVENTION],
            requestBody=_body("InterventionPatch"),
            responses={"403": FORBIDDEN, "404": NOT_FOUND},
        ),
    },
    "/interventions/{intervention_id}/start": _transition("open -> in_progress", None),
    "/interventions/{intervention_id}/complete": _transition(
        "in_progress -> done, with the outcome", "InterventionComplete"
    ),
    "/interventions/{intervention_id}/cancel": _transition(
        "open or in_progress -> cancelled, with the reason", "InterventionCancel"
    ),
    "/alerts/{alert_id}/interventions": {
        "post": secured(
            {
                "summary": "Create a care task from an alert (for the alert's person)",
                "parameters": [ALERT],
                "requestBody": _body("InterventionCreate"),
                "responses": {
                    "201": response("created", _ref("Intervention")),
                    "403": FORBIDDEN,
                    "404": NOT_FOUND,
                },
            }
        )
    },
    "/persons/{person_id}/assessments": {
        "get": _operation(
            "A person's Barthel Index assessments, newest first",
            response("assessments", _array("BarthelAssessment")),
            parameters=[PERSON],
            responses={"404": NOT_FOUND},
        ),
        "post": secured(
            {
                "summary": "Record a Barthel Index assessment; the total is computed here "
                "(a sent total that disagrees is refused)",
                "parameters": [PERSON],
                "requestBody": _body("BarthelAssessmentCreate"),
                "responses": {
                    "201": response("recorded", _ref("BarthelAssessment")),
                    "403": FORBIDDEN,
                    "404": NOT_FOUND,
                },
            }
        ),
    },
    "/follow-ups": {
        "get": _operation(
            "Insurance follow-ups raised by the rules (admin, worker), newest first",
            response("follow-ups", _array("FollowUp")),
            parameters=[
                _query("status", {"enum": ["open", "done", "dismissed"]}),
                _query("person_id", {"type": "string", "pattern": PERSON_ID}),
                _query("rule_id", {"type": "string", "pattern": RULE_ID}),
            ],
            responses={"403": FORBIDDEN},
        )
    },
    "/follow-ups/evaluate": {
        "post": _operation(
            "Run the follow-up rules now (admin), for everyone or one person",
            response("the follow-ups raised", _ref("EvaluateResult")),
            requestBody=_body("Evaluate"),
            responses={"403": FORBIDDEN},
        )
    },
    "/follow-ups/{follow_up_id}": {
        "get": _operation(
            "One follow-up with its evidence and its interventions",
            response("the follow-up", _ref("FollowUp")),
            parameters=[FOLLOW_UP],
            responses={"403": FORBIDDEN, "404": NOT_FOUND},
        )
    },
    "/follow-ups/{follow_up_id}/close": {
        "post": _operation(
            "Close an open follow-up: done, or dismissed (409 illegal_transition if closed)",
            response("the follow-up", _ref("FollowUp")),
            parameters=[FOLLOW_UP],
            requestBody=_body("FollowUpClose"),
            responses={"403": FORBIDDEN, "404": NOT_FOUND, "409": CONFLICT},
        )
    },
    "/follow-up-rules": {
        "get": _operation(
            "The follow-up rules in force, to explain what raises a follow-up",
            response("rules", _ref("FollowUpRules")),
            responses={"403": FORBIDDEN},
        )
    },
}

_NULLABLE_MS = {"type": ["integer", "null"]}
_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
_CREATE_PROPERTIES: dict[str, Any] = {
    "kind": {"enum": list(KINDS)},
    "assigned_to": {
        "type": ["string", "null"],
        "pattern": USERNAME,
        "description": "a worker of the person's community; unset: the one with fewest tasks",
    },
    "due_at": {
        "type": ["string", "null"],
        "format": "date-time",
        "description": "unset: a default per kind",
    },
    "notes": TEXT,
}

SCHEMAS: dict[str, Any] = {
    "Intervention": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "person_id": {"type": "string"},
            "person_name": {"type": ["string", "null"]},
            "kind": {"enum": list(KINDS)},
            "alert_id": _NULLABLE_MS,
            "follow_up_id": _NULLABLE_MS,
            "status": {"enum": list(STATUSES)},
            "assigned_to": {"type": ["string", "null"]},
            "due_at_ms": _NULLABLE_MS,
            "due_at": _NULLABLE_TIME,
            "created_by": {"type": "string"},
            "created_at_ms": {"type": "integer"},
            "created_at": {"type": "string", "format": "date-time"},
            "completed_at_ms": _NULLABLE_MS,
            "completed_at": _NULLABLE_TIME,
            "outcome": {
                "type": ["string", "null"],
                "description": "done: what happened; cancelled: why",
            },
            "notes": {"type": "string"},
        },
    },
    "InterventionCreate": {
        "type": "object",
        "required": ["kind"],
        "additionalProperties": False,
        "properties": _CREATE_PROPERTIES,
    },
    "InterventionCreateForPerson": {
        "type": "object",
        "required": ["kind"],
        "additionalProperties": False,
        "properties": _CREATE_PROPERTIES
        | {"alert_id": {"type": ["integer", "null"], "minimum": 1, "maximum": 2**31 - 1}},
    },
    "InterventionPatch": {
        "type": "object",
        "minProperties": 1,
        "additionalProperties": False,
        "properties": {
            "assigned_to": {"type": "string", "pattern": USERNAME},
            "due_at": {"type": "string", "format": "date-time"},
            "notes": TEXT,
        },
    },
    "InterventionComplete": {
        "type": "object",
        "required": ["outcome"],
        "additionalProperties": False,
        "properties": {"outcome": REQUIRED_TEXT},
    },
    "InterventionCancel": {
        "type": "object",
        "required": ["reason"],
        "additionalProperties": False,
        "properties": {"reason": REQUIRED_TEXT},
    },
    "BarthelItems": {
        "type": "object",
        "description": "Barthel Index (Mahoney & Barthel 1965), each item's allowed scores",
        "required": list(ITEMS),
        "additionalProperties": False,
        "properties": {name: {"enum": list(scores)} for name, scores in ITEMS.items()},
    },
    "BarthelAssessmentCreate": {
        "type": "object",
        "required": ["assessed_on", "items"],
        "additionalProperties": False,
        "properties": {
            "assessed_on": {"type": "string", "format": "date", "description": "not in the future"},
            "items": _ref("BarthelItems"),
            "total": {"type": ["integer", "null"], "description": "if sent, must match items"},
            "assessed_by": {
                "type": ["string", "null"],
                "minLength": 1,
                "maxLength": 64,
                "description": "unset: the caller",
            },
            "notes": TEXT,
        },
    },
    "BarthelAssessment": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "person_id": {"type": "string"},
            "assessed_on": {"type": "string", "format": "date"},
            "assessed_by": {"type": "string"},
            "items": _ref("BarthelItems"),
            "total": {"type": "integer", "minimum": 0, "maximum": 100},
            "band": {
                "enum": [band.name for band in BANDS],
                "description": "Shah et al. 1989: 0-20 total, 21-60 severe, 61-90 moderate, "
                "91-99 slight, 100 independent",
            },
            "band_zh": {"type": "string"},
            "band_en": {"type": "string"},
            "notes": {"type": "string"},
            "recorded_at_ms": {"type": "integer"},
        },
    },
    "FollowUp": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "person_id": {"type": "string"},
            "rule_id": {"type": "string"},
            "action": {"enum": list(KINDS)},
            "status": {"enum": ["open", "done", "dismissed"]},
            "explanation_zh": {"type": "string"},
            "explanation_en": {"type": "string"},
            "evidence": {
                "type": "object",
                "description": "each condition's finding with the readings, dates and alert "
                "ids it saw, and attachments (a wear record, or why it was withheld)",
            },
            "created_at_ms": {"type": "integer"},
            "closed_at_ms": _NULLABLE_MS,
            "interventions": _array("Intervention"),
        },
    },
    "FollowUpClose": {
        "type": "object",
        "required": ["status"],
        "additionalProperties": False,
        "properties": {"status": {"enum": ["done", "dismissed"]}, "note": TEXT},
    },
    "Evaluate": {
        "type": "object",
        "additionalProperties": False,
        "properties": {"person_id": {"type": ["string", "null"], "pattern": PERSON_ID}},
    },
    "EvaluateResult": {
        "type": "object",
        "properties": {"raised": _array("FollowUp")},
    },
    "FollowUpRules": {
        "type": "object",
        "properties": {
            "source": {"type": "string"},
            "timezone": {"type": "string"},
            "rules": {"type": "array", "items": {"type": "object"}},
        },
    },
}
