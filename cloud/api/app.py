"""Builds the aiohttp application: routes, middleware, OpenAPI document."""

from __future__ import annotations

from aiohttp import web

from anxin.cloud.api import (
    account_routes,
    alert_routes,
    care_routes,
    enrol,
    handlers,
    observation_routes,
    openapi,
    registry_routes,
    security_routes,
)
from anxin.cloud.api.auth import make_auth_middleware
from anxin.cloud.api.context import ApiContext
from anxin.cloud.api.enrol import EnrolHandler
from anxin.cloud.api.error_middleware import json_errors
from anxin.cloud.api.handlers import Handlers
from anxin.cloud.api.json_body import MAX_BODY_BYTES
from anxin.cloud.api.openapi import OpenApi, openapi_document
from anxin.cloud.api.operation import bind
from anxin.cloud.gateways.enrolment import Enrolment
from anxin.cloud.ingest.timeseries import TimeSeriesStore
from anxin.cloud.registry.registry import Registry
from anxin.config import ApiConfig, CloudConfig

API_PREFIX = "/api/v1"
ROUTED = (
    registry_routes,
    alert_routes,
    care_routes,
    account_routes,
    observation_routes,
    security_routes,
)
# Every area's operations go into the document.
AREAS = (handlers, enrol, openapi, *ROUTED)


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
    app = web.Application(
        middlewares=[
            json_errors,
            make_auth_middleware(registry, API_PREFIX, config.api.session_idle_s),
        ],
        client_max_size=MAX_BODY_BYTES,
    )
    health = Handlers(registry, timeseries, session_ttl_s, config.ingest.stalled_after_s)
    routes = bind(health, API_PREFIX)
    routes += bind(EnrolHandler(enrolment or Enrolment(registry, config)), API_PREFIX)
    routes += bind(OpenApi(openapi_document(API_PREFIX, AREAS)), API_PREFIX)
    for area in ROUTED:
        routes.extend(area.routes(context, API_PREFIX))
    app.add_routes(routes)
    return app
