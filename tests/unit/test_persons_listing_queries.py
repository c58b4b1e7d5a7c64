"""`GET /persons` asks the stores a fixed number of questions, however many persons it lists,
and still answers each person's latest vitals and devices."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import Engine, event

from anxin.cloud.api import API_PREFIX, create_app
from anxin.cloud.api.registry_routes import LATEST_WINDOW_MS, iso
from anxin.cloud.database.models import Binding
from anxin.cloud.ingest.timeseries import StoredObservation
from anxin.cloud.stores import Stores
from tests.conftest import throwaway_postgres_schema
from tests.support.cloud import now_ms, seeded_stores


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.services)])
def new_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Makes empty databases of the parameter's kind, each dropped after the test."""
    with ExitStack() as stack:
        made: list[str] = []

        def make() -> str:
            if request.param == "sqlite":
                made.append(f"sqlite:///{tmp_path}/cloud-{len(made)}.sqlite")
            else:
                made.append(stack.enter_context(throwaway_postgres_schema()))
            return made[-1]

        yield make


def reading(
    person: str, seq: int, type: str, value: float, ts_ms: int, device: str = "hr-1"
) -> StoredObservation:
    unit = "/min" if type == "heart_rate" else "%"
    return StoredObservation("gw-1", seq, person, device, type, value, unit, ts_ms)


class StatementCounter:
    """Counts the SQL statements sent through some engines."""

    def __init__(self, *engines: Engine) -> None:
        self.engines = set(engines)
        self.count = 0

    def _seen(self, *_: object) -> None:
        self.count += 1

    def __enter__(self) -> StatementCounter:
        for engine in self.engines:
            event.listen(engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_: object) -> None:
        for engine in self.engines:
            event.remove(engine, "before_cursor_execute", self._seen)


async def persons_as_admin(stores: Stores) -> tuple[list[dict], int]:
    """The admin's `GET /persons` answer and how many SQL statements it took."""
    app = create_app(stores.registry, stores.timeseries)
    async with TestClient(TestServer(app)) as client:
        response = await client.post(
            f"{API_PREFIX}/login", json={"username": "admin", "password": "anxin-admin"}
        )
        assert response.status == 200, await response.text()
        headers = {"Authorization": f"Bearer {(await response.json())['token']}"}
        engines = (stores.registry.engine, stores.timeseries.engine)  # type: ignore[attr-defined]
        with StatementCounter(*engines) as counter:
            response = await client.get(f"{API_PREFIX}/persons", headers=headers)
        assert response.status == 200, await response.text()
        return await response.json(), counter.count


async def test_listing_takes_as_many_statements_for_30_persons_as_for_3(
    new_database: Callable[[], str],
) -> None:
    counts = {}
    for homes in (3, 30):
        with seeded_stores(new_database(), homes=homes) as stores:
            now = now_ms()
            stores.timeseries.write(
                [reading(f"p{n:04d}", n, "heart_rate", 70 + n, now - 1000) for n in (1, 2)]
            )
            listing, counts[homes] = await persons_as_admin(stores)
            assert len(listing) == homes
    assert counts[30] == counts[3], f"statements per listing: {counts}"


async def test_listing_shows_each_persons_latest_vitals_and_current_devices(
    tmp_path: Path,
) -> None:
    with seeded_stores(f"sqlite:///{tmp_path}/cloud.sqlite", homes=4) as stores:
        now = now_ms()
        old = now - LATEST_WINDOW_MS - 60_000
        stores.timeseries.write(
            [
                reading("p0001", 1, "heart_rate", 71, now - 9000),
                reading("p0001", 2, "heart_rate", 74, now - 3000),
                reading("p0001", 3, "heart_rate", 72, now - 6000),
                reading("p0001", 4, "spo2", 90, old, "ox-1"),  # older than the window
                reading("p0002", 5, "spo2", 97, now - 2000, "ox-2"),
                # two readings in one millisecond: the later sequence number is the latest
                reading("p0002", 6, "heart_rate", 80, now - 1000, "hr-2"),
                reading("p0002", 7, "heart_rate", 81, now - 1000, "hr-2"),
                reading("p0002", 8, "steps", 12, now - 1000, "waist-2"),  # not listed
            ]
        )
        with stores.registry.session() as session, session.begin():
            for binding in session.query(Binding).filter(Binding.person_id == "p0003"):
                if binding.device_id != "sos-3":
                    binding.valid_to_ms = now - 1
        listing, _ = await persons_as_admin(stores)
    by_id = {person["id"]: person for person in listing}
    assert by_id["p0001"]["latest"] == {
        "heart_rate": {"value": 74.0, "unit": "/min", "ts": iso(now - 3000)}
    }
    assert by_id["p0002"]["latest"] == {
        "heart_rate": {"value": 81.0, "unit": "/min", "ts": iso(now - 1000)},
        "spo2": {"value": 97.0, "unit": "%", "ts": iso(now - 2000)},
    }
    assert by_id["p0003"]["latest"] == {} and by_id["p0004"]["latest"] == {}
    assert [d["id"] for d in by_id["p0001"]["devices"]] == [
        "hr-1",
        "motion-1",
        "ox-1",
        "sos-1",
        "waist-1",
    ]
    assert by_id["p0003"]["devices"] == [
        {"id": "sos-3", "kind": "bthome_button", "state": "unknown"}
    ]
