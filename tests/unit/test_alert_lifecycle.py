"""Alert lifecycle: allowed and refused steps, stamps, audit, races, and folding of repeats."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from anxin.cloud.audit import chain as audit
from anxin.cloud.care.alert_lifecycle import (
    BadAssignee,
    IllegalTransition,
    assign,
    transition,
    transitions_of,
)
from anxin.cloud.database.models import AuditEntry
from anxin.cloud.registry.registry import Registry
from tests.support.alert_world import BACKENDS, alert, alert_world, database_url, raise_alert


@pytest.fixture(params=BACKENDS)
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Registry]:
    with alert_world(database_url(request, tmp_path)) as stores:
        yield stores.registry


def step(registry: Registry, alert_id: int, action: str, actor: str = "worker", **kw: str) -> None:
    with registry.session() as session:
        transition(session, alert_id, action, actor, **kw)


def test_a_raised_alert_starts_open_with_its_first_transition(registry: Registry) -> None:
    alert_id = raise_alert(registry, 1)
    with registry.session() as session:
        [first] = transitions_of(session, alert_id)
        audit_actions = list(session.scalars(select(AuditEntry.action)))
    assert (first.from_status, first.to_status, first.actor) == (None, "open", "gateway:gw-1")
    assert "alert.raise" in audit_actions
    raised = alert(registry, alert_id)
    assert raised.status == "open" and raised.escalation_level == 0
    assert raised.next_escalation_at_ms == raised.received_at_ms  # family told at once


def test_full_path_stamps_who_and_when_and_audits_each_step(registry: Registry) -> None:
    alert_id = raise_alert(registry, 1)
    step(registry, alert_id, "acknowledge", note="我打电话过去")
    acknowledged = alert(registry, alert_id)
    assert acknowledged.status == "acknowledged"
    assert acknowledged.acknowledged_by == "worker" and acknowledged.acknowledged_at_ms
    assert acknowledged.next_escalation_at_ms is None  # escalation stopped
    step(registry, alert_id, "start")
    step(registry, alert_id, "resolve", outcome="上门查看，老人无恙")
    resolved = alert(registry, alert_id)
    assert resolved.status == "resolved"
    assert resolved.closed_by == "worker" and resolved.outcome == "上门查看，老人无恙"
    with registry.session() as session:
        path = [(t.from_status, t.to_status, t.note) for t in transitions_of(session, alert_id)]
        actions = list(
            session.scalars(
                select(AuditEntry.action).where(AuditEntry.target == f"alerts/{alert_id}")
            )
        )
        assert audit.verify(session).intact
    assert path == [
        (None, "open", ""),
        ("open", "acknowledged", "我打电话过去"),
        ("acknowledged", "in_progress", ""),
        ("in_progress", "resolved", ""),
    ]
    assert actions == ["alert.raise", "alert.acknowledge", "alert.start", "alert.resolve"]


def test_starting_an_open_alert_counts_as_acknowledging_it(registry: Registry) -> None:
    alert_id = raise_alert(registry, 1)
    step(registry, alert_id, "start", actor="admin")
    started = alert(registry, alert_id)
    assert started.status == "in_progress"
    assert started.acknowledged_by == "admin" and started.next_escalation_at_ms is None


def test_dismiss_needs_a_reason_and_is_final(registry: Registry) -> None:
    alert_id = raise_alert(registry, 1, kind="sos")
    with pytest.raises(ValueError, match="'reason' is required"):
        step(registry, alert_id, "dismiss", outcome="  ")
    step(registry, alert_id, "dismiss", outcome="误按")
    for action in ("acknowledge", "start", "resolve", "dismiss"):
        with pytest.raises(IllegalTransition, match="dismissed, which is final"):
            step(registry, alert_id, action, outcome="x")
    assert alert(registry, alert_id).outcome == "误按"


def test_illegal_steps_are_refused_and_leave_no_trace(registry: Registry) -> None:
    alert_id = raise_alert(registry, 1)
    with pytest.raises(IllegalTransition, match="resolve needs it acknowledged or in_progress"):
        step(registry, alert_id, "resolve", outcome="done")
    with pytest.raises(ValueError, match="'outcome' is required"):
        step(registry, alert_id, "resolve")
    step(registry, alert_id, "acknowledge")
    with pytest.raises(IllegalTransition, match="is acknowledged: acknowledge needs it open"):
        step(registry, alert_id, "acknowledge")
    with registry.session() as session:
        assert len(transitions_of(session, alert_id)) == 2


def test_two_people_acknowledging_at_once_one_wins(registry: Registry) -> None:
    alert_id = raise_alert(registry, 1)
    barrier = threading.Barrier(2)
    results: dict[str, str] = {}

    def acknowledge(actor: str) -> None:
        barrier.wait()
        try:
            step(registry, alert_id, "acknowledge", actor=actor)
            results[actor] = "won"
        except IllegalTransition as exc:
            results[actor] = str(exc)

    threads = [threading.Thread(target=acknowledge, args=(who,)) for who in ("worker", "family")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [who for who, result in results.items() if result == "won"]
    assert len(winners) == 1, results
    loser = next(who for who in results if who not in winners)
    assert "acknowledged" in results[loser]
    assert alert(registry, alert_id).acknowledged_by == winners[0]
    with registry.session() as session:
        assert [t.to_status for t in transitions_of(session, alert_id)] == ["open", "acknowledged"]


def test_repeats_fold_while_active_and_open_a_new_alert_once_closed(registry: Registry) -> None:
    first = raise_alert(registry, 1, kind="heart_rate_high", severity="high")
    assert raise_alert(registry, 2, kind="heart_rate_high", severity="high") == first
    step(registry, first, "acknowledge")
    assert raise_alert(registry, 3, kind="heart_rate_high", severity="high") == first
    step(registry, first, "start")
    assert raise_alert(registry, 4, kind="heart_rate_high", severity="high") == first
    assert alert(registry, first).occurrences == 4
    assert alert(registry, first).status == "in_progress"  # a repeat does not reopen it
    step(registry, first, "resolve", outcome="药物调整后好转")
    second = raise_alert(registry, 5, kind="heart_rate_high", severity="high")
    assert second != first
    assert alert(registry, second).status == "open" and alert(registry, second).occurrences == 1


def test_assign_only_to_a_worker_of_the_persons_community(registry: Registry) -> None:
    alert_id = raise_alert(registry, 1)
    with registry.session() as session:
        assert assign(session, alert_id, "helper", "admin").assigned_to == "helper"
    for who in ("family", "boss", "nobody"):
        with registry.session() as session, pytest.raises(BadAssignee, match=f"'{who}'"):
            assign(session, alert_id, who, "admin")
    step(registry, alert_id, "dismiss", outcome="误报")
    with registry.session() as session, pytest.raises(IllegalTransition, match="closed"):
        assign(session, alert_id, "worker", "admin")
    with registry.session() as session:
        actions = list(
            session.scalars(
                select(AuditEntry.action).where(AuditEntry.target == f"alerts/{alert_id}")
            )
        )
    assert actions.count("alert.assign") == 1
