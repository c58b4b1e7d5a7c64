"""An alert's life: open → acknowledged → in_progress → resolved or dismissed.

Every step is one transaction holding the status change (a compare-and-set on the
status the caller saw, so two people acting at once cannot both win), an
``AlertTransition`` row with who, when and why, the stamped columns of the alert, and
its audit line. Acknowledging (or starting work, which implies it) stops escalation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from anxin.cloud.audit import chain as audit
from anxin.cloud.database.models import Alert, AlertTransition, Person, User

# Statuses in which repeats of the same kind for the same person fold into the alert.
ACTIVE_STATUSES = ("open", "acknowledged", "in_progress")
FINAL_STATUSES = ("resolved", "dismissed")
ALL_STATUSES = (*ACTIVE_STATUSES, *FINAL_STATUSES)


@dataclass(frozen=True)
class Action:
    name: str  # acknowledge | start | resolve | dismiss
    allowed_from: tuple[str, ...]
    to_status: str
    done: str  # "acknowledged", "started", ...: for messages


ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (
        Action("acknowledge", ("open",), "acknowledged", "acknowledged"),
        Action("start", ("open", "acknowledged"), "in_progress", "started"),
        Action("resolve", ("acknowledged", "in_progress"), "resolved", "resolved"),
        Action("dismiss", ("open", "acknowledged", "in_progress"), "dismissed", "dismissed"),
    )
}


class LifecycleError(Exception):
    """An alert step that cannot be taken; ``code`` is the API error code."""

    code = "lifecycle_error"


class AlertNotFound(LifecycleError):
    code = "not_found"


class IllegalTransition(LifecycleError):
    code = "illegal_transition"


class BadAssignee(LifecycleError):
    code = "bad_parameter"


def now_ms() -> int:
    return int(time.time() * 1000)


def record_raised(session: Session, alert: Alert, actor: str, at_ms: int | None = None) -> None:
    """A new alert (already flushed): its first transition, its audit line, and escalation
    due at once (level 1, the family, is told as soon as the escalation worker runs)."""
    at = alert.received_at_ms if at_ms is None else at_ms
    alert.escalation_level = 0
    alert.next_escalation_at_ms = at
    session.add(
        AlertTransition(
            alert_id=alert.id, from_status=None, to_status="open", actor=actor, at_ms=at
        )
    )
    audit.record(
        session,
        actor,
        "alert.raise",
        f"alerts/{alert.id}",
        alert.person_id,
        {"kind": alert.kind, "severity": alert.severity},
    )


def transition(
    session: Session,
    alert_id: int,
    action_name: str,
    actor: str,
    note: str = "",
    outcome: str | None = None,
    at_ms: int | None = None,
) -> Alert:
    """Take one step and commit it; raises ``IllegalTransition`` when the alert's status
    does not allow it (also when someone else changed it a moment earlier).

    ``outcome`` is required for resolve (what happened) and dismiss (why)."""
    action = ACTIONS.get(action_name)
    if action is None:
        raise ValueError(f"unknown alert action '{action_name}' (known: {', '.join(ACTIONS)})")
    if action.to_status in FINAL_STATUSES and not (outcome and outcome.strip()):
        field = "outcome" if action.name == "resolve" else "reason"
        raise ValueError(f"'{field}' is required to {action.name} an alert")
    at = now_ms() if at_ms is None else at_ms
    seen = session.get(Alert, alert_id)
    if seen is None:
        raise AlertNotFound(f"no alert {alert_id}")
    from_status = seen.status
    if from_status not in action.allowed_from:
        raise IllegalTransition(_refusal(alert_id, action, from_status))
    session.rollback()  # end the read, so the write below starts from fresh data

    values: dict[str, object] = {"status": action.to_status, "next_escalation_at_ms": None}
    if from_status == "open" and action.to_status in ("acknowledged", "in_progress"):
        values |= {"acknowledged_at_ms": at, "acknowledged_by": actor}
    if action.to_status in FINAL_STATUSES:
        values |= {"closed_at_ms": at, "closed_by": actor, "outcome": outcome}
    with session.begin():
        changed = session.execute(
            update(Alert)
            .where(Alert.id == alert_id, Alert.status == from_status)
            .values(**values)
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed != 1:
            current = session.scalar(select(Alert.status).where(Alert.id == alert_id))
            raise IllegalTransition(
                f"alert {alert_id} changed to '{current}' while you were acting; "
                + _refusal(alert_id, action, current or "gone")
            )
        session.add(
            AlertTransition(
                alert_id=alert_id,
                from_status=from_status,
                to_status=action.to_status,
                actor=actor,
                at_ms=at,
                note=note,
            )
        )
        detail: dict[str, object] = {"from": from_status, "to": action.to_status}
        if note:
            detail["note"] = note
        if outcome:
            detail["outcome" if action.name == "resolve" else "reason"] = outcome
        audit.record(
            session, actor, f"alert.{action.name}", f"alerts/{alert_id}", seen.person_id, detail
        )
    session.expire_all()
    alert = session.get(Alert, alert_id)
    assert alert is not None
    return alert


def assign(
    session: Session,
    alert_id: int,
    worker: str,
    actor: str,
    note: str = "",
    at_ms: int | None = None,
) -> Alert:
    """Give an active alert to a worker of the person's community, and commit."""
    with session.begin():
        alert = session.get(Alert, alert_id)
        if alert is None:
            raise AlertNotFound(f"no alert {alert_id}")
        if alert.status not in ACTIVE_STATUSES:
            raise IllegalTransition(
                f"alert {alert_id} is {alert.status}: a closed alert cannot be assigned"
            )
        person = session.get(Person, alert.person_id) if alert.person_id else None
        user = session.get(User, worker)
        if user is None or user.role != "worker" or user.disabled:
            raise BadAssignee(f"'worker': '{worker}' is not an active community worker")
        if person is None or user.community != person.community:
            raise BadAssignee(
                f"'worker': '{worker}' does not work in the community of this alert's person"
            )
        previous = alert.assigned_to
        alert.assigned_to = worker
        detail: dict[str, object] = {"from": previous, "to": worker}
        if note:
            detail["note"] = note
        audit.record(session, actor, "alert.assign", f"alerts/{alert_id}", alert.person_id, detail)
    return alert


def transitions_of(session: Session, alert_id: int) -> list[AlertTransition]:
    return list(
        session.scalars(
            select(AlertTransition)
            .where(AlertTransition.alert_id == alert_id)
            .order_by(AlertTransition.at_ms, AlertTransition.id)
        )
    )


def _refusal(alert_id: int, action: Action, status: str) -> str:
    if status in FINAL_STATUSES:
        return f"alert {alert_id} is {status}, which is final: it cannot be {action.done}"
    allowed = " or ".join(action.allowed_from)
    return f"alert {alert_id} is {status}: {action.name} needs it {allowed}"
