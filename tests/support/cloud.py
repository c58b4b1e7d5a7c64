"""Builders for a seeded registry and time-series store, on SQLite or PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import select

from anxin.cloud.database.engines import make_engine
from anxin.cloud.ingest.timeseries import SqlTimeSeries, observations
from anxin.cloud.registry.registry import Registry
from anxin.cloud.stores import Stores
from anxin.demo.homes import demo_homes, seed_registry
from anxin.protocol import AlertMessage, Observation, ObservationBatch, encode


@contextmanager
def seeded_stores(url: str, homes: int = 3) -> Iterator[Stores]:
    registry = Registry(make_engine(url))
    registry.create_schema()
    timeseries = SqlTimeSeries(make_engine(url))
    timeseries.create_schema()
    seed_registry(registry, demo_homes(homes))
    stores = Stores(registry, timeseries)
    try:
        yield stores
    finally:
        stores.close()


def now_ms() -> int:
    return int(time.time() * 1000)


def batch_payload(
    gateway: str = "gw-1", site: str = "home-1", seqs: range = range(3), device: str = "hr-1"
) -> bytes:
    start = now_ms()
    observations = [
        Observation(
            seq=seq,
            device_id=device,
            type="heart_rate",
            value=70 + seq % 100,
            unit="/min",
            ts_ms=start + seq,
        )
        for seq in seqs
    ]
    return encode(ObservationBatch(site_id=site, gateway_id=gateway, observations=observations))


def alert_payload(
    seq: int, gateway: str = "gw-1", site: str = "home-1", value: float = 131
) -> bytes:
    return encode(
        AlertMessage(
            site_id=site,
            gateway_id=gateway,
            seq=seq,
            device_id="hr-1",
            kind="heart_rate_high",
            severity="high",
            raised_at_ms=now_ms(),
            observation="heart_rate",
            value=value,
            threshold=120,
            message="heart_rate above 120",
        )
    )


def stored_seqs(stores: Stores) -> list[int]:
    """The sequence numbers of every observation in the SQL time-series store."""
    engine = stores.timeseries.engine  # type: ignore[attr-defined]
    with engine.connect() as connection:
        return list(connection.scalars(select(observations.c.seq)))
