"""GET /security-events: messages ingest refused because of who sent them (a gateway never
enrolled, a device of another site), per gateway, claimed site and reason. Admins only."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from anxin.cloud.api.context import ApiContext
from anxin.cloud.api.handlers import iso
from anxin.cloud.api.operation import Answer, Moment, Reply, bind, operation, operations_of
from anxin.cloud.registry import security_events

__all__ = ["OPERATIONS", "routes"]


class SecurityEventsQuery(BaseModel):
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=1_000_000)


class SecurityEvent(Reply):
    id: int
    gateway_id: str
    site_id: str = Field(description="the site the gateway claimed (its topic)")
    reason: str = Field(description="e.g. 'device hr-1 belongs to site home-1, not home-2'")
    count: int = Field(description="messages refused for this reason")
    first_seen: Moment
    last_seen: Moment


class SecurityEventPage(Reply):
    events: list[SecurityEvent]
    total: int
    limit: int
    offset: int


class SecurityApi:
    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx

    @operation(
        "GET",
        "/security-events",
        "Messages refused because of who sent them, newest first (admin)",
        {200: Answer("a page of security events", SecurityEventPage), 403: Answer("not an admin")},
        query=SecurityEventsQuery,
        roles=("admin",),
    )
    async def security_events(
        self, _request: web.Request, query: SecurityEventsQuery
    ) -> dict[str, Any]:
        found = await asyncio.to_thread(
            security_events.page, self.ctx.registry, query.limit, query.offset
        )
        return {
            "events": [
                {
                    "id": event.id,
                    "gateway_id": event.gateway_id,
                    "site_id": event.site_id,
                    "reason": event.reason,
                    "count": event.count,
                    "first_seen": iso(event.first_seen_ms),
                    "last_seen": iso(event.last_seen_ms),
                }
                for event in found.events
            ],
            "total": found.total,
            "limit": query.limit,
            "offset": query.offset,
        }


OPERATIONS = operations_of(SecurityApi)


def routes(ctx: ApiContext, prefix: str) -> list[web.RouteDef]:
    return bind(SecurityApi(ctx), prefix)
