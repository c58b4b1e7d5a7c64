"""A seeded registry for alert lifecycle, escalation and notification tests.

Three demo homes (p0001 张秀英 is linked to the user ``family``), the workers ``worker``
and ``helper`` of 幸福里社区 with their supervisor ``boss`` (an admin), and a recipient
login ``elder`` for p0001.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

import pytest
from sqlalchemy import select

from anxin.cloud.access.passwords import hash_password
from anxin.cloud.database.models import Alert, Notification, User
from anxin.cloud.registry.registry import Registry
from anxin.cloud.stores import Stores
from anxin.demo.homes import COMMUNITY
from anxin.protocol import AlertMessage
from tests.support.cloud import seeded_stores

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.services)]
ELDER_PASSWORD = "anxin-elder-1"
# Hashing the same demo passwords again for every test would take most of its time.
cached_hash = functools.cache(hash_password)


def database_url(request: pytest.FixtureRequest, tmp_path: object) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    return f"sqlite:///{tmp_path}/alerts.sqlite"


@contextmanager
def alert_world(url: str) -> Iterator[Stores]:
    with mock.patch("anxin.demo.homes.hash_password", cached_hash), seeded_stores(url) as stores:
        registry = stores.registry
        registry.add_all(
            [
                User(
                    username="boss",
                    display_name="社区主任 王强",
                    role="admin",
                    password_hash=cached_hash("anxin-boss-1"),
                ),
                User(
                    username="helper",
                    display_name="社区健康工作者 陈静",
                    role="worker",
                    password_hash=cached_hash("anxin-helper-1"),
                    community=COMMUNITY,
                    supervisor="boss",
                ),
                User(
                    username="elder",
                    display_name="张秀英",
                    role="recipient",
                    password_hash=cached_hash(ELDER_PASSWORD),
                    person_id="p0001",
                ),
            ]
        )
        with registry.session() as session, session.begin():
            worker = session.get(User, "worker")
            assert worker is not None
            worker.supervisor = "boss"
        yield stores


def set_preferences(registry: Registry, username: str, **values: object) -> None:
    with registry.session() as session, session.begin():
        user = session.get(User, username)
        assert user is not None
        for name, value in values.items():
            setattr(user, name, value)


def raise_alert(
    registry: Registry,
    seq: int,
    kind: str = "fall",
    severity: str = "critical",
    device: str = "hr-1",
    gateway: str = "gw-1",
    site: str = "home-1",
) -> int:
    """Store one alert message for the device's person; the id of the alert it went into."""
    message = AlertMessage(
        site_id=site,
        gateway_id=gateway,
        seq=seq,
        device_id=device,
        kind=kind,
        severity=severity,  # type: ignore[arg-type]
        raised_at_ms=int(time.time() * 1000),
        message=f"{kind} detected",
        value=131.0 if kind == "heart_rate_high" else None,
        threshold=120.0 if kind == "heart_rate_high" else None,
    )
    person = registry.person_for_device(device, message.raised_at_ms)
    assert registry.record_alert(message, person)
    with registry.session() as session:
        alert_id = session.scalar(
            select(Alert.id)
            .where(Alert.device_id == device, Alert.kind == kind)
            .order_by(Alert.id.desc())
        )
    assert alert_id is not None
    return alert_id


def alert(registry: Registry, alert_id: int) -> Alert:
    with registry.session() as session:
        row = session.get(Alert, alert_id)
        assert row is not None
        return row


def notifications(registry: Registry, alert_id: int | None = None) -> list[Notification]:
    query = select(Notification).order_by(Notification.id)
    if alert_id is not None:
        query = query.where(Notification.alert_id == alert_id)
    with registry.session() as session:
        return list(session.scalars(query))
