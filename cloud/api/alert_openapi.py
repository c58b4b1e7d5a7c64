"""OpenAPI path items and schemas of the alert routes (``alert_routes``)."""

from __future__ import annotations

from typing import Any

from anxin.cloud.api.openapi import ERROR, JSON, response, secured
from anxin.cloud.care.alert_lifecycle import ALL_STATUSES

STATUS_LIST_PATTERN = "^(?:{0})(?:,(?:{0}))*$".format("|".join(ALL_STATUSES))
MAX_ALERT_ID = 2_147_483_647
TEXT_LIMIT = 2000

ALERT_ID = {
    "name": "alert_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 0, "maximum": MAX_ALERT_ID},
}
PERSON_ID = {
    "name": "person_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "minLength": 1, "maxLength": 64},
}
STATUS_FILTER = {
    "name": "status",
    "in": "query",
    "description": "comma-separated: " + ", ".join(ALL_STATUSES),
    "schema": {"type": "string", "pattern": STATUS_LIST_PATTERN},
}
PERSON_FILTER = {
    "name": "person_id",
    "in": "query",
    "description": "only this person's alerts (404 when the caller may not see the person)",
    "schema": {"type": "string", "minLength": 1, "maxLength": 64},
}

FORBIDDEN = response("the caller's role may not do this", ERROR)
NOT_FOUND = response("unknown, or not visible to the caller", ERROR)
CONFLICT = response(
    "illegal_transition: the alert's status does not allow this (it may have just changed)",
    ERROR,
)
ALERT_LIST = response(
    "alerts, newest first", {"type": "array", "items": {"$ref": "#/components/schemas/Alert"}}
)
ALERT_DETAIL = response("the alert", {"$ref": "#/components/schemas/AlertDetail"})


def _text(description: str, min_length: int = 0) -> dict[str, Any]:
    return {
        "type": "string",
        "minLength": min_length,
        "maxLength": TEXT_LIMIT,
        "description": description,
    }


NOTE = _text("why, in a few words (kept with the transition)")


def _body(name: str, required: bool) -> dict[str, Any]:
    return {
        "required": required,
        "content": {JSON: {"schema": {"$ref": f"#/components/schemas/{name}"}}},
    }


def _step(summary: str, body: str, required: bool, who: str) -> dict[str, Any]:
    return {
        "post": secured(
            {
                "summary": summary,
                "description": who,
                "parameters": [ALERT_ID],
                "requestBody": _body(body, required),
                "responses": {
                    "200": ALERT_DETAIL,
                    "403": FORBIDDEN,
                    "404": NOT_FOUND,
                    "409": CONFLICT,
                },
            }
        )
    }


STAFF = "admin, or a worker of the person's community"

PATHS: dict[str, Any] = {
    "/alerts": {
        "get": secured(
            {
                "summary": "Alerts of the persons the caller may see, newest first",
                "parameters": [STATUS_FILTER, PERSON_FILTER],
                "responses": {"200": ALERT_LIST, "404": NOT_FOUND},
            }
        )
    },
    "/alerts/{alert_id}": {
        "get": secured(
            {
                "summary": "One alert with its transitions and notifications",
                "parameters": [ALERT_ID],
                "responses": {"200": ALERT_DETAIL, "404": NOT_FOUND},
            }
        )
    },
    "/alerts/{alert_id}/acknowledge": _step(
        "Acknowledge an open alert (stops its escalation)",
        "AlertNote",
        False,
        STAFF + ", or a linked family member",
    ),
    "/alerts/{alert_id}/start": _step(
        "Start work on an open or acknowledged alert", "AlertNote", False, STAFF
    ),
    "/alerts/{alert_id}/resolve": _step(
        "Resolve an acknowledged or in-progress alert, saying what happened",
        "AlertResolve",
        True,
        STAFF,
    ),
    "/alerts/{alert_id}/dismiss": _step(
        "Dismiss an alert that needs nothing (a false alarm), saying why",
        "AlertDismiss",
        True,
        STAFF,
    ),
    "/alerts/{alert_id}/assign": _step(
        "Assign an active alert to a worker of the person's community",
        "AlertAssign",
        True,
        STAFF,
    ),
    "/persons/{person_id}/alerts": {
        "get": secured(
            {
                "summary": "One person's alerts, newest first",
                "parameters": [PERSON_ID, STATUS_FILTER],
                "responses": {"200": ALERT_LIST, "404": NOT_FOUND},
            }
        )
    },
}

