"""What every API area's handlers are built with."""

from __future__ import annotations

from dataclasses import dataclass

from anxin.cloud.ingest.timeseries import TimeSeriesStore
from anxin.cloud.registry.registry import Registry
from anxin.config import CloudConfig


@dataclass
class ApiContext:
    registry: Registry
    timeseries: TimeSeriesStore
    config: CloudConfig
