"""The wear record counts the same hours from InfluxDB as from the SQL store."""

from pathlib import Path

import pytest

from anxin.cloud.care.follow_ups import worn_hours
from anxin.cloud.database.engines import make_engine
from anxin.cloud.ingest.influx import InfluxTimeSeries
from anxin.cloud.ingest.timeseries import SqlTimeSeries
from anxin.config import TimeSeriesConfig
from tests.support.care_data import heart_rate_readings, wearable_home
from tests.support.influx import running_influxd

pytestmark = pytest.mark.services
START_MS = 1_794_268_800_000  # 2026-11-10 00:00 UTC
HOUR_MS = 3_600_000


def test_worn_hours_from_influxdb_and_sql(tmp_path: Path) -> None:
    rows = heart_rate_readings(wearable_home(("14:00", "16:00")), "p0001", START_MS, 30)
    sql = SqlTimeSeries(make_engine(f"sqlite:///{tmp_path}/ts.sqlite"))
    sql.create_schema()
    sql.write(rows)
    with running_influxd(tmp_path / "influx") as url:
        influx = InfluxTimeSeries(
            TimeSeriesConfig(backend="influxdb", url=url, database="care_test")
        )
        influx.write(rows)
        kinds = ("heart_rate", "spo2")
        from_influx = worn_hours(influx, "p0001", kinds, START_MS, START_MS + 48 * HOUR_MS)
        influx.close()
    from_sql = worn_hours(sql, "p0001", kinds, START_MS, START_MS + 48 * HOUR_MS)
    sql.close()
    # 30 hours of wear less the two-hour break.
    assert len(from_sql) == 28
    assert from_influx == from_sql
    assert START_MS + 14 * HOUR_MS not in from_sql and START_MS + 13 * HOUR_MS in from_sql
