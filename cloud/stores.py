"""Opens the registry and the time-series store a cloud process was configured with."""

from __future__ import annotations

from dataclasses import dataclass

from anxin.cloud.audit import keys as audit_keys
from anxin.cloud.database.engines import make_engine
from anxin.cloud.ingest.timeseries import SqlTimeSeries, TimeSeriesStore
from anxin.cloud.registry.registry import Registry
from anxin.config import CloudConfig


@dataclass
class Stores:
    registry: Registry
    timeseries: TimeSeriesStore

    def close(self) -> None:
        self.timeseries.close()
        self.registry.engine.dispose()


def open_stores(config: CloudConfig, create_schema: bool = True) -> Stores:
    """The stores; also makes the configured audit key the one this process audits with."""
    if config.audit.key is not None:
        audit_keys.install(audit_keys.AuditKeys.from_settings(config.audit))
    registry = Registry(make_engine(config.registry.url))
    if config.timeseries.backend == "influxdb":
        from anxin.cloud.ingest.influx import InfluxTimeSeries

        timeseries: TimeSeriesStore = InfluxTimeSeries(config.timeseries)
    else:
        sql = SqlTimeSeries(make_engine(config.timeseries.url))
        if create_schema:
            sql.create_schema()
        timeseries = sql
    if create_schema:
        registry.create_schema()
    return Stores(registry, timeseries)
