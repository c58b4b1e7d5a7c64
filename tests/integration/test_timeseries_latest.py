"""`latest` (the newest reading of each person and type) on SQLite, PostgreSQL and a real
InfluxDB: the same answer as asking `query` pair by pair."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from anxin.cloud.ingest import influx
from anxin.cloud.ingest.influx import InfluxTimeSeries, latest_statement
from anxin.cloud.ingest.timeseries import StoredObservation, TimeSeriesStore
from anxin.config import TimeSeriesConfig
from tests.support.influx import STORE_BACKENDS, running_influxd, store_on_backend

T0 = 1_700_000_000_000
SINCE = T0 + 10_000


def row(
    seq: int,
    ts_ms: int,
    value: float,
    person: str | None = "p-1",
    type: str = "heart_rate",
    device: str = "hr-1",
    gateway: str = "gw-1",
    device_ts_ms: int | None = None,
) -> StoredObservation:
    unit = "/min" if type == "heart_rate" else "%"
    return StoredObservation(gateway, seq, person, device, type, value, unit, ts_ms, device_ts_ms)


ROWS = [
    row(1, T0 + 11_000, 70),
    row(2, T0 + 13_000, 72, device_ts_ms=T0 + 12_990),  # p-1's newest heart rate
    row(3, T0 + 12_000, 71, device="hr-2", gateway="gw-2"),
    row(4, T0 + 12_500, 96, type="spo2", device="ox-1"),
    row(5, T0 + 20_000, 1200, type="steps", device="waist-1"),  # a type not asked for
    # p-2: two readings in one millisecond; the higher sequence number is the newer.
    row(6, T0 + 15_000, 80, person="p-2"),
    row(7, T0 + 15_000, 81, person="p-2"),
    row(8, T0 + 14_000, 79, person="p-2"),
    # p-3 read only before `since`; p-4 reads its spo2 exactly at `since`.
    row(9, T0 + 5_000, 65, person="p-3"),
    row(10, SINCE - 1, 95, person="p-4", type="spo2"),
    row(11, SINCE, 94, person="p-4", type="spo2"),
    # A reading of no known person is nobody's latest.
    row(12, T0 + 30_000, 99, person=None),
]
PERSONS = ["p-1", "p-2", "p-3", "p-4", "p-nobody"]
TYPES = ["heart_rate", "spo2"]


@pytest.fixture(scope="module")
def influx_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_influxd(tmp_path_factory.mktemp("influx")) as url:
        yield url


@pytest.fixture(params=STORE_BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TimeSeriesStore]:
    with store_on_backend(request, tmp_path) as timeseries:
        timeseries.write(ROWS)
        yield timeseries


def test_newest_reading_of_each_person_and_type(store: TimeSeriesStore) -> None:
    assert store.latest(PERSONS, TYPES, SINCE) == {
        ("p-1", "heart_rate"): ROWS[1],
        ("p-1", "spo2"): ROWS[3],
        ("p-2", "heart_rate"): ROWS[6],
        ("p-4", "spo2"): ROWS[10],
    }


def test_same_answer_as_asking_each_pair(store: TimeSeriesStore) -> None:
    for since in (T0, SINCE, T0 + 14_500, T0 + 40_000):
        one_by_one = {
            (person, type): rows[-1]
            for person in PERSONS
            for type in [*TYPES, "steps"]
            if (rows := store.query(person, type, since, limit=1))
        }
        assert store.latest(PERSONS, [*TYPES, "steps"], since) == one_by_one, since


def test_nothing_asked_nothing_answered(store: TimeSeriesStore) -> None:
    assert store.latest([], TYPES, T0) == {}
    assert store.latest(PERSONS, [], T0) == {}
    assert store.latest(["p-nobody"], TYPES, T0) == {}
    assert store.latest(["p-1", "p-1"], ["spo2", "spo2"], T0) == {("p-1", "spo2"): ROWS[3]}


def test_influx_asks_in_chunks_of_persons(influx_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    database = f"anxin_chunks_{uuid.uuid4().hex[:8]}"
    store = InfluxTimeSeries(
        TimeSeriesConfig(backend="influxdb", url=influx_url, database=database)
    )
    persons = [f"p-{n:03d}" for n in range(25)]
    store.write([row(n, T0 + n, 60 + n, person=person) for n, person in enumerate(persons)])
    statements: list[str] = []

    def noted(*args: object) -> str:
        statements.append(latest_statement(*args))  # type: ignore[arg-type]
        return statements[-1]

    monkeypatch.setattr(influx, "LATEST_PERSONS_PER_STATEMENT", 10)
    monkeypatch.setattr(influx, "latest_statement", noted)
    found = store.latest(persons, ["heart_rate"], T0)
    store.close()
    assert len(statements) == 3
    assert {person for person, _ in found} == set(persons)


def test_influx_quotes_person_ids_and_types() -> None:
    statement = latest_statement(["o'brien", "back\\slash"], ['he"art'], T0)
    assert "\"person_id\" = 'o\\'brien' OR \"person_id\" = 'back\\\\slash'" in statement
    assert '"type" = \'he"art\'' in statement


def test_a_person_id_that_would_break_out_of_the_string_finds_nothing(
    store: TimeSeriesStore,
) -> None:
    hostile = ["p-1' OR \"person_id\" =~ /.*/ OR 'x' = 'x", "p-1\\"]
    assert store.latest(hostile, TYPES, T0) == {}
