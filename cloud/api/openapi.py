"""The OpenAPI 3.1 document for /api/v1; a test checks it lists exactly the served routes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from anxin import __version__

ERROR = {"$ref": "#/components/schemas/Error"}
JSON = "application/json"


def response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


ERRORS = {
    "400": response("the request was malformed; the message names the parameter", ERROR),
    "401": response("not logged in, or the session expired", ERROR),
}


def secured(operation: dict[str, Any]) -> dict[str, Any]:
    return operation | {"security": [{"bearer": []}], "responses": operation["responses"] | ERRORS}


class Area(Protocol):
    PATHS: dict[str, Any]
    SCHEMAS: dict[str, Any]


def openapi_document(prefix: str, areas: Iterable[Area] = ()) -> dict[str, Any]:
    document = _core_document(prefix)
    for area in areas:
        document["paths"].update(area.PATHS)
        document["components"]["schemas"].update(area.SCHEMAS)
    return document


def _core_document(prefix: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Anxin API", "version": __version__},
        "servers": [{"url": prefix}],
        "paths": {
            "/health": {
                "get": {
                    "summary": "Liveness",
                    "responses": {"200": response("up", {"type": "object"})},
                }
            },
            # /login, /logout and /me: account_routes.PATHS
            # /persons and /persons/{person_id}: registry_routes.PATHS
            # /alerts, /alerts/{alert_id}/… and /persons/{person_id}/alerts: alert_routes.PATHS
            "/gateways/enrol": {
                "post": {
                    "summary": "Exchange a one-time enrolment token for a gateway's identity and "
                    "broker credentials (no login: the token is the credential; never cached)",
                    "requestBody": {
                        "required": True,
                        "content": {JSON: {"schema": {"$ref": "#/components/schemas/Enrol"}}},
                    },
                    "responses": {
                        "200": response(
                            "enrolled; any earlier broker password of the gateway stops working",
                            {"$ref": "#/components/schemas/GatewayCredentials"},
                        ),
                        "400": response("no token, or a malformed or mistyped one", ERROR),
                        "403": response("unknown token", ERROR),
                        "410": response("token already used, replaced or expired", ERROR),
                        "429": response("too many refused tokens from this address", ERROR),
                        "503": response("the broker could not take the credentials", ERROR),
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": response("OpenAPI", {"type": "object"})},
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
                # Login, Session, User: account_openapi.SCHEMAS
                # Alert, AlertDetail and the lifecycle bodies: alert_openapi.SCHEMAS
            },
        },
    }
