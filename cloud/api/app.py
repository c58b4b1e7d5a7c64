"""Builds the aiohttp application: routes, middleware, OpenAPI document."""

from __future__ import annotations

from aiohttp import web

from anxin.cloud.api.auth import make_auth_middleware
from anxin.cloud.api.enrol import EnrolHandler
from anxin.cloud.api.handlers import Handlers
from anxin.cloud.api.openapi import openapi_document
from anxin.cloud.enrolment import Enrolment
from anxin.cloud.registry import Registry
from anxin.cloud.timeseries import TimeSeriesStore
from anxin.config import CloudConfig

API_PREFIX = "/api/v1"


def create_app(
    registry: Registry,
    timeseries: TimeSeriesStore,
    session_ttl_s: int = 8 * 3600,
    enrolment: Enrolment | None = None,
) -> web.Application:
    handlers = Handlers(registry, timeseries, session_ttl_s)
    enrol = EnrolHandler(enrolment or Enrolment(registry, CloudConfig()))
    app = web.Application(middlewares=[make_auth_middleware(registry, API_PREFIX)])
    routes = [
        web.get(f"{API_PREFIX}/health", handlers.health),
        web.post(f"{API_PREFIX}/login", handlers.login),
        web.post(f"{API_PREFIX}/logout", handlers.logout),
        web.get(f"{API_PREFIX}/me", handlers.me),
        web.get(f"{API_PREFIX}/persons", handlers.persons),
        web.get(f"{API_PREFIX}/persons/{{person_id}}", handlers.person),
        web.get(f"{API_PREFIX}/persons/{{person_id}}/observations", handlers.observations),
        web.get(f"{API_PREFIX}/alerts", handlers.alerts),
        web.post(f"{API_PREFIX}/gateways/enrol", enrol.enrol),
    ]
    app.add_routes(routes)
    document = openapi_document(API_PREFIX)

    async def serve_openapi(_request: web.Request) -> web.Response:
        return web.json_response(document)

    app.router.add_get(f"{API_PREFIX}/openapi.json", serve_openapi)
    return app
