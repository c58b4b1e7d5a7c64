"""Builds the aiohttp application: routes, middleware, OpenAPI document."""

from __future__ import annotations

from aiohttp import web

from anxin.cloud.api import (
    account_routes,
    alert_routes,
    care_routes,
    observation_routes,
    registry_routes,
)
from anxin.cloud.api.auth import make_auth_middleware
from anxin.cloud.api.context import ApiContext
from anxin.cloud.api.enrol import EnrolHandler
from anxin.cloud.api.handlers import Handlers
from anxin.cloud.api.openapi import openapi_document
from anxin.cloud.gateways.enrolment import Enrolment
from anxin.cloud.ingest.timeseries import TimeSeriesStore
from anxin.cloud.registry.registry import Registry
from anxin.config import ApiConfig, CloudConfig

API_PREFIX = "/api/v1"
AREAS = (registry_routes, alert_routes, care_routes, account_routes, observation_routes)


def create_app(
    registry: Registry,
    timeseries: TimeSeriesStore,
    session_ttl_s: int = 8 * 3600,
    enrolment: Enrolment | None = None,
    config: CloudConfig | None = None,
) -> web.Application:
    # Without a configuration (tests, embedding) no role is asked for a second factor;
    # a deployment's configuration asks workers and admins for one unless it says otherwise.
    config = config or CloudConfig(
        api=ApiConfig(session_ttl_s=session_ttl_s, second_factor_roles=())
    )
    context = ApiContext(registry, timeseries, config)
    handlers = Handlers(registry, timeseries, session_ttl_s)
    enrol = EnrolHandler(enrolment or Enrolment(registry, config))
    app = web.Application(
        middlewares=[make_auth_middleware(registry, API_PREFIX, config.api.session_idle_s)]
    )
    routes = [
        web.get(f"{API_PREFIX}/health", handlers.health),
        web.post(f"{API_PREFIX}/gateways/enrol", enrol.enrol),
    ]
    for area in AREAS:
        routes.extend(area.routes(context, API_PREFIX))
    app.add_routes(routes)
    document = openapi_document(API_PREFIX, AREAS)

    async def serve_openapi(_request: web.Request) -> web.Response:
        return web.json_response(document)

    app.router.add_get(f"{API_PREFIX}/openapi.json", serve_openapi)
    return app
