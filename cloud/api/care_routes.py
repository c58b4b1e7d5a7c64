"""API routes for care interventions, Barthel assessments and insurance follow-ups.

Who may do what: admins and workers write (a worker within their community); a family
member reads the interventions and assessments of linked persons, a recipient their own.
Follow-ups and the rules are for admins and workers; running the rules by hand for
admins. A person, task or follow-up the caller may not see answers 404.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, TypeVar

from aiohttp import web
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from anxin.cloud.api import care_answers as answer
from anxin.cloud.api.auth import principal_of
from anxin.cloud.api.care_answers import ITEMS_SCHEMA, FollowUpStatus, Kind, Status
from anxin.cloud.api.context import ApiContext
from anxin.cloud.api.errors import error
from anxin.cloud.api.operation import Answer, RowId, bind, operation, operations_of
from anxin.cloud.api.registry_bodies import PersonId
from anxin.cloud.care import barthel, follow_ups, interventions
from anxin.cloud.care.follow_up_rules import RuleSet, load_rules, rules_json
from anxin.cloud.database.models import Alert, FollowUp, Intervention, Person, User
from anxin.cloud.registry.registry import Principal, now_ms

__all__ = ["OPERATIONS", "routes"]

PERSON_ID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
USERNAME = r"^[A-Za-z0-9_.@-]{1,64}$"
RULE_ID = r"^[a-z][a-z0-9_]{0,63}$"
MAX_ID = 2**31 - 1  # the id columns are 32-bit integers
WRITERS = ("admin", "worker")
Result = TypeVar("Result")
PERSON = {"person_id": PersonId}
INTERVENTION = {"intervention_id": RowId}
FOLLOW_UP = {"follow_up_id": RowId}
NOT_FOUND = Answer("unknown, or not visible to the caller")
CONFLICT = Answer("the task or follow-up is in a status that does not allow this")


def _no_nul(text: str) -> str:
    if "\x00" in text:
        raise ValueError("must not contain NUL characters")
    return text


Text = Annotated[str, Field(max_length=4000), AfterValidator(_no_nul)]
Required = Annotated[str, Field(min_length=1, max_length=4000), AfterValidator(_no_nul)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _utc(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)  # times without a zone are taken as UTC
    return moment


class InterventionCreate(Body):
    kind: Kind
    assigned_to: str | None = Field(
        default=None,
        pattern=USERNAME,
        description="a worker of the person's community; unset: the one with fewest tasks",
    )
    due_at: datetime | None = Field(default=None, description="unset: a default per kind")
    notes: Text = ""

    _due = field_validator("due_at")(_utc)


class InterventionCreateForPerson(InterventionCreate):
    alert_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class InterventionPatch(Body):
    """Send at least one field; none may be null."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    assigned_to: str | None = Field(default=None, pattern=USERNAME)
    due_at: datetime | None = None
    notes: Text | None = None

    _due = field_validator("due_at")(_utc)


class InterventionComplete(Body):
    outcome: Required


class InterventionCancel(Body):
    reason: Required


class BarthelAssessmentCreate(Body):
    assessed_on: date = Field(description="not in the future")
    # Checked item by item by the scoring, which names a wrong item and its allowed scores.
    items: Annotated[dict[str, Any], ITEMS_SCHEMA]
    total: int | None = Field(  # the Barthel index runs 0-100
        default=None, ge=0, le=100, description="if sent, must match items"
    )
    assessed_by: (
        Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_no_nul)] | None
    ) = Field(default=None, description="unset: the caller")
    notes: Text = ""


class FollowUpClose(Body):
    status: Literal["done", "dismissed"]
    note: Text = ""


class Evaluate(Body):
    person_id: str | None = Field(default=None, pattern=PERSON_ID.pattern)


# --- query strings ----------------------------------------------------------------------


class PersonInterventionsQuery(BaseModel):
    status: Status | None = None


class InterventionsQuery(PersonInterventionsQuery):
    kind: Kind | None = None
    assigned_to: str | None = Field(default=None, pattern=USERNAME)
    person_id: str | None = Field(default=None, pattern=PERSON_ID.pattern)


class FollowUpsQuery(BaseModel):
    status: FollowUpStatus | None = None
    person_id: str | None = Field(default=None, pattern=PERSON_ID.pattern)
    rule_id: str | None = Field(default=None, pattern=RULE_ID)


