"""Escalation timeline with an injected clock: family at once, worker after N minutes,
supervisor after M, and acknowledgement stopping it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from anxin.cloud.care.alert_lifecycle import transition
from anxin.cloud.care.escalation import escalate_due
from anxin.cloud.database.models import FamilyLink
from anxin.cloud.registry.registry import Registry
from anxin.config import EscalationConfig, NotificationsConfig
from tests.support.alert_world import (
    BACKENDS,
    alert,
    alert_world,
    database_url,
    notifications,
    raise_alert,
    set_preferences,
)

T0 = 1_790_000_000_000  # when the alerts reach the cloud, in these tests
MIN = 60_000
ESCALATION = EscalationConfig.model_validate(
    {"critical": {"worker_after_min": 2, "supervisor_after_min": 5}}
)
NOTIFY = NotificationsConfig()


@pytest.fixture(params=BACKENDS)
def registry(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Registry]:
    monkeypatch.setattr("anxin.cloud.registry.registry.now_ms", lambda: T0)
    with alert_world(database_url(request, tmp_path)) as stores:
        for user in ("family", "worker", "helper", "boss"):
            set_preferences(stores.registry, user, notify_channels=["sms"], phone_enc="x")
        yield stores.registry


def told(registry: Registry, alert_id: int) -> list[tuple[int, str]]:
    return [(n.escalation_level, n.recipient) for n in notifications(registry, alert_id)]


def escalate(registry: Registry, at: int) -> list[int]:
    return [step.level for step in escalate_due(registry, ESCALATION, NOTIFY, at)]


def test_unacknowledged_critical_alert_climbs_family_worker_supervisor(
    registry: Registry,
) -> None:
    alert_id = raise_alert(registry, 1)
    assert escalate(registry, T0) == [1]
    assert told(registry, alert_id) == [(1, "family")]
    assert escalate(registry, T0 + 2 * MIN - 1) == []  # not yet
    assert escalate(registry, T0 + 2 * MIN) == [2]
    assert told(registry, alert_id)[1:] == [(2, "helper"), (2, "worker")]
    assert escalate(registry, T0 + 4 * MIN) == []
    assert escalate(registry, T0 + 5 * MIN) == [3]
    assert told(registry, alert_id)[-1] == (3, "boss")  # both workers' supervisor, once
    assert alert(registry, alert_id).next_escalation_at_ms is None
    assert escalate(registry, T0 + 60 * MIN) == []  # nothing above the supervisor


def test_acknowledging_stops_escalation(registry: Registry) -> None:
    alert_id = raise_alert(registry, 1)
    escalate(registry, T0)
    with registry.session() as session:
        transition(session, alert_id, "acknowledge", "family")
    assert escalate(registry, T0 + 30 * MIN) == []
    assert told(registry, alert_id) == [(1, "family")]
    assert alert(registry, alert_id).escalation_level == 1


def test_low_severity_stays_with_the_family(registry: Registry) -> None:
    set_preferences(registry, "family", notify_min_severity="low")
    alert_id = raise_alert(registry, 1, kind="battery_low", severity="low")
    assert escalate(registry, T0) == [1]
    assert escalate(registry, T0 + 24 * 60 * MIN) == []
    assert told(registry, alert_id) == [(1, "family")]


def test_without_family_the_worker_is_told_at_once(registry: Registry) -> None:
    with registry.session() as session, session.begin():
        session.query(FamilyLink).delete()
    alert_id = raise_alert(registry, 1)
    assert escalate(registry, T0) == [2]
    assert told(registry, alert_id) == [(2, "helper"), (2, "worker")]


def test_the_assigned_worker_is_told_rather_than_everyone(registry: Registry) -> None:
    from anxin.cloud.care.alert_lifecycle import assign

    alert_id = raise_alert(registry, 1)
    with registry.session() as session:
        assign(session, alert_id, "helper", "admin")
    escalate(registry, T0)
    escalate(registry, T0 + 2 * MIN)
    escalate(registry, T0 + 5 * MIN)
    assert told(registry, alert_id) == [(1, "family"), (2, "helper"), (3, "boss")]


def test_a_late_escalation_round_catches_up_every_level_once(registry: Registry) -> None:
    alert_id = raise_alert(registry, 1)
    assert escalate(registry, T0 + 10 * MIN) == [3]
    assert told(registry, alert_id) == [(1, "family"), (2, "helper"), (2, "worker"), (3, "boss")]


def test_two_processes_escalating_together_tell_each_person_once(registry: Registry) -> None:
    import threading

    alert_id = raise_alert(registry, 1)
    barrier = threading.Barrier(2)

    def run() -> None:
        barrier.wait()
        escalate(registry, T0)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert told(registry, alert_id) == [(1, "family")]


def test_escalation_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="must be later than worker_after_min"):
        EscalationConfig.model_validate(
            {"high": {"worker_after_min": 30, "supervisor_after_min": 10}}
        )
    kept = EscalationConfig.model_validate({"critical": {"worker_after_min": 1}})
    assert kept.critical.supervisor_after_min == 10  # the other default stays


async def test_the_api_process_escalates_and_delivers_in_the_background(tmp_path: Path) -> None:
    """What `anxin cloud api` starts: the escalation and delivery loops, with real time."""
    from aiohttp import web

    from anxin.cloud.care.escalation import api_background
    from anxin.cloud.registry.field_crypto import FieldCipher, new_key
    from anxin.config import CloudConfig
    from tests.support.waiting import eventually

    key = new_key()
    config = CloudConfig.model_validate(
        {
            "registry": {"encryption_key": key},
            "escalation": {"poll_s": 0.05},
            "notifications": {"poll_s": 0.05},
        }
    )
    with alert_world(f"sqlite:///{tmp_path}/bg.sqlite") as stores:
        registry = stores.registry
        cipher = FieldCipher.from_settings(config.registry)
        assert cipher is not None
        phone = cipher.encrypt("13800138000")
        set_preferences(registry, "family", notify_channels=["sms"], phone_enc=phone)
        app = web.Application()
        app.cleanup_ctx.append(api_background(registry, config))
        runner = web.AppRunner(app)
        await runner.setup()  # starts the cleanup contexts
        try:
            alert_id = raise_alert(registry, 1)
            rows = await eventually(
                lambda: [n for n in notifications(registry, alert_id) if n.status == "logged"],
                what="the family's SMS to be handed to the (logging) SMS gateway",
            )
        finally:
            await runner.cleanup()
    assert [(n.recipient, n.channel) for n in rows] == [("family", "sms")]
    assert "NOT SENT" in rows[0].detail
