"""The OpenAPI 3.1 document for /api/v1; a test checks it lists exactly the served routes."""

from __future__ import annotations

from typing import Any

from anxin import __version__
from anxin.protocol import UNITS

_ERROR = {"$ref": "#/components/schemas/Error"}
_JSON = "application/json"


def _response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {_JSON: {"schema": schema}}}


_ERRORS = {
    "400": _response("the request was malformed; the message names the parameter", _ERROR),
    "401": _response("not logged in, or the session expired", _ERROR),
}


def _secured(operation: dict[str, Any]) -> dict[str, Any]:
    return operation | {"security": [{"bearer": []}], "responses": operation["responses"] | _ERRORS}


def openapi_document(prefix: str) -> dict[str, Any]:
    person_id = {"name": "person_id", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Anxin API", "version": __version__},
        "servers": [{"url": prefix}],
        "paths": {
            "/health": {
                "get": {
                    "summary": "Liveness",
                    "responses": {"200": _response("up", {"type": "object"})},
                }
            },
            "/login": {
                "post": {
                    "summary": "Log in and receive a bearer token",
                    "requestBody": {
                        "required": True,
                        "content": {_JSON: {"schema": {"$ref": "#/components/schemas/Login"}}},
                    },
                    "responses": {
                        "200": _response("logged in", {"$ref": "#/components/schemas/Session"}),
                        "400": _ERRORS["400"],
                        "401": _response("wrong username or password", _ERROR),
                    },
                }
            },
            "/logout": {
                "post": _secured(
                    {"summary": "End the session", "responses": {"200": {"description": "done"}}}
                )
            },
            "/me": {
                "get": _secured(
                    {
                        "summary": "The logged-in user",
                        "responses": {
                            "200": _response("user", {"$ref": "#/components/schemas/User"})
                        },
                    }
                )
            },
            "/persons": {
                "get": _secured(
                    {
                        "summary": "Recipients the caller may see, with latest vitals and open alert count",
                        "responses": {
                            "200": _response(
                                "persons",
                                {"type": "array", "items": {"$ref": "#/components/schemas/Person"}},
                            )
                        },
                    }
                )
            },
            "/persons/{person_id}": {
                "get": _secured(
                    {
                        "summary": "One recipient",
                        "parameters": [person_id],
                        "responses": {
                            "200": _response("person", {"$ref": "#/components/schemas/Person"}),
                            "404": _response("unknown, or not visible to the caller", _ERROR),
                        },
                    }
                )
            },
            "/persons/{person_id}/observations": {
                "get": _secured(
                    {
                        "summary": "A recipient's observations of one type, oldest first",
                        "parameters": [
                            person_id,
                            {
                                "name": "type",
                                "in": "query",
                                "required": True,
                                "schema": {"enum": list(UNITS)},
                            },
                            {
                                "name": "since",
                                "in": "query",
                                "schema": {"type": "string", "format": "date-time"},
                            },
                            {
                                "name": "until",
                                "in": "query",
                                "schema": {"type": "string", "format": "date-time"},
                            },
                            {
                                "name": "limit",
                                "in": "query",
                                "schema": {"type": "integer", "minimum": 1, "maximum": 50000},
                            },
                        ],
                        "responses": {
                            "200": _response(
                                "observations", {"$ref": "#/components/schemas/ObservationSeries"}
                            ),
                            "404": _response("unknown, or not visible to the caller", _ERROR),
                        },
                    }
                )
            },
            "/alerts": {
                "get": _secured(
                    {
                        "summary": "Alerts for the recipients the caller may see, newest first",
                        "parameters": [
                            {
                                "name": "status",
                                "in": "query",
                                "description": "comma-separated: open, acknowledged, in_progress, resolved, dismissed",
                                "schema": {"type": "string"},
                            }
                        ],
                        "responses": {
                            "200": _response(
                                "alerts",
                                {"type": "array", "items": {"$ref": "#/components/schemas/Alert"}},
                            )
                        },
                    }
                )
            },
            "/gateways/enrol": {
                "post": {
                    "summary": "Exchange a one-time enrolment token for a gateway's identity and "
                    "broker credentials (no login: the token is the credential; never cached)",
                    "requestBody": {
                        "required": True,
                        "content": {_JSON: {"schema": {"$ref": "#/components/schemas/Enrol"}}},
                    },
                    "responses": {
                        "200": _response(
                            "enrolled; any earlier broker password of the gateway stops working",
                            {"$ref": "#/components/schemas/GatewayCredentials"},
                        ),
                        "400": _response("no token, or a malformed or mistyped one", _ERROR),
                        "403": _response("unknown token", _ERROR),
                        "410": _response("token already used, replaced or expired", _ERROR),
                        "429": _response("too many refused tokens from this address", _ERROR),
                        "503": _response("the broker could not take the credentials", _ERROR),
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": _response("OpenAPI", {"type": "object"})},
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {
                        "error": {
                            "type": "object",
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                            },
                        }
                    },
                },
                "Enrol": {
                    "type": "object",
                    "required": ["token"],
                    "properties": {"token": {"type": "string", "description": "anxin1.…"}},
                },
                "GatewayCredentials": {
                    "type": "object",
                    "properties": {
                        "site_id": {"type": "string"},
                        "gateway_id": {"type": "string"},
                        "topic_root": {"type": "string"},
                        "mqtt_host": {"type": "string"},
                        "mqtt_port": {"type": "integer"},
                        "mqtt_protocol": {"enum": ["auto", "3.1.1", "5"]},
                        "username": {"type": "string"},
                        "password": {"type": "string"},
                        "ca_pem": {
                            "type": ["string", "null"],
                            "description": "CA certificate of the broker's TLS listener",
                        },
                    },
                },
                "Login": {
                    "type": "object",
                    "required": ["username", "password"],
                    "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
                },
                "User": {
                    "type": "object",
                    "properties": {
                        "username": {"type": "string"},
                        "display_name": {"type": "string"},
                        "role": {"enum": ["admin", "worker", "family"]},
                        "community": {"type": ["string", "null"]},
                    },
                },
                "Session": {
                    "type": "object",
                    "properties": {
                        "token": {"type": "string"},
                        "expires_at": {"type": "string", "format": "date-time"},
                        "user": {"$ref": "#/components/schemas/User"},
                    },
                },
                "Person": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"},
                        "name": {"type": "string"},
                        "name_latin": {"type": "string"},
                        "sex": {"enum": ["F", "M"]},
                        "age": {"type": "integer"},
                        "community": {"type": "string"},
                        "site_id": {"type": ["string", "null"]},
                        "latest": {
                            "type": "object",
                            "description": "heart_rate and spo2: value, unit, ts",
                        },
                        "open_alerts": {"type": "integer"},
                        "devices": {"type": "array", "items": {"type": "object"}},
                    },
                },
                "ObservationSeries": {
                    "type": "object",
                    "properties": {
                        "person_id": {"type": "string"},
                        "type": {"type": "string"},
                        "unit": {"type": "string", "description": "UCUM"},
                        "since": {"type": "string", "format": "date-time"},
                        "observations": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "ts": {"type": "string", "format": "date-time"},
                                    "ts_ms": {"type": "integer"},
                                    "value": {"type": "number"},
                                    "device_id": {"type": "string"},
                                },
                            },
                        },
                    },
                },
                "Alert": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "person_id": {"type": ["string", "null"]},
                        "person_name": {"type": ["string", "null"]},
                        "device_id": {"type": "string"},
                        "kind": {"type": "string"},
                        "severity": {"enum": ["low", "medium", "high", "critical"]},
                        "status": {"type": "string"},
                        "raised_at": {"type": "string", "format": "date-time"},
                        "last_raised_at": {"type": "string", "format": "date-time"},
                        "received_at": {"type": "string", "format": "date-time"},
                        "delay_ms": {
                            "type": "integer",
                            "description": "gateway raise to cloud receipt",
                        },
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
                    },
                },
            },
        },
    }
