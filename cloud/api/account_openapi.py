"""OpenAPI path items and schemas of the account area (login, /me, /users, /audit)."""

from __future__ import annotations

from typing import Any

from anxin.cloud.api.openapi import ERROR, ERRORS, JSON, response, secured


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {JSON: {"schema": schema}}}


FORBIDDEN = response("the caller's role may not do this", ERROR)
ADMIN_ONLY = {"403": FORBIDDEN}
HHMM = {"type": ["string", "null"], "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"}
EMAIL = {"type": "string", "maxLength": 254, "pattern": r"^[^@\s]+@[^@\s]+\.[^@\s]+$"}
ROLE = {"enum": ["admin", "worker", "family", "recipient"]}

PATHS: dict[str, Any] = {
    "/login": {
        "post": {
            "summary": "Log in and receive a bearer token",
            "description": "Workers and admins (per api.second_factor_roles) also send 'totp'; "
            "one who has not enrolled a second factor gets a restricted session that may "
            "only enrol one (POST /me/totp), read /me and log out.",
            "requestBody": _body(_ref("Login")),
            "responses": {
                "200": response("logged in", _ref("Session")),
                "400": ERRORS["400"],
                "401": response(
                    "wrong username or password (bad_credentials), code missing "
                    "(totp_required) or wrong or reused (bad_totp)",
                    ERROR,
                ),
                "429": response("locked after repeated failures; see Retry-After", ERROR),
            },
        }
    },
    "/logout": {
        "post": secured(
            {
                "summary": "End the session",
                "responses": {"200": response("done", {"type": "object"})},
            }
        )
    },
    "/me": {
        "get": secured(
            {
                "summary": "The logged-in user, with their preferences",
                "responses": {"200": response("user", _ref("User"))},
            }
        )
    },
    "/me/totp": {
        "post": secured(
            {
                "summary": "Start enrolling a second factor (TOTP): a new secret, pending "
                "until a code from it is confirmed (admins, workers, and any role in "
                "api.second_factor_roles)",
                "responses": {
                    "200": response("the secret and its otpauth:// URI", _ref("TotpEnrolment")),
                    "400": response(
                        "the server has no encryption key for secrets (not_configured)", ERROR
                    ),
                    "403": FORBIDDEN,
                },
            }
        )
    },
    "/me/totp/confirm": {
        "post": secured(
            {
                "summary": "Confirm the pending second factor with a current code",
                "requestBody": _body(_ref("TotpConfirm")),
                "responses": {
                    "200": response("enrolled", {"type": "object"}),
                    "403": FORBIDDEN,
                    "409": response("no enrolment was started", ERROR),
                },
            }
        )
    },
    "/me/preferences": {
        "patch": secured(
            {
                "summary": "Change the caller's contact points and notification preferences",
                "requestBody": _body(_ref("Preferences")),
                "responses": {"200": response("user", _ref("User")), "403": FORBIDDEN},
            }
        )
    },
    "/users": {
        "get": secured(
            {
                "summary": "All user accounts (admin)",
                "parameters": [{"name": "role", "in": "query", "schema": ROLE}],
                "responses": {
                    "200": response("users", {"type": "array", "items": _ref("User")}),
                    **ADMIN_ONLY,
                },
            }
        ),
        "post": secured(
            {
                "summary": "Create a user of any role (admin); passwords need 10 characters",
                "requestBody": _body(_ref("UserCreate")),
                "responses": {
                    "201": response("created", _ref("User")),
                    **ADMIN_ONLY,
                    "409": response("the username is taken", ERROR),
                },
            }
        ),
    },
    "/audit": {
        "get": secured(
            {
                "summary": "Audit log entries, newest first (admin); this read is audited too",
                "parameters": [
                    {
                        "name": "person_id",
                        "in": "query",
                        "schema": {"type": "string", "minLength": 1, "maxLength": 32},
                    },
                    {
                        "name": "actor",
                        "in": "query",
                        "schema": {"type": "string", "minLength": 1, "maxLength": 64},
                    },
                    {
                        "name": "since",
                        "in": "query",
                        "schema": {"type": "string", "format": "date-time"},
                    },
                    {
                        "name": "before_id",
                        "in": "query",
                        "description": "next page: the next_before_id of the previous one",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 500},
                    },
                ],
                "responses": {"200": response("a page", _ref("AuditPage")), **ADMIN_ONLY},
            }
        )
    },
    "/audit/verify": {
        "get": secured(
            {
                "summary": "Walk the audit hash chain and report entries that do not fit (admin)",
                "responses": {
                    "200": response("the verification", _ref("AuditVerification")),
                    **ADMIN_ONLY,
                },
            }
        )
    },
}

