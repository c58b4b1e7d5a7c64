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
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)
from sqlalchemy import select

from anxin.cloud.api import alert_answers as answer
from anxin.cloud.api.auth import principal_of
from anxin.cloud.api.context import ApiContext
from anxin.cloud.api.errors import error
from anxin.cloud.api.operation import MAX_ROW_ID, Answer, bind, operation, operations_of
from anxin.cloud.care import alert_lifecycle
from anxin.cloud.care.alert_lifecycle import ALL_STATUSES, LifecycleError
from anxin.cloud.database.models import Alert, AlertTransition, Notification
from anxin.cloud.registry.registry import Principal, Registry

__all__ = ["OPERATIONS", "alert_json", "routes"]

MAX_ALERT_ID = MAX_ROW_ID
TEXT_LIMIT = 2000
STATUS_LIST_PATTERN = "^(?:{0})(?:,(?:{0}))*$".format("|".join(ALL_STATUSES))
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
NOTE = "why, in a few words (kept with the transition)"
STAFF_TEXT = "admin, or a worker of the person's community"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AlertNote(Strict):
    note: Text = Field(default="", description=NOTE)


class AlertResolve(Strict):
    outcome: Required = Field(description="what happened (for example: visited, she was fine)")
    note: Text = Field(default="", description=NOTE)


class AlertDismiss(Strict):
    reason: Required = Field(
        description="why nothing is needed (for example: button pressed by mistake)"
    )
    note: Text = Field(default="", description=NOTE)


class AlertAssign(Strict):
    worker: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    note: Text = Field(default="", description=NOTE)


def _statuses(text: object) -> tuple[str, ...]:
    if not isinstance(text, str):
        raise ValueError("must be a comma-separated list of statuses")
    statuses = tuple(s for s in text.split(",") if s)
    unknown = [s for s in statuses if s not in ALL_STATUSES]
    if unknown:
        raise ValueError(f"unknown status {unknown[0]!r}; use {', '.join(ALL_STATUSES)}")
    return statuses


Statuses = Annotated[
    tuple[str, ...],
    BeforeValidator(_statuses),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": STATUS_LIST_PATTERN,
            "description": "comma-separated: " + ", ".join(ALL_STATUSES),
        }
    ),
]


class PersonAlertsQuery(BaseModel):
    status: Statuses | None = None


class AlertsQuery(PersonAlertsQuery):
    person_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="only this person's alerts (404 when the caller may not see the person)",
    )


ALERT_ID = {"alert_id": Annotated[int, Field(ge=0, le=MAX_ALERT_ID)]}
NOT_FOUND = Answer("unknown, or not visible to the caller")
CONFLICT = Answer(
    "illegal_transition: the alert's status does not allow this (it may have just changed)"
)
STEP_ANSWERS = {200: Answer("the alert", answer.AlertDetail), 404: NOT_FOUND, 409: CONFLICT}
LIST_ANSWERS = {200: Answer("alerts, newest first", list[answer.Alert]), 404: NOT_FOUND}


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


def _alert_id(request: web.Request) -> int:
    text = request.match_info["alert_id"]
    if not text.isdigit() or len(text) > 15:
        raise error(400, "bad_parameter", f"'alert_id' must be a whole number, got '{text}'")
    return int(text)


