"""Builders for a seeded registry and time-series store, on SQLite or PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from anxin.cloud.api import create_app
from anxin.cloud.database.engines import make_engine
from anxin.cloud.ingest.timeseries import SqlTimeSeries, observations
from anxin.cloud.registry.field_crypto import new_key
from anxin.cloud.registry.registry import Registry
from anxin.cloud.stores import Stores
from anxin.config import ApiConfig, CloudConfig, RegistryConfig
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


# A fixture parametrised with these runs its test on SQLite and on PostgreSQL.
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.services)]


@contextmanager
def seeded_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    """Seeded stores on the backend a ``BACKENDS``-parametrised fixture was given."""
    url = (
        f"sqlite:///{tmp_path}/cloud.sqlite"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    with seeded_stores(url) as stores:
        yield stores


def cloud_config(**api: Any) -> CloudConfig:
    """A configuration with a fresh field key; no role is asked a second factor unless said."""
    return CloudConfig(
        registry=RegistryConfig(url="sqlite://", encryption_key=new_key()),
        api=ApiConfig(**({"second_factor_roles": ()} | api)),
    )


@asynccontextmanager
async def api_client(
    stores: Stores,
    config: CloudConfig | None = None,
    prepare: Callable[[web.Application], None] | None = None,
) -> AsyncIterator[TestClient]:
    """The API on ``stores`` behind a test client; ``prepare`` may set app keys first."""
    app = create_app(stores.registry, stores.timeseries, config=config or cloud_config())
    if prepare is not None:
        prepare(app)
    async with TestClient(TestServer(app)) as client:
        yield client


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
