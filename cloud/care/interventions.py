"""Care tasks (interventions): made from an alert, by a follow-up rule, or by hand.

Life of a task: open -> in_progress -> done (with an outcome), or open/in_progress ->
cancelled (with a reason, kept in ``outcome``). Each task is assigned to a health worker
of the person's community. Every change is audited in the transaction that makes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.cloud.audit.chain import record
from anxin.cloud.database.models import Alert, FollowUp, Intervention, Person, User

CARE_KINDS = ("phone_call", "home_visit", "gp_referral", "emergency_call", "medication_review")
FOLLOW_UP_KINDS = (
    "chronic_outpatient_application",
    "ltc_assessment_referral",
    "wellness_visit",
    "pension_certification_reminder",
)
KINDS = CARE_KINDS + FOLLOW_UP_KINDS
STATUSES = ("open", "in_progress", "done", "cancelled")
ACTIVE = ("open", "in_progress")
AUDIT_ACTIONS = {
    "in_progress": "intervention.start",
    "done": "intervention.complete",
    "cancelled": "intervention.cancel",
}

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
# When a task falls due if its creator gives no time: an emergency call at once, a
# phone call within the day, the rest within days or weeks.
DEFAULT_DUE_MS: dict[str, int] = {
    "emergency_call": 0,
    "phone_call": DAY_MS,
    "home_visit": 3 * DAY_MS,
    "gp_referral": 7 * DAY_MS,
    "medication_review": 7 * DAY_MS,
    "chronic_outpatient_application": 14 * DAY_MS,
    "ltc_assessment_referral": 14 * DAY_MS,
    "wellness_visit": 2 * DAY_MS,
    "pension_certification_reminder": 7 * DAY_MS,
}


class InterventionError(ValueError):
    """A change that cannot be made; ``field`` names the offending input."""

    def __init__(self, field: str, message: str, code: str = "bad_parameter") -> None:
        super().__init__(message)
        self.field = field
        self.code = code


class NotFound(LookupError):
    pass


@dataclass(frozen=True)
class NewIntervention:
    person_id: str
    kind: str
    assigned_to: str | None = None
    due_at_ms: int | None = None
    alert_id: int | None = None
    follow_up_id: int | None = None
    notes: str = ""


def community_worker(session: Session, community: str, person_id: str | None = None) -> str | None:
    """The worker a new task goes to. For continuity of care, the worker the person's latest
    task went to, if they still work in the community; otherwise the community's worker with
    the fewest open tasks (ties by username), so that work spreads. None without a worker."""
    workers = list(
        session.scalars(
            select(User.username)
            .where(User.role == "worker", User.community == community, User.disabled.is_(False))
            .order_by(User.username)
        )
    )
    if not workers:
        return None
    if person_id is not None:
        latest = session.scalars(
            select(Intervention.assigned_to)
            .where(Intervention.person_id == person_id, Intervention.assigned_to.in_(workers))
            .order_by(Intervention.created_at_ms.desc(), Intervention.id.desc())
            .limit(1)
        ).first()
        if latest is not None:
            return latest
    load = {name: 0 for name in workers}
    for assignee in session.scalars(
        select(Intervention.assigned_to).where(
            Intervention.assigned_to.in_(workers), Intervention.status.in_(ACTIVE)
        )
    ):
        load[assignee] += 1
    return min(workers, key=lambda name: (load[name], name))


def _default_assignee(session: Session, person: Person, actor: str) -> str | None:
    """A worker of the person's community who creates a task takes it on; otherwise it goes
    to the person's usual worker (see ``community_worker``)."""
    user = session.get(User, actor)
    if (
        user is not None
        and user.role == "worker"
        and not user.disabled
        and user.community == person.community
    ):
        return user.username
    return community_worker(session, person.community, person.id)


def _check_assignee(session: Session, username: str, person: Person) -> None:
    user = session.get(User, username)
    if user is None or user.role != "worker" or user.disabled:
        raise InterventionError("assigned_to", f"'{username}' is not an active health worker")
    if user.community != person.community:
        raise InterventionError(
            "assigned_to",
            f"'{username}' works in '{user.community}', not in the person's community "
            f"'{person.community}'",
        )


def create_intervention(
    session: Session, new: NewIntervention, *, actor: str, at_ms: int
) -> Intervention:
    if new.kind not in KINDS:
        raise InterventionError("kind", f"'kind' must be one of {', '.join(KINDS)}")
    person = session.get(Person, new.person_id)
    if person is None:
        raise NotFound(f"no person '{new.person_id}'")
    if new.alert_id is not None:
        alert = session.get(Alert, new.alert_id)
        if alert is None or alert.person_id != new.person_id:
            raise InterventionError(
                "alert_id", f"alert {new.alert_id} is not an alert of person '{new.person_id}'"
            )
    assignee = new.assigned_to
    if assignee is None:
        assignee = _default_assignee(session, person, actor)
    else:
        _check_assignee(session, assignee, person)
    due = new.due_at_ms if new.due_at_ms is not None else at_ms + DEFAULT_DUE_MS[new.kind]
    task = Intervention(
        person_id=new.person_id,
        kind=new.kind,
        alert_id=new.alert_id,
        follow_up_id=new.follow_up_id,
        status="open",
        assigned_to=assignee,
        due_at_ms=due,
        created_by=actor,
        created_at_ms=at_ms,
        notes=new.notes,
    )
    session.add(task)
    session.flush()
    record(
        session,
        actor,
        "intervention.create",
        f"interventions/{task.id}",
        task.person_id,
        {
            "kind": task.kind,
            "assigned_to": assignee,
            "due_at_ms": due,
            "alert_id": new.alert_id,
            "follow_up_id": new.follow_up_id,
        },
    )
    return task


