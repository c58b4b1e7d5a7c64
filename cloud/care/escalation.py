"""Escalation of alerts nobody acknowledges: family, then the community worker, then
the worker's supervisor.

Level 1 (the person's relatives with ``FamilyLink.notify``) is told when the alert is
raised; level 2 (the worker the alert is assigned to, else every worker of the person's
community) after ``worker_after_min`` minutes; level 3 (those workers' supervisors)
after ``supervisor_after_min``, both counted from when the alert reached the cloud and
set per severity in ``[escalation]``. Acknowledging, starting work on, or closing the
alert clears ``next_escalation_at_ms`` and so stops it. A level with nobody to tell is
passed over at once. Several processes may run this together: each step is claimed
with a conditional UPDATE on (status, escalation_level, next_escalation_at_ms).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from anxin.cloud.audit import chain as audit
from anxin.cloud.database.models import Alert, FamilyLink, Notification, Person, User
from anxin.cloud.notify.dispatcher import run_dispatcher, wall_clock_ms
from anxin.cloud.notify.outbox import enqueue
from anxin.cloud.notify.sms import load_sms_gateway
from anxin.cloud.registry.field_crypto import FieldCipher
from anxin.cloud.registry.registry import Registry
from anxin.config import CloudConfig, EscalationConfig, EscalationStep, NotificationsConfig

log = logging.getLogger(__name__)
Clock = Callable[[], int]
MINUTE_MS = 60_000
ACTOR = "system:escalation"
TOP_LEVEL = 3


@dataclass(frozen=True)
class Escalated:
    alert_id: int
    level: int  # the level reached
    told: tuple[str, ...]  # usernames that were considered at the levels passed
    next_at_ms: int | None


def next_escalation(step: EscalationStep, received_at_ms: int, level: int) -> int | None:
    """When the level after ``level`` is due, or None when ``level`` is the last."""
    minutes = {1: step.worker_after_min, 2: step.supervisor_after_min}.get(level, 0)
    return received_at_ms + int(minutes * MINUTE_MS) if minutes > 0 else None


def recipients(session: Session, alert: Alert, level: int) -> list[User]:
    """The active users of one escalation level for ``alert``."""
    person = session.get(Person, alert.person_id) if alert.person_id else None
    if person is None:
        return []
    if level == 1:
        query = (
            select(User)
            .join(FamilyLink, FamilyLink.username == User.username)
            .where(FamilyLink.person_id == person.id, FamilyLink.notify.is_(True))
        )
        users = list(session.scalars(query.order_by(User.username)))
    else:
        users = _workers(session, alert, person)
        if level == 3:
            names = sorted({w.supervisor for w in users if w.supervisor})
            users = [u for name in names if (u := session.get(User, name)) is not None]
    return [u for u in users if not u.disabled]


def _workers(session: Session, alert: Alert, person: Person) -> list[User]:
    if alert.assigned_to:
        assignee = session.get(User, alert.assigned_to)
        if assignee is not None and not assignee.disabled:
            return [assignee]
    return list(
        session.scalars(
            select(User)
            .where(User.role == "worker", User.community == person.community)
            .order_by(User.username)
        )
    )


def escalate_due(
    registry: Registry,
    escalation: EscalationConfig,
    notifications: NotificationsConfig,
    now_ms: int,
    batch: int = 100,
) -> list[Escalated]:
    """Take every escalation step due at ``now_ms``; what was done."""
    with registry.session() as session:
        due = session.execute(
            select(Alert.id, Alert.escalation_level, Alert.next_escalation_at_ms)
            .where(Alert.status == "open", Alert.next_escalation_at_ms <= now_ms)
            .order_by(Alert.next_escalation_at_ms)
            .limit(batch)
        ).all()
    done = []
    for alert_id, level, due_at in due:
        try:
            result = _escalate(registry, alert_id, level, due_at, escalation, notifications, now_ms)
        except Exception:
            log.exception("escalating alert %s failed; it stays due", alert_id)
            continue
        if result is not None:
            done.append(result)
    return done


def _escalate(
    registry: Registry,
    alert_id: int,
    from_level: int,
    due_at: int,
    escalation: EscalationConfig,
    notifications: NotificationsConfig,
    now_ms: int,
) -> Escalated | None:
    with registry.session() as session, session.begin():
        alert = session.get(Alert, alert_id)
        if alert is None or alert.status != "open":
            return None
        step = escalation.step(alert.severity)
        already = set(
            session.scalars(select(Notification.recipient).where(Notification.alert_id == alert_id))
        )
        level, next_at = from_level, due_at
        passed: list[tuple[int, list[User]]] = []
        while next_at is not None and next_at <= now_ms and level < TOP_LEVEL:
            level += 1
            users = [u for u in recipients(session, alert, level) if u.username not in already]
            already.update(u.username for u in users)
            passed.append((level, users))
            next_at = next_escalation(step, alert.received_at_ms, level)
            if not users and next_at is not None:
                next_at = min(next_at, now_ms)  # nobody at this level: on to the next at once
        claimed = session.execute(
            update(Alert)
            .where(
                Alert.id == alert_id,
                Alert.status == "open",
                Alert.escalation_level == from_level,
                Alert.next_escalation_at_ms == due_at,
            )
            .values(escalation_level=level, next_escalation_at_ms=next_at)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            return None  # acknowledged, or another process escalated it first
        told: list[str] = []
        for step_level, users in passed:
            for user in users:
                enqueue(session, alert, user, step_level, now_ms, notifications)
                told.append(user.username)
        audit.record(
            session,
            ACTOR,
            "alert.escalate",
            f"alerts/{alert_id}",
            alert.person_id,
            {"from_level": from_level, "to_level": level, "recipients": told},
        )
    return Escalated(alert_id, level, tuple(told), next_at)


async def run_escalation(
    registry: Registry,
    escalation: EscalationConfig,
    notifications: NotificationsConfig,
    clock: Clock = wall_clock_ms,
    stop: asyncio.Event | None = None,
) -> None:
    """Escalate due alerts every ``poll_s`` until ``stop`` is set (or the task is cancelled)."""
    stop = stop or asyncio.Event()
    while not stop.is_set():
        try:
            steps = await asyncio.to_thread(
                escalate_due, registry, escalation, notifications, clock()
            )
            for step in steps:
                log.info("alert %s escalated to level %s: %s", step.alert_id, step.level, step.told)
        except Exception:
            log.exception("escalation round failed; trying again")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=escalation.poll_s)


def api_background(
    registry: Registry, config: CloudConfig
) -> Callable[[web.Application], AsyncIterator[None]]:
    """An aiohttp cleanup context running escalation and notification delivery while the
    API runs (each API process runs them; the claims keep them from doubling up)."""
    cipher = FieldCipher.from_settings(config.registry)
    load_sms_gateway(config.notifications.sms_gateway)  # a wrong setting stops the start

    async def background(_app: web.Application) -> AsyncIterator[None]:
        stop = asyncio.Event()
        tasks = []
        if config.escalation.enabled:
            tasks.append(
                asyncio.create_task(
                    run_escalation(registry, config.escalation, config.notifications, stop=stop),
                    name="alert-escalation",
                )
            )
        if config.notifications.enabled:
            tasks.append(
                asyncio.create_task(
                    run_dispatcher(registry, config.notifications, cipher, stop=stop),
                    name="notification-delivery",
                )
            )
        yield
        stop.set()
        for task in tasks:
            try:
                await asyncio.wait_for(task, timeout=10)
            except (TimeoutError, asyncio.CancelledError):
                log.warning("%s did not stop in time", task.get_name())

    return background
