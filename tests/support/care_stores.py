"""A small registry for the care tests: two communities, their workers, a family member and
a recipient, each person with a heart-rate strap (passwords hashed once per run)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from functools import cache

from anxin.cloud.access.passwords import hash_password
from anxin.cloud.database.engines import make_engine
from anxin.cloud.database.models import Binding, Device, FamilyLink, Gateway, Person, User
from anxin.cloud.ingest.timeseries import SqlTimeSeries
from anxin.cloud.registry.registry import Registry
from anxin.cloud.stores import Stores

HOME = "幸福里社区"
ELSEWHERE = "和平里社区"
PASSWORD = "care-test-password"
# username: (role, community, person of a recipient)
USERS = {
    "admin": ("admin", None, None),
    "worker": ("worker", HOME, None),
    "worker2": ("worker", HOME, None),
    "other_worker": ("worker", ELSEWHERE, None),
    "family": ("family", None, None),
    "recipient": ("recipient", None, "p0002"),
}


@cache
def _password_hash() -> str:
    return hash_password(PASSWORD)


@contextmanager
def care_stores(url: str) -> Iterator[Stores]:
    registry = Registry(make_engine(url))
    registry.create_schema()
    timeseries = SqlTimeSeries(make_engine(url))
    timeseries.create_schema()
    persons = [("p0001", "张秀英", HOME), ("p0002", "李伟", HOME), ("p0003", "王芳", ELSEWHERE)]
    registry.add_all(
        [
            Person(
                id=pid,
                name=name,
                birth_date=date(1945, 3, 1),
                sex="F",
                community=community,
                site_id=f"home-{pid[-1]}",
            )
            for pid, name, community in persons
        ]
        + [Gateway(id=f"gw-{pid[-1]}", site_id=f"home-{pid[-1]}") for pid, _, _ in persons]
    )
    registry.add_all(
        [
            Device(
                id=f"hr-{pid[-1]}",
                gateway_id=f"gw-{pid[-1]}",
                kind="heart_rate_strap",
                address=f"C0:A0:0{pid[-1]}:01:00:01",
            )
            for pid, _, _ in persons
        ]
    )
    registry.add_all(
        [
            Binding(device_id=f"hr-{pid[-1]}", person_id=pid, valid_from_ms=0)
            for pid, _, _ in persons
        ]
        + [
            User(
                username=username,
                display_name=username,
                role=role,
                password_hash=_password_hash(),
                community=community,
                person_id=person_id,
            )
            for username, (role, community, person_id) in USERS.items()
        ]
    )
    registry.add_all([FamilyLink(username="family", person_id="p0001", relation="daughter")])
    stores = Stores(registry, timeseries)
    try:
        yield stores
    finally:
        stores.close()