class AlertHandlers:
    def __init__(self, ctx: ApiContext) -> None:
        self.registry: Registry = ctx.registry

    # --- reads ------------------------------------------------------------------------

    @operation(
        "GET",
        "/alerts",
        "Alerts of the persons the caller may see, newest first",
        LIST_ANSWERS,
        query=AlertsQuery,
    )
    async def list_alerts(self, request: web.Request, query: AlertsQuery) -> list[dict[str, Any]]:
        return await self._listing(request, query.status or (), query.person_id)

    @operation(
        "GET",
        "/persons/{person_id}/alerts",
        "One person's alerts, newest first",
        LIST_ANSWERS,
        query=PersonAlertsQuery,
        path_params={"person_id": Annotated[str, Field(min_length=1, max_length=64)]},
    )
    async def person_alerts(
        self, request: web.Request, query: PersonAlertsQuery
    ) -> list[dict[str, Any]]:
        return await self._listing(request, query.status or (), request.match_info["person_id"])

    async def _listing(
        self, request: web.Request, statuses: tuple[str, ...], person_id: str | None
    ) -> list[dict[str, Any]]:
        principal = principal_of(request)
        if person_id is not None and not await asyncio.to_thread(
            self.registry.can_see_person, principal, person_id
        ):
            raise error(404, "not_found", "no such person that you may see")
        alerts = await asyncio.to_thread(
            self.registry.alerts_visible_to, principal, list(statuses) or None
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

    @operation(
        "GET",
        "/alerts/{alert_id}",
        "One alert with its transitions and notifications",
        {200: Answer("the alert", answer.AlertDetail), 404: NOT_FOUND},
        path_params=ALERT_ID,
    )
    async def get_alert(self, request: web.Request) -> dict[str, Any]:
        alert_id = _alert_id(request)
        principal = principal_of(request)
        return await asyncio.to_thread(self._detail, principal, alert_id)

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

    @operation(
        "POST",
        "/alerts/{alert_id}/acknowledge",
        "Acknowledge an open alert (stops its escalation)",
        STEP_ANSWERS,
        description=STAFF_TEXT + ", or a linked family member",
        roles=ACTORS["acknowledge"],
        body=AlertNote,
        body_required=False,
        path_params=ALERT_ID,
    )
    async def acknowledge(self, request: web.Request, body: AlertNote) -> dict[str, Any]:
        return await self._step(request, "acknowledge", body.note)

    @operation(
        "POST",
        "/alerts/{alert_id}/start",
        "Start work on an open or acknowledged alert",
        STEP_ANSWERS,
        description=STAFF_TEXT,
        roles=ACTORS["start"],
        body=AlertNote,
        body_required=False,
        path_params=ALERT_ID,
    )
    async def start(self, request: web.Request, body: AlertNote) -> dict[str, Any]:
        return await self._step(request, "start", body.note)

    @operation(
        "POST",
        "/alerts/{alert_id}/resolve",
        "Resolve an acknowledged or in-progress alert, saying what happened",
        STEP_ANSWERS,
        description=STAFF_TEXT,
        roles=ACTORS["resolve"],
        body=AlertResolve,
        path_params=ALERT_ID,
    )
    async def resolve(self, request: web.Request, body: AlertResolve) -> dict[str, Any]:
        return await self._step(request, "resolve", body.note, body.outcome)

    @operation(
        "POST",
        "/alerts/{alert_id}/dismiss",
        "Dismiss an alert that needs nothing (a false alarm), saying why",
        STEP_ANSWERS,
        description=STAFF_TEXT,
        roles=ACTORS["dismiss"],
        body=AlertDismiss,
        path_params=ALERT_ID,
    )
    async def dismiss(self, request: web.Request, body: AlertDismiss) -> dict[str, Any]:
        return await self._step(request, "dismiss", body.note, body.reason)

    @operation(
        "POST",
        "/alerts/{alert_id}/assign",
        "Assign an active alert to a worker of the person's community",
        STEP_ANSWERS,
        description=STAFF_TEXT,
        roles=STAFF,
        body=AlertAssign,
        path_params=ALERT_ID,
    )
    async def assign(self, request: web.Request, body: AlertAssign) -> dict[str, Any]:
        principal = principal_of(request)
        alert_id = _alert_id(request)

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

        return await asyncio.to_thread(work)

    async def _step(
        self, request: web.Request, action: str, note: str, outcome: str | None = None
    ) -> dict[str, Any]:
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

        return await asyncio.to_thread(work)


OPERATIONS = operations_of(AlertHandlers)


def _http_error(exc: LifecycleError) -> web.HTTPException:
    status = {"not_found": 404, "illegal_transition": 409, "bad_parameter": 400}.get(exc.code, 400)
    return error(status, exc.code, str(exc))


def routes(ctx: ApiContext, prefix: str) -> list[web.RouteDef]:
    return bind(AlertHandlers(ctx), prefix)