SCHEMAS: dict[str, Any] = {
    "Login": {
        "type": "object",
        "required": ["username", "password"],
        "additionalProperties": False,
        "properties": {
            "username": {"type": "string"},
            "password": {"type": "string"},
            "totp": {"type": ["string", "null"], "description": "6-digit authenticator code"},
        },
    },
    "Session": {
        "type": "object",
        "properties": {
            "token": {"type": "string"},
            "expires_at": {"type": "string", "format": "date-time"},
            "idle_timeout_s": {"type": "integer"},
            "second_factor": {"enum": ["verified", "not_required", "enrolment_required"]},
            "user": _ref("User"),
        },
    },
    "User": {
        "type": "object",
        "properties": {
            "username": {"type": "string"},
            "display_name": {"type": "string"},
            "role": ROLE,
            "community": {"type": ["string", "null"]},
            "supervisor": {"type": ["string", "null"]},
            "person_id": {"type": ["string", "null"]},
            "disabled": {"type": "boolean"},
            "second_factor": {"enum": ["enrolled", "none"]},
            "restricted": {"type": "boolean"},
            "preferences": {
                "type": "object",
                "properties": {
                    "notify_channels": {"type": "array", "items": {"type": "string"}},
                    "notify_min_severity": {"type": "string"},
                    "quiet_start": {"type": ["string", "null"]},
                    "quiet_end": {"type": ["string", "null"]},
                    "timezone": {"type": "string"},
                    "email": {"type": ["string", "null"]},
                    "webhook_url": {"type": ["string", "null"]},
                    "phone": {"type": ["string", "null"], "description": "masked"},
                },
            },
        },
    },
    "TotpEnrolment": {
        "type": "object",
        "properties": {
            "secret": {"type": "string", "description": "base32"},
            "otpauth_uri": {"type": "string"},
            "confirmed": {"type": "boolean"},
        },
    },
    "TotpConfirm": {
        "type": "object",
        "required": ["code"],
        "additionalProperties": False,
        "properties": {"code": {"type": "string", "pattern": "^[0-9]{6}$"}},
    },
    "Preferences": {
        "type": "object",
        "additionalProperties": False,
        "description": "quiet_start and quiet_end go together",
        "properties": {
            "notify_channels": {
                "type": "array",
                "maxItems": 3,
                "uniqueItems": True,
                "items": {"enum": ["webhook", "email", "sms"]},
            },
            "notify_min_severity": {"enum": ["low", "medium", "high", "critical"]},
            "quiet_start": HHMM,
            "quiet_end": HHMM,
            "timezone": {
                "type": "string",
                "minLength": 1,
                "maxLength": 64,
                "description": "IANA name, e.g. Asia/Shanghai",
            },
            "email": EMAIL | {"type": ["string", "null"]},
            "webhook_url": {
                "type": ["string", "null"],
                "maxLength": 500,
                "pattern": r"^https://\S+$",
            },
            "phone": {"type": ["string", "null"], "pattern": r"^\+?[0-9]{6,20}$"},
        },
    },
    "UserCreate": {
        "type": "object",
        "required": ["username", "display_name", "role", "password"],
        "additionalProperties": False,
        "properties": {
            "username": {"type": "string", "pattern": "^[A-Za-z0-9_.@-]{1,64}$"},
            "display_name": {"type": "string", "minLength": 1, "maxLength": 64},
            "role": ROLE,
            "password": {"type": "string", "minLength": 10, "maxLength": 1024},
            "community": {
                "type": ["string", "null"],
                "minLength": 1,
                "maxLength": 64,
                "description": "required for a worker",
            },
            "supervisor": {"type": ["string", "null"], "minLength": 1, "maxLength": 64},
            "person_id": {
                "type": ["string", "null"],
                "minLength": 1,
                "maxLength": 32,
                "description": "required for a recipient",
            },
            "email": EMAIL | {"type": ["string", "null"]},
        },
    },
    "AuditEntry": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "at": {"type": "string", "format": "date-time"},
            "at_ms": {"type": "integer"},
            "actor": {"type": "string"},
            "action": {"type": "string"},
            "target": {"type": "string"},
            "person_id": {"type": ["string", "null"]},
            "detail": {"type": ["object", "null"]},
            "hash": {"type": "string"},
        },
    },
    "AuditPage": {
        "type": "object",
        "properties": {
            "entries": {"type": "array", "items": _ref("AuditEntry")},
            "next_before_id": {"type": ["integer", "null"]},
        },
    },
    "AuditVerification": {
        "type": "object",
        "properties": {
            "entries": {"type": "integer"},
            "intact": {"type": "boolean"},
            "problems": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "entry_id": {"type": ["integer", "null"]},
                        "what": {"type": "string"},
                    },
                },
            },
        },
    },
}
