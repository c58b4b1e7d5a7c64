"""API routes for alerts and their lifecycle.

Who may do what: everyone reads the alerts of the persons they may see (anyone else's
alert answers 404); admins and workers of the person's community acknowledge, start,
resolve, dismiss and assign; a family member may acknowledge the alerts of linked
persons; a recipient only reads.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, StringConstraints
from sqlalchemy import select

from anxin.cloud.api.alert_openapi import MAX_ALERT_ID, PATHS, SCHEMAS, TEXT_LIMIT
from anxin.cloud.api.auth import principal_of, require_role
from anxin.cloud.api.body import read_body
from anxin.cloud.api.context import ApiContext
from anxin.cloud.api.errors import error
from anxin.cloud.care import alert_lifecycle
from anxin.cloud.care.alert_lifecycle import ALL_STATUSES, LifecycleError
from anxin.cloud.database.models import Alert, AlertTransition, Notification
from anxin.cloud.registry.registry import Principal, Registry

__all__ = ["PATHS", "SCHEMAS", "alert_json", "routes"]

STAFF = ("admin", "worker")
# Who may take each step (scoping to the person comes after).
ACTORS = {
    "acknowledge": ("admin", "worker", "family"),
    "start": STAFF,
    "resolve": STAFF,
    "dismiss": STAFF,
}

Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=TEXT_LIMIT)]
Required = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TEXT_LIMIT)
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoteBody(Strict):
    note: Text = ""


class ResolveBody(Strict):
    outcome: Required
    note: Text = ""


class DismissBody(Strict):
    reason: Required
    note: Text = ""


class AssignBody(Strict):
    worker: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    note: Text = ""


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def alert_json(alert: Alert, person_name: str | None) -> dict[str, Any]:
    return {
        "id": alert.id,
        "person_id": alert.person_id,
        "person_name": person_name,
        "device_id": alert.device_id,
        "kind": alert.kind,
        "severity": alert.severity,
        "status": alert.status,
        "raised_at": iso(alert.raised_at_ms),
        "last_raised_at": iso(alert.last_raised_at_ms),
        "received_at": iso(alert.received_at_ms),
        "delay_ms": alert.received_at_ms - alert.raised_at_ms,
        "occurrences": alert.occurrences,
        "observation": alert.observation,
        "value": alert.value,
        "threshold": alert.threshold,
        "message": alert.message,
        "evidence": alert.evidence,
        "acknowledged_at": iso(alert.acknowledged_at_ms),
        "acknowledged_by": alert.acknowledged_by,
        "assigned_to": alert.assigned_to,
        "closed_at": iso(alert.closed_at_ms),
        "closed_by": alert.closed_by,
        "outcome": alert.outcome,
        "escalation_level": alert.escalation_level,
        "next_escalation_at": iso(alert.next_escalation_at_ms),
    }


def _transition_json(row: AlertTransition) -> dict[str, Any]:
    return {
        "from_status": row.from_status,
        "to_status": row.to_status,
        "actor": row.actor,
        "at": iso(row.at_ms),
        "note": row.note,
    }


def _notification_json(row: Notification) -> dict[str, Any]:
    return {
        "id": row.id,
        "recipient": row.recipient,
        "channel": row.channel,
        "escalation_level": row.escalation_level,
        "status": row.status,
        "attempts": row.attempts,
        "created_at": iso(row.created_at_ms),
        "next_attempt_at": iso(row.next_attempt_at_ms) if row.status == "pending" else None,
        "sent_at": iso(row.sent_at_ms),
        "detail": row.detail,
    }


def _statuses(request: web.Request) -> list[str]:
    statuses = [s for s in request.query.get("status", "").split(",") if s]
    unknown = [s for s in statuses if s not in ALL_STATUSES]
    if unknown:
        raise error(
            400,
            "bad_parameter",
            f"'status': unknown status {unknown[0]!r}; use {', '.join(ALL_STATUSES)}",
        )
    return statuses


def _alert_id(request: web.Request) -> int:
    text = request.match_info["alert_id"]
    if not text.isdigit() or len(text) > 15:
        raise error(400, "bad_parameter", f"'alert_id' must be a whole number, got '{text}'")
    return int(text)


async def _optional_body(request: web.Request, model: type[NoteBody]) -> NoteBody:
    """An empty body is the same as ``{}`` (acknowledging needs nothing more)."""
    if not (await request.read()).strip():
        return model()
    return await read_body(request, model)


class AlertHandlers:
    def __init__(self, ctx: ApiContext) -> None:
        self.registry: Registry = ctx.registry

    # --- reads ------------------------------------------------------------------------

    async def list_alerts(self, request: web.Request) -> web.Response:
        statuses = _statuses(request)
        person_id = request.query.get("person_id")
        return web.json_response(await self._listing(request, statuses, person_id))

    async def person_alerts(self, request: web.Request) -> web.Response:
        statuses = _statuses(request)
        person_id = request.match_info["person_id"]
        return web.json_response(await self._listing(request, statuses, person_id))

    async def _listing(
        self, request: web.Request, statuses: list[str], person_id: str | None
    ) -> list[dict[str, Any]]:
        principal = principal_of(request)
        if person_id is not None and not await asyncio.to_thread(
            self.registry.can_see_person, principal, person_id
        ):
            raise error(404, "not_found", "no such person that you may see")
        alerts = await asyncio.to_thread(
            self.registry.alerts_visible_to, principal, statuses or None
        )
        names = {
            p.id: p.name
            for p in await asyncio.to_thread(self.registry.persons_visible_to, principal)
        }
        return [
            alert_json(alert, names.get(alert.person_id or ""))
            for alert in alerts
            if person_id is None or alert.person_id == person_id
        ]

    async def get_alert(self, request: web.Request) -> web.Response:
        alert_id = _alert_id(request)
        principal = principal_of(request)
        return web.json_response(await asyncio.to_thread(self._detail, principal, alert_id))

    def _visible_alert(self, principal: Principal, alert_id: int) -> Alert:
        """The alert if the caller may see it; 404 (the same as a missing one) otherwise."""
        alert = None
        if alert_id <= MAX_ALERT_ID:
            with self.registry.session() as session:
                alert = session.get(Alert, alert_id)
        visible = alert is not None and (
            principal.role == "admin"
            or (
                alert.person_id is not None
                and self.registry.can_see_person(principal, alert.person_id)
            )
        )
        if alert is None or not visible:
            raise error(404, "not_found", f"no alert {alert_id} that you may see")
        return alert

    def _detail(self, principal: Principal, alert_id: int) -> dict[str, Any]:
        alert = self._visible_alert(principal, alert_id)
        with self.registry.session() as session:
            alert = session.get(Alert, alert_id) or alert
            transitions = alert_lifecycle.transitions_of(session, alert_id)
            query = select(Notification).where(Notification.alert_id == alert_id)
            if principal.role not in STAFF:
                query = query.where(Notification.recipient == principal.username)
            notifications = list(session.scalars(query.order_by(Notification.id)))
            name = None
            if alert.person_id:
                names = {p.id: p.name for p in self.registry.persons_visible_to(principal)}
                name = names.get(alert.person_id)
        return alert_json(alert, name) | {
            "transitions": [_transition_json(t) for t in transitions],
            "notifications": [_notification_json(n) for n in notifications],
        }

    # --- steps ------------------------------------------------------------------------

    async def acknowledge(self, request: web.Request) -> web.Response:
        require_role(request, *ACTORS["acknowledge"])
        body = await _optional_body(request, NoteBody)
        return await self._step(request, "acknowledge", body.note)

    async def start(self, request: web.Request) -> web.Response:
        require_role(request, *ACTORS["start"])
        body = await _optional_body(request, NoteBody)
        return await self._step(request, "start", body.note)

    async def resolve(self, request: web.Request) -> web.Response:
        require_role(request, *ACTORS["resolve"])
        body = await read_body(request, ResolveBody)
        return await self._step(request, "resolve", body.note, body.outcome)

    async def dismiss(self, request: web.Request) -> web.Response:
        require_role(request, *ACTORS["dismiss"])
        body = await read_body(request, DismissBody)
        return await self._step(request, "dismiss", body.note, body.reason)

    async def assign(self, request: web.Request) -> web.Response:
        principal = require_role(request, *STAFF)
        alert_id = _alert_id(request)
        body = await read_body(request, AssignBody)

        def work() -> dict[str, Any]:
            self._visible_alert(principal, alert_id)
            with self.registry.session() as session:
                try:
                    alert_lifecycle.assign(
                        session, alert_id, body.worker, principal.username, body.note
                    )
                except LifecycleError as exc:
                    raise _http_error(exc) from None
            return self._detail(principal, alert_id)

        return web.json_response(await asyncio.to_thread(work))

    async def _step(
        self, request: web.Request, action: str, note: str, outcome: str | None = None
    ) -> web.Response:
        principal = principal_of(request)
        alert_id = _alert_id(request)

        def work() -> dict[str, Any]:
            self._visible_alert(principal, alert_id)
            with self.registry.session() as session:
                try:
                    alert_lifecycle.transition(
                        session, alert_id, action, principal.username, note, outcome
                    )
                except LifecycleError as exc:
                    raise _http_error(exc) from None
                except ValueError as exc:
                    raise error(400, "bad_parameter", str(exc)) from None
            return self._detail(principal, alert_id)

        return web.json_response(await asyncio.to_thread(work))


def _http_error(exc: LifecycleError) -> web.HTTPException:
    status = {"not_found": 404, "illegal_transition": 409, "bad_parameter": 400}.get(exc.code, 400)
    return error(status, exc.code, str(exc))


def routes(ctx: ApiContext, prefix: str) -> list[web.RouteDef]:
    handlers = AlertHandlers(ctx)
    one = f"{prefix}/alerts/{{alert_id}}"
    return [
        web.get(f"{prefix}/alerts", handlers.list_alerts),
        web.get(one, handlers.get_alert),
        web.post(f"{one}/acknowledge", handlers.acknowledge),
        web.post(f"{one}/start", handlers.start),
        web.post(f"{one}/resolve", handlers.resolve),
        web.post(f"{one}/dismiss", handlers.dismiss),
        web.post(f"{one}/assign", handlers.assign),
        web.get(f"{prefix}/persons/{{person_id}}/alerts", handlers.person_alerts),
    ]
