"""InfluxTimeSeries against a real influxd started for this module."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from anxin.cloud.ingest.influx import InfluxError, InfluxTimeSeries
from anxin.cloud.ingest.timeseries import StoredObservation
from anxin.config import TimeSeriesConfig
from tests.support.influx import running_influxd

pytestmark = pytest.mark.services

T0 = 1_700_000_000_000


def obs(
    seq: int,
    ts_ms: int,
    value: float = 70.0,
    person_id: str | None = "p-1",
    type: str = "heart_rate",
    unit: str = "/min",
    device_id: str = "hr-1",
    gateway_id: str = "gw-1",
    device_ts_ms: int | None = None,
) -> StoredObservation:
    return StoredObservation(
        gateway_id=gateway_id,
        seq=seq,
        person_id=person_id,
        device_id=device_id,
        type=type,
        value=value,
        unit=unit,
        ts_ms=ts_ms,
        device_ts_ms=device_ts_ms,
    )


def config(url: str, database: str | None = None, **credentials: str) -> TimeSeriesConfig:
    database = database or f"anxin_test_{uuid.uuid4().hex[:8]}"
    return TimeSeriesConfig(backend="influxdb", url=url, database=database, **credentials)


def influxql(url: str, statement: str, auth: tuple[str, str] | None = None) -> None:
    response = requests.post(f"{url}/query", params={"q": statement}, auth=auth, timeout=10)
    response.raise_for_status()
    assert "error" not in response.json()["results"][0], response.text


@pytest.fixture(scope="module")
def influx_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_influxd(tmp_path_factory.mktemp("influx")) as url:
        yield url


@pytest.fixture
def store(influx_url: str) -> Iterator[InfluxTimeSeries]:
    timeseries = InfluxTimeSeries(config(influx_url))
    yield timeseries
    timeseries.close()


def test_round_trip_keeps_every_field_and_returns_oldest_first(store: InfluxTimeSeries) -> None:
    rows = [
        obs(1, T0 + 1000, 71.0, device_ts_ms=T0 + 990),
        obs(2, T0 + 2000, 72.5, device_id="hr-2", gateway_id="gw-2"),
        obs(3, T0 + 3000, 0.00001, device_ts_ms=-5),
        obs(4, T0 + 4000, 1e20),
    ]
    assert store.write(list(reversed(rows))) == 4
    assert store.query("p-1", "heart_rate", T0) == rows
    assert store.count() == 4


def test_since_is_inclusive_until_exclusive_and_limit_keeps_the_newest(
    store: InfluxTimeSeries,
) -> None:
    rows = [obs(seq, T0 + seq * 10, float(seq), device_id=f"hr-{seq % 3}") for seq in range(10)]
    store.write(rows)
    assert store.query("p-1", "heart_rate", T0 + 20, T0 + 50) == rows[2:5]
    assert store.query("p-1", "heart_rate", T0 + 21) == rows[3:]
    assert store.query("p-1", "heart_rate", T0, limit=3) == rows[-3:]
    assert store.query("p-1", "heart_rate", T0 + 20, T0 + 80, limit=2) == rows[6:8]
    assert store.query("p-1", "heart_rate", T0, limit=0) == []


def test_same_millisecond_different_seq_are_both_kept(store: InfluxTimeSeries) -> None:
    rr = [obs(seq, T0, 0.8 + seq / 100, type="rr_interval", unit="s") for seq in (7, 8, 9)]
    store.write(rr)
    assert store.query("p-1", "rr_interval", T0, T0 + 1) == rr
    assert store.count() == 3


def test_redelivered_gateway_seq_does_not_add_points(store: InfluxTimeSeries) -> None:
    rows = [obs(seq, T0 + seq) for seq in range(5)]
    store.write(rows)
    assert store.write(rows) == len(rows)  # InfluxDB cannot say which were new
    store.write(rows[2:4])
    assert store.count() == 5
    assert store.query("p-1", "heart_rate", T0) == rows


def test_person_and_type_filters_isolate(store: InfluxTimeSeries) -> None:
    mine = obs(1, T0 + 1)
    store.write(
        [
            mine,
            obs(2, T0 + 2, person_id="p-2"),
            obs(3, T0 + 3, type="spo2", unit="%"),
            obs(4, T0 + 4, person_id=None),
        ]
    )
    assert store.query("p-1", "heart_rate", T0) == [mine]
    assert [row.seq for row in store.query("p-2", "heart_rate", T0)] == [2]
    assert [row.seq for row in store.query("p-1", "spo2", T0)] == [3]
    assert store.query("p-3", "heart_rate", T0) == []
    assert store.count() == 4


def test_awkward_text_in_tags_and_fields_round_trips(store: InfluxTimeSeries) -> None:
    person = "O'Brien, 王 = 安心"
    rows = [
        obs(
            1,
            T0,
            120.0,
            person_id=person,
            type="blood pressure,systolic=1",
            unit='mm[Hg] "x" \\ 中文',
            device_id="cuff 1,a=b",
            gateway_id='gw "q" a\\b',
        ),
        obs(2, T0 + 1, person_id=person, type="blood pressure,systolic=1", device_id="c\\,d"),
    ]
    store.write(rows)
    assert store.query(person, "blood pressure,systolic=1", T0) == rows
    assert store.query("O'Brien", "blood pressure,systolic=1", T0) == []


def test_values_line_protocol_cannot_carry_are_refused(store: InfluxTimeSeries) -> None:
    with pytest.raises(ValueError, match="backslash"):
        store.write([obs(1, T0, device_id="trailing\\")])
    with pytest.raises(ValueError, match="line break"):
        store.write([obs(1, T0, person_id="a\nb")])
    with pytest.raises(ValueError, match="not finite"):
        store.write([obs(1, T0, float("nan"))])


def test_writes_are_sent_in_batches(influx_url: str) -> None:
    store = InfluxTimeSeries(config(influx_url), batch_lines=7)
    try:
        rows = [obs(seq, T0 + seq) for seq in range(20)]
        assert store.write(rows) == 20
        assert store.query("p-1", "heart_rate", T0) == rows
    finally:
        store.close()


def test_a_dropped_database_is_created_again(store: InfluxTimeSeries, influx_url: str) -> None:
    store.write([obs(1, T0)])
    influxql(influx_url, f'DROP DATABASE "{store.database}"')
    store.write([obs(2, T0 + 1)])
    assert [row.seq for row in store.query("p-1", "heart_rate", T0)] == [2]


def test_invalid_database_name_raises_influx_message(influx_url: str) -> None:
    store = InfluxTimeSeries(config(influx_url, database="bad/name"))
    with pytest.raises(InfluxError, match="invalid name"):
        store.write([obs(1, T0)])


def test_missing_database_raises_http_status_and_message(influx_url: str) -> None:
    store = InfluxTimeSeries(config(influx_url), create_database=False)
    with pytest.raises(InfluxError, match=r"HTTP 404: database not found") as raised:
        store.write([obs(1, T0)])
    assert raised.value.status == 404


def test_field_type_conflict_raises_http_400(store: InfluxTimeSeries, influx_url: str) -> None:
    # Field types are fixed per shard: a string "value" in T0's shard makes our floats conflict.
    influxql(influx_url, f'CREATE DATABASE "{store.database}"')
    response = requests.post(
        f"{influx_url}/write",
        params={"db": store.database, "precision": "ms"},
        data=f'observation,gateway_id=gw-9 value="text" {T0}'.encode(),
        timeout=10,
    )
    assert response.status_code == 204, response.text
    with pytest.raises(InfluxError, match=r"HTTP 400: .*conflict") as raised:
        store.write([obs(2, T0 + 1, gateway_id="gw-9")])
    assert raised.value.status == 400


def test_stopped_server_raises(tmp_path: Path) -> None:
    with running_influxd(tmp_path) as url:
        store = InfluxTimeSeries(config(url), timeout_s=2.0)
        store.write([obs(1, T0)])
    with pytest.raises(InfluxError, match=f"InfluxDB write at {url}/write failed"):
        store.write([obs(2, T0 + 1)])
    with pytest.raises(InfluxError, match="InfluxDB query at"):
        store.count()
    store.close()


def test_authentication(tmp_path: Path) -> None:
    with running_influxd(tmp_path, auth=True) as url:
        # With auth on and no users yet, influxd lets anyone create the first admin.
        influxql(url, "CREATE USER admin WITH PASSWORD 'secret' WITH ALL PRIVILEGES")
        admin = InfluxTimeSeries(config(url, username="admin", password="secret"))
        admin.write([obs(1, T0)])
        assert admin.count() == 1

        anonymous = InfluxTimeSeries(config(url, admin.database))
        with pytest.raises(InfluxError, match="HTTP 401") as raised:
            anonymous.count()
        assert raised.value.status == 401

        # A non-admin may not CREATE DATABASE; the store then uses the existing one.
        influxql(url, "CREATE USER ingest WITH PASSWORD 'pw'", auth=("admin", "secret"))
        influxql(url, f'GRANT ALL ON "{admin.database}" TO ingest', auth=("admin", "secret"))
        ingest = InfluxTimeSeries(config(url, admin.database, username="ingest", password="pw"))
        ingest.write([obs(2, T0 + 1)])
        assert [row.seq for row in ingest.query("p-1", "heart_rate", T0)] == [1, 2]
        for store in (admin, anonymous, ingest):
            store.close()