_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
_NULLABLE_TEXT = {"type": ["string", "null"]}

SCHEMAS: dict[str, Any] = {
    "Alert": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "person_id": {"type": ["string", "null"]},
            "person_name": {"type": ["string", "null"]},
            "device_id": {"type": "string"},
            "kind": {"type": "string"},
            "severity": {"enum": ["low", "medium", "high", "critical"]},
            "status": {"enum": list(ALL_STATUSES)},
            "raised_at": {"type": "string", "format": "date-time"},
            "last_raised_at": {"type": "string", "format": "date-time"},
            "received_at": {"type": "string", "format": "date-time"},
            "delay_ms": {"type": "integer", "description": "gateway raise to cloud receipt"},
            "occurrences": {"type": "integer"},
            "observation": {"type": ["string", "null"]},
            "value": {"type": ["number", "null"]},
            "threshold": {"type": ["number", "null"]},
            "message": {"type": "string"},
            "evidence": {
                "type": ["object", "null"],
                "description": "what triggered it: values and their window",
                "additionalProperties": {"type": ["number", "string", "boolean"]},
            },
            "acknowledged_at": _NULLABLE_TIME,
            "acknowledged_by": _NULLABLE_TEXT,
            "assigned_to": _NULLABLE_TEXT,
            "closed_at": _NULLABLE_TIME,
            "closed_by": _NULLABLE_TEXT,
            "outcome": {
                "type": ["string", "null"],
                "description": "resolved: what happened; dismissed: why",
            },
            "escalation_level": {
                "type": "integer",
                "minimum": 0,
                "maximum": 3,
                "description": "0 nobody told yet, 1 family, 2 community worker, 3 supervisor",
            },
            "next_escalation_at": _NULLABLE_TIME,
        },
    },
    "AlertDetail": {
        "allOf": [
            {"$ref": "#/components/schemas/Alert"},
            {
                "type": "object",
                "properties": {
                    "transitions": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/AlertTransition"},
                    },
                    "notifications": {
                        "type": "array",
                        "description": "all of them for staff; a family member's or "
                        "recipient's own only",
                        "items": {"$ref": "#/components/schemas/AlertNotification"},
                    },
                },
            },
        ]
    },
    "AlertTransition": {
        "type": "object",
        "properties": {
            "from_status": {"type": ["string", "null"]},
            "to_status": {"type": "string"},
            "actor": {"type": "string", "description": "a username, gateway:<id> or system:<what>"},
            "at": {"type": "string", "format": "date-time"},
            "note": {"type": "string"},
        },
    },
    "AlertNotification": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "recipient": {"type": "string"},
            "channel": {"enum": ["webhook", "email", "sms"]},
            "escalation_level": {"type": "integer"},
            "status": {
                "enum": [
                    "pending",
                    "sent",
                    "logged",
                    "failed",
                    "suppressed_rate_limit",
                ]
            },
            "attempts": {"type": "integer"},
            "created_at": {"type": "string", "format": "date-time"},
            "next_attempt_at": _NULLABLE_TIME,
            "sent_at": _NULLABLE_TIME,
            "detail": {"type": "string"},
        },
    },
    "AlertNote": {
        "type": "object",
        "additionalProperties": False,
        "properties": {"note": NOTE},
    },
    "AlertResolve": {
        "type": "object",
        "additionalProperties": False,
        "required": ["outcome"],
        "properties": {
            "outcome": _text("what happened (for example: visited, she was fine)", 1),
            "note": NOTE,
        },
    },
    "AlertDismiss": {
        "type": "object",
        "additionalProperties": False,
        "required": ["reason"],
        "properties": {
            "reason": _text("why nothing is needed (for example: button pressed by mistake)", 1),
            "note": NOTE,
        },
    },
    "AlertAssign": {
        "type": "object",
        "additionalProperties": False,
        "required": ["worker"],
        "properties": {
            "worker": {"type": "string", "minLength": 1, "maxLength": 64},
            "note": NOTE,
        },
    },
}