def get_intervention(session: Session, intervention_id: int) -> Intervention:
    task = session.get(Intervention, intervention_id)
    if task is None:
        raise NotFound(f"no intervention {intervention_id}")
    return task


def update_intervention(
    session: Session,
    intervention_id: int,
    changes: dict[str, Any],
    *,
    actor: str,
) -> Intervention:
    """Change ``assigned_to``, ``due_at_ms`` or ``notes`` of an active task."""
    task = get_intervention(session, intervention_id)
    unknown = set(changes) - {"assigned_to", "due_at_ms", "notes"}
    if unknown:
        raise InterventionError(sorted(unknown)[0], f"'{sorted(unknown)[0]}' cannot be changed")
    if task.status not in ACTIVE:
        raise InterventionError(
            "status", f"intervention {task.id} is {task.status}; it can no longer change"
        )
    before: dict[str, Any] = {}
    if "assigned_to" in changes:
        person = session.get(Person, task.person_id)
        assert person is not None
        _check_assignee(session, changes["assigned_to"], person)
    for name, value in changes.items():
        before[name] = getattr(task, name)
        setattr(task, name, value)
    record(
        session,
        actor,
        "intervention.update",
        f"interventions/{task.id}",
        task.person_id,
        {"changed": sorted(changes), "before": before, "after": changes},
    )
    return task


def _move(
    session: Session,
    intervention_id: int,
    to_status: str,
    allowed_from: tuple[str, ...],
    *,
    actor: str,
    at_ms: int,
    outcome: str | None = None,
) -> Intervention:
    task = get_intervention(session, intervention_id)
    if task.status not in allowed_from:
        raise InterventionError(
            "status",
            f"intervention {task.id} is {task.status}; it can become {to_status} only from "
            f"{' or '.join(allowed_from)}",
            code="illegal_transition",
        )
    from_status = task.status
    task.status = to_status
    if to_status in ("done", "cancelled"):
        task.outcome = outcome
        task.completed_at_ms = at_ms
    record(
        session,
        actor,
        AUDIT_ACTIONS[to_status],
        f"interventions/{task.id}",
        task.person_id,
        {"from": from_status, "to": to_status, "outcome": outcome},
    )
    if task.follow_up_id is not None and to_status in ("done", "cancelled"):
        _close_follow_up_with_task(session, task, actor=actor, at_ms=at_ms)
    return task


def _close_follow_up_with_task(
    session: Session, task: Intervention, *, actor: str, at_ms: int
) -> None:
    """The follow-up a task was made for ends with it, so its rule may fire again later."""
    follow_up = session.get(FollowUp, task.follow_up_id)
    if follow_up is None or follow_up.status != "open":
        return
    follow_up.status = "done" if task.status == "done" else "dismissed"
    follow_up.closed_at_ms = at_ms
    record(
        session,
        actor,
        "follow_up.close",
        f"follow-ups/{follow_up.id}",
        follow_up.person_id,
        {"status": follow_up.status, "by_intervention": task.id},
    )


def _required(field: str, text: str | None) -> str:
    if text is None or not text.strip():
        raise InterventionError(field, f"'{field}' is required and must not be blank")
    return text.strip()


def start(session: Session, intervention_id: int, *, actor: str, at_ms: int) -> Intervention:
    return _move(session, intervention_id, "in_progress", ("open",), actor=actor, at_ms=at_ms)


def complete(
    session: Session, intervention_id: int, outcome: str | None, *, actor: str, at_ms: int
) -> Intervention:
    return _move(
        session,
        intervention_id,
        "done",
        ("in_progress",),
        actor=actor,
        at_ms=at_ms,
        outcome=_required("outcome", outcome),
    )


def cancel(
    session: Session, intervention_id: int, reason: str | None, *, actor: str, at_ms: int
) -> Intervention:
    return _move(
        session,
        intervention_id,
        "cancelled",
        ACTIVE,
        actor=actor,
        at_ms=at_ms,
        outcome=_required("reason", reason),
    )


def intervention_json(task: Intervention) -> dict[str, Any]:
    return {
        "id": task.id,
        "person_id": task.person_id,
        "kind": task.kind,
        "alert_id": task.alert_id,
        "follow_up_id": task.follow_up_id,
        "status": task.status,
        "assigned_to": task.assigned_to,
        "due_at_ms": task.due_at_ms,
        "created_by": task.created_by,
        "created_at_ms": task.created_at_ms,
        "completed_at_ms": task.completed_at_ms,
        "outcome": task.outcome,
        "notes": task.notes,
    }