def _ms(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _task_json(task: Intervention, person_name: str | None = None) -> dict[str, Any]:
    return interventions.intervention_json(task) | {
        "person_name": person_name,
        "due_at": iso(task.due_at_ms),
        "created_at": iso(task.created_at_ms),
        "completed_at": iso(task.completed_at_ms),
    }


def _path_id(request: web.Request, name: str, what: str) -> int:
    text = request.match_info[name]
    if not text.isdigit() or len(text) > 15:
        raise error(400, "bad_parameter", f"'{name}' must be a whole number, got '{text}'")
    value = int(text)
    if not 1 <= value <= MAX_ID:
        raise error(404, "not_found", f"no {what} {value} that you may see")
    return value


class CareApi:
    def __init__(self, ctx: ApiContext, rules: RuleSet) -> None:
        self.registry = ctx.registry
        self.timeseries = ctx.timeseries
        self.rules = rules

    # --- scoping -----------------------------------------------------------------------

    def visible_person_ids(self, session: Session, principal: Principal) -> set[str] | None:
        """Ids of the persons the caller may see; None for an admin (everyone)."""
        if principal.role == "admin":
            return None
        if principal.role == "recipient":
            user = session.get(User, principal.username)
            return {user.person_id} if user is not None and user.person_id else set()
        return {p.id for p in self.registry.persons_visible_to(principal)}

    def _check_person(self, session: Session, principal: Principal, person_id: str) -> Person:
        visible = self.visible_person_ids(session, principal)
        person = session.get(Person, person_id) if PERSON_ID.match(person_id) else None
        if person is None or (visible is not None and person_id not in visible):
            raise error(404, "not_found", f"no person '{person_id}' that you may see")
        return person

    def _check_task(self, session: Session, principal: Principal, task_id: int) -> Intervention:
        task = session.get(Intervention, task_id)
        visible = self.visible_person_ids(session, principal)
        mine = task is not None and task.assigned_to == principal.username
        if task is None or (visible is not None and task.person_id not in visible and not mine):
            raise error(404, "not_found", f"no intervention {task_id} that you may see")
        return task

    async def _in_thread(self, work: Callable[[], Result]) -> Result:
        try:
            return await asyncio.to_thread(work)
        except (interventions.InterventionError, barthel.BarthelError) as exc:
            named = f"'{exc.field}'" in str(exc)
            message = str(exc) if named else f"{exc.field}: {exc}"
            code = getattr(exc, "code", "bad_parameter")
            raise error(409 if code == "illegal_transition" else 400, code, message) from None
        except interventions.NotFound as exc:
            raise error(404, "not_found", str(exc)) from None

    # --- interventions -------------------------------------------------------------------

    @operation(
        "GET",
        "/persons/{person_id}/interventions",
        "A person's care tasks, newest first",
        {200: Answer("interventions", list[answer.Intervention]), 404: NOT_FOUND},
        query=PersonInterventionsQuery,
        path_params=PERSON,
    )
    async def person_interventions(
        self, request: web.Request, query: PersonInterventionsQuery
    ) -> list[dict[str, Any]]:
        principal = principal_of(request)
        person_id = request.match_info["person_id"]
        status = query.status

        def work() -> list[dict[str, Any]]:
            with self.registry.session() as session:
                person = self._check_person(session, principal, person_id)
                query = select(Intervention).where(Intervention.person_id == person_id)
                if status:
                    query = query.where(Intervention.status == status)
                tasks = session.scalars(query.order_by(Intervention.id.desc()))
                return [_task_json(t, person.name) for t in tasks]

        return await self._in_thread(work)

    @operation(
        "POST",
        "/persons/{person_id}/interventions",
        "Create a care task for a person (admin, worker of the community)",
        {201: Answer("created", answer.Intervention), 404: NOT_FOUND},
        body=InterventionCreateForPerson,
        roles=WRITERS,
        path_params=PERSON,
    )
    async def create_for_person(
        self, request: web.Request, body: InterventionCreateForPerson
    ) -> dict[str, Any]:
        principal = principal_of(request)
        person_id = request.match_info["person_id"]
        return await self._create(principal, person_id, body, body.alert_id)

    @operation(
        "POST",
        "/alerts/{alert_id}/interventions",
        "Create a care task from an alert (for the alert's person)",
        {201: Answer("created", answer.Intervention), 404: NOT_FOUND},
        body=InterventionCreate,
        roles=WRITERS,
        path_params={"alert_id": RowId},
    )
    async def create_from_alert(
        self, request: web.Request, body: InterventionCreate
    ) -> dict[str, Any]:
        principal = principal_of(request)
        alert_id = _path_id(request, "alert_id", "alert")

        def person_of_alert() -> str:
            with self.registry.session() as session:
                alert = session.get(Alert, alert_id)
                visible = self.visible_person_ids(session, principal)
                if (
                    alert is None
                    or alert.person_id is None
                    or (visible is not None and alert.person_id not in visible)
                ):
                    raise error(404, "not_found", f"no alert {alert_id} of a person you may see")
                return alert.person_id

        person_id = await asyncio.to_thread(person_of_alert)
        return await self._create(principal, person_id, body, alert_id)

    async def _create(
        self, principal: Principal, person_id: str, body: InterventionCreate, alert_id: int | None
    ) -> dict[str, Any]:
        def work() -> dict[str, Any]:
            with self.registry.session() as session, session.begin():
                person = self._check_person(session, principal, person_id)
                task = interventions.create_intervention(
                    session,
                    interventions.NewIntervention(
                        person_id=person_id,
                        kind=body.kind,
                        assigned_to=body.assigned_to,
                        due_at_ms=_ms(body.due_at),
                        alert_id=alert_id,
                        notes=body.notes,
                    ),
                    actor=principal.username,
                    at_ms=now_ms(),
                )
                return _task_json(task, person.name)

        return await self._in_thread(work)

    @operation(
        "GET",
        "/interventions",
        "Care tasks the caller may see (a worker: their community's and those assigned to "
        "them), newest first, at most 1000",
        {200: Answer("interventions", list[answer.Intervention])},
        query=InterventionsQuery,
    )
    async def list_interventions(
        self, request: web.Request, query: InterventionsQuery
    ) -> list[dict[str, Any]]:
        principal = principal_of(request)
        status, kind = query.status, query.kind
        assigned_to, person_id = query.assigned_to, query.person_id

        def work() -> list[dict[str, Any]]:
            with self.registry.session() as session:
                visible = self.visible_person_ids(session, principal)
                query = select(Intervention, Person.name).join(
                    Person, Person.id == Intervention.person_id
                )
                if visible is not None:
                    scope = Intervention.person_id.in_(visible)
                    if principal.role == "worker":
                        scope = or_(scope, Intervention.assigned_to == principal.username)
                    query = query.where(scope)
                for column, value in (
                    (Intervention.status, status),
                    (Intervention.kind, kind),
                    (Intervention.assigned_to, assigned_to),
                    (Intervention.person_id, person_id),
                ):
                    if value is not None:
                        query = query.where(column == value)
                rows = session.execute(query.order_by(Intervention.id.desc()).limit(1000))
                return [_task_json(task, name) for task, name in rows]

        return await self._in_thread(work)

    @operation(
        "GET",
        "/interventions/{intervention_id}",
        "One care task",
        {200: Answer("the intervention", answer.Intervention), 404: NOT_FOUND},
        path_params=INTERVENTION,
    )
    async def get_intervention(self, request: web.Request) -> dict[str, Any]:
        principal = principal_of(request)
        task_id = _path_id(request, "intervention_id", "intervention")

        def work() -> dict[str, Any]:
            with self.registry.session() as session:
                return _task_json(self._check_task(session, principal, task_id))

        return await self._in_thread(work)

    @operation(
        "PATCH",
        "/interventions/{intervention_id}",
        "Reassign, reschedule or annotate an open or in-progress task",
        {200: Answer("the intervention", answer.Intervention), 404: NOT_FOUND},
        body=InterventionPatch,
        roles=WRITERS,
        path_params=INTERVENTION,
    )
    async def patch_intervention(
        self, request: web.Request, body: InterventionPatch
    ) -> dict[str, Any]:
        principal = principal_of(request)
        task_id = _path_id(request, "intervention_id", "intervention")
        changes: dict[str, Any] = {}
        for name in body.model_fields_set:
            value = getattr(body, name)
            if value is None:
                raise error(400, "bad_parameter", f"'{name}' cannot be null")
            changes["due_at_ms" if name == "due_at" else name] = (
                _ms(value) if name == "due_at" else value
            )
        if not changes:
            raise error(400, "bad_parameter", "send at least one of assigned_to, due_at, notes")

        def work() -> dict[str, Any]:
            with self.registry.session() as session, session.begin():
                self._check_task(session, principal, task_id)
                task = interventions.update_intervention(
                    session, task_id, changes, actor=principal.username
                )
                return _task_json(task)

        return await self._in_thread(work)

    @operation(
        "POST",
        "/interventions/{intervention_id}/start",
        "open -> in_progress (409 illegal_transition from a status that does not allow it)",
        {200: Answer("the intervention", answer.Intervention), 404: NOT_FOUND, 409: CONFLICT},
        roles=WRITERS,
        path_params=INTERVENTION,
    )
    async def start(self, request: web.Request) -> dict[str, Any]:
        return await self._transition(request, "start", None)

    @operation(
        "POST",
        "/interventions/{intervention_id}/complete",
        "in_progress -> done, with the outcome (409 illegal_transition from a status that "
        "does not allow it)",
        {200: Answer("the intervention", answer.Intervention), 404: NOT_FOUND, 409: CONFLICT},
        body=InterventionComplete,
        roles=WRITERS,
        path_params=INTERVENTION,
    )
    async def complete(self, request: web.Request, body: InterventionComplete) -> dict[str, Any]:
        return await self._transition(request, "complete", body.outcome)

    @operation(
        "POST",
        "/interventions/{intervention_id}/cancel",
        "open or in_progress -> cancelled, with the reason (409 illegal_transition from a "
        "status that does not allow it)",
        {200: Answer("the intervention", answer.Intervention), 404: NOT_FOUND, 409: CONFLICT},
        body=InterventionCancel,
        roles=WRITERS,
        path_params=INTERVENTION,
    )
    async def cancel(self, request: web.Request, body: InterventionCancel) -> dict[str, Any]:
        return await self._transition(request, "cancel", body.reason)

    async def _transition(
        self, request: web.Request, action: str, text: str | None
    ) -> dict[str, Any]:
        principal = principal_of(request)
        task_id = _path_id(request, "intervention_id", "intervention")

        def work() -> dict[str, Any]:
            with self.registry.session() as session, session.begin():
                self._check_task(session, principal, task_id)
                who, at = principal.username, now_ms()
                if action == "start":
                    task = interventions.start(session, task_id, actor=who, at_ms=at)
                elif action == "complete":
                    task = interventions.complete(session, task_id, text, actor=who, at_ms=at)
                else:
                    task = interventions.cancel(session, task_id, text, actor=who, at_ms=at)
                return _task_json(task)

        return await self._in_thread(work)

    # --- assessments -----------------------------------------------------------------------

    @operation(
        "GET",
        "/persons/{person_id}/assessments",
        "A person's Barthel Index assessments, newest first",
        {200: Answer("assessments", list[answer.BarthelAssessment]), 404: NOT_FOUND},
        path_params=PERSON,
    )
    async def list_assessments(self, request: web.Request) -> list[dict[str, Any]]:
        principal = principal_of(request)
        person_id = request.match_info["person_id"]

        def work() -> list[dict[str, Any]]:
            with self.registry.session() as session:
                self._check_person(session, principal, person_id)
                found = barthel.assessments_of(session, person_id)
                return [barthel.assessment_json(a) for a in found]

        return await self._in_thread(work)

    @operation(
        "POST",
        "/persons/{person_id}/assessments",
        "Record a Barthel Index assessment; the total is computed here (a sent total that "
        "disagrees is refused)",
        {201: Answer("recorded", answer.BarthelAssessment), 404: NOT_FOUND},
        body=BarthelAssessmentCreate,
        roles=WRITERS,
        path_params=PERSON,
    )
    async def create_assessment(
        self, request: web.Request, body: BarthelAssessmentCreate
    ) -> dict[str, Any]:
        principal = principal_of(request)
        person_id = request.match_info["person_id"]
        if body.assessed_on > datetime.now(UTC).date():
            raise error(400, "bad_parameter", "assessed_on: cannot be in the future")

        def work() -> dict[str, Any]:
            with self.registry.session() as session, session.begin():
                self._check_person(session, principal, person_id)
                assessment = barthel.record_assessment(
                    session,
                    person_id=person_id,
                    assessed_on=body.assessed_on,
                    assessed_by=body.assessed_by or principal.username,
                    items=body.items,
                    actor=principal.username,
                    at_ms=now_ms(),
                    notes=body.notes,
                    claimed_total=body.total,
                )
                return barthel.assessment_json(assessment)

        return await self._in_thread(work)

    # --- follow-ups ------------------------------------------------------------------------

    @operation(
        "GET",
        "/follow-ups",
        "Insurance follow-ups raised by the rules (admin, worker), newest first",
        {200: Answer("follow-ups", list[answer.FollowUp])},
        query=FollowUpsQuery,
        roles=WRITERS,
    )
    async def list_follow_ups(
        self, request: web.Request, query: FollowUpsQuery
    ) -> list[dict[str, Any]]:
        principal = principal_of(request)
        status, person_id, rule_id = query.status, query.person_id, query.rule_id

        def work() -> list[dict[str, Any]]:
            with self.registry.session() as session:
                visible = self.visible_person_ids(session, principal)
                query = select(FollowUp)
                if visible is not None:
                    query = query.where(FollowUp.person_id.in_(visible))
                for column, value in (
                    (FollowUp.status, status),
                    (FollowUp.person_id, person_id),
                    (FollowUp.rule_id, rule_id),
                ):
                    if value is not None:
                        query = query.where(column == value)
                found = session.scalars(query.order_by(FollowUp.id.desc()).limit(1000))
                return [follow_ups.follow_up_json(f) for f in found]

        return await self._in_thread(work)

    def _check_follow_up(self, session: Session, principal: Principal, ident: int) -> FollowUp:
        found = session.get(FollowUp, ident)
        visible = self.visible_person_ids(session, principal)
        if found is None or (visible is not None and found.person_id not in visible):
            raise error(404, "not_found", f"no follow-up {ident} that you may see")
        return found

    @operation(
        "GET",
        "/follow-ups/{follow_up_id}",
        "One follow-up with its evidence and its interventions",
        {200: Answer("the follow-up", answer.FollowUpDetail), 404: NOT_FOUND},
        roles=WRITERS,
        path_params=FOLLOW_UP,
    )
    async def get_follow_up(self, request: web.Request) -> dict[str, Any]:
        principal = principal_of(request)
        ident = _path_id(request, "follow_up_id", "follow-up")

        def work() -> dict[str, Any]:
            with self.registry.session() as session:
                found = self._check_follow_up(session, principal, ident)
                tasks = session.scalars(
                    select(Intervention).where(Intervention.follow_up_id == ident)
                )
                return follow_ups.follow_up_json(found) | {
                    "interventions": [_task_json(t) for t in tasks]
                }

        return await self._in_thread(work)

    @operation(
        "POST",
        "/follow-ups/{follow_up_id}/close",
        "Close an open follow-up: done, or dismissed (409 illegal_transition if closed)",
        {200: Answer("the follow-up", answer.FollowUp), 404: NOT_FOUND, 409: CONFLICT},
        body=FollowUpClose,
        roles=WRITERS,
        path_params=FOLLOW_UP,
    )
    async def close_follow_up(self, request: web.Request, body: FollowUpClose) -> dict[str, Any]:
        principal = principal_of(request)
        ident = _path_id(request, "follow_up_id", "follow-up")

        def work() -> dict[str, Any]:
            with self.registry.session() as session, session.begin():
                found = self._check_follow_up(session, principal, ident)
                if found.status != "open":
                    raise error(
                        409, "illegal_transition", f"follow-up {ident} is already {found.status}"
                    )
                closed = follow_ups.close_follow_up(
                    session, ident, body.status, body.note, actor=principal.username, at_ms=now_ms()
                )
                return follow_ups.follow_up_json(closed)

        return await self._in_thread(work)

    @operation(
        "GET",
        "/follow-up-rules",
        "The follow-up rules in force, to explain what raises a follow-up",
        {200: Answer("rules", answer.FollowUpRules)},
        roles=WRITERS,
    )
    async def follow_up_rules(self, _request: web.Request) -> dict[str, Any]:
        return rules_json(self.rules)

    @operation(
        "POST",
        "/follow-ups/evaluate",
        "Run the follow-up rules now (admin), for everyone or one person",
        {200: Answer("the follow-ups raised", answer.EvaluateResult)},
        body=Evaluate,
        roles=("admin",),
    )
    async def evaluate(self, _request: web.Request, body: Evaluate) -> dict[str, Any]:
        person_ids = [body.person_id] if body.person_id else None

        def work() -> list[dict[str, Any]]:
            raised = follow_ups.evaluate(
                self.registry, self.timeseries, self.rules, now_ms(), person_ids
            )
            with self.registry.session() as session:
                found = session.scalars(select(FollowUp).where(FollowUp.id.in_(raised)))
                return [follow_ups.follow_up_json(f) for f in found]

        return {"raised": await self._in_thread(work)}


OPERATIONS = operations_of(CareApi)


def routes(ctx: ApiContext, prefix: str) -> list[web.RouteDef]:
    return bind(CareApi(ctx, load_rules(ctx.config.follow_up.rules_file)), prefix)
