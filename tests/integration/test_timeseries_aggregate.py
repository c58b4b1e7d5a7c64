"""Downsampled views (`aggregate`) on SQLite, PostgreSQL and a real InfluxDB, checked
against buckets computed by hand."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from anxin.cloud.ingest.timeseries import Bucket, StoredObservation, TimeSeriesStore
from tests.support.influx import STORE_BACKENDS, running_influxd, store_on_backend


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def row(seq: int, at: str, value: float, person: str = "p-1", type: str = "heart_rate"):
    unit = "/min" if type == "heart_rate" else "%"
    return StoredObservation("gw-1", seq, person, "hr-1", type, value, unit, ms(at))


# Asia/Shanghai is UTC+8: its 2 March begins at 2026-03-01T16:00Z.
ROWS = [
    row(1, "2026-03-01T15:59:10", 60),
    row(2, "2026-03-01T15:59:50", 70),
    row(3, "2026-03-01T16:00:05", 90),
    row(4, "2026-03-01T16:00:40", 80),
    row(5, "2026-03-02T01:00:00", 100),
    # Other people and types must not leak into the buckets.
    row(6, "2026-03-01T15:59:30", 10, person="p-2"),
    row(7, "2026-03-01T15:59:30", 95, type="spo2"),
]
SINCE, UNTIL = ms("2026-03-01T00:00:00"), ms("2026-03-03T00:00:00")


@pytest.fixture(scope="module")
def influx_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_influxd(tmp_path_factory.mktemp("influx")) as url:
        yield url


@pytest.fixture(params=STORE_BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TimeSeriesStore]:
    with store_on_backend(request, tmp_path) as timeseries:
        timeseries.write(ROWS)
        yield timeseries


def approx(buckets: list[Bucket]) -> list[tuple[int, float, float, float, int]]:
    return [(b.start_ms, b.min, round(b.mean, 9), b.max, b.count) for b in buckets]


def test_minute_buckets(store: TimeSeriesStore) -> None:
    buckets = store.aggregate("p-1", "heart_rate", SINCE, UNTIL, "1m")
    assert approx(buckets) == [
        (ms("2026-03-01T15:59:00"), 60, 65, 70, 2),
        (ms("2026-03-01T16:00:00"), 80, 85, 90, 2),
        (ms("2026-03-02T01:00:00"), 100, 100, 100, 1),
    ]


def test_day_buckets_in_utc_and_in_shanghai(store: TimeSeriesStore) -> None:
    assert approx(store.aggregate("p-1", "heart_rate", SINCE, UNTIL, "1d")) == [
        (ms("2026-03-01T00:00:00"), 60, 75, 90, 4),
        (ms("2026-03-02T00:00:00"), 100, 100, 100, 1),
    ]
    shanghai = store.aggregate("p-1", "heart_rate", SINCE, UNTIL, "1d", tz="Asia/Shanghai")
    assert approx(shanghai) == [
        (ms("2026-02-28T16:00:00"), 60, 65, 70, 2),
        (ms("2026-03-01T16:00:00"), 80, 90, 100, 3),
    ]


def test_range_bounds_cut_rows_but_buckets_stay_on_the_grid(store: TimeSeriesStore) -> None:
    since, until = ms("2026-03-01T15:59:30"), ms("2026-03-01T16:00:40")
    assert approx(store.aggregate("p-1", "heart_rate", since, until, "1m")) == [
        (ms("2026-03-01T15:59:00"), 70, 70, 70, 1),
        (ms("2026-03-01T16:00:00"), 90, 90, 90, 1),
    ]
    assert store.aggregate("p-9", "heart_rate", SINCE, UNTIL, "1d") == []


def test_a_late_row_from_a_gateway_backlog_changes_its_old_bucket(
    store: TimeSeriesStore,
) -> None:
    store.aggregate("p-1", "heart_rate", SINCE, UNTIL, "1m")
    store.write([row(40, "2026-03-01T15:59:20", 50)])  # delivered a day late
    minutes = approx(store.aggregate("p-1", "heart_rate", SINCE, UNTIL, "1m"))
    assert minutes[0] == (ms("2026-03-01T15:59:00"), 50, 60, 70, 3)
    days = approx(store.aggregate("p-1", "heart_rate", SINCE, UNTIL, "1d", tz="Asia/Shanghai"))
    assert days[0] == (ms("2026-02-28T16:00:00"), 50, 60, 70, 3)


def test_unknown_bucket_or_zone_is_refused(store: TimeSeriesStore) -> None:
    with pytest.raises(ValueError, match="bucket"):
        store.aggregate("p-1", "heart_rate", SINCE, UNTIL, "1h")  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        store.aggregate("p-1", "heart_rate", SINCE, UNTIL, "1d", tz="Mars/Olympus")
