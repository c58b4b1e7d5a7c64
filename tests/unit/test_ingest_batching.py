"""Several waiting messages stored with one time-series write (what a worker does)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from anxin.cloud.ingest.timeseries import StoredObservation
from anxin.cloud.ingest.worker import Ingest
from anxin.cloud.registry.registry import Principal
from anxin.cloud.stores import Stores
from tests.support.cloud import alert_payload, batch_payload, seeded_stores

ADMIN = Principal("admin", "admin", "admin", None, frozenset())
OBSERVATIONS = "anxin/v1/home-1/gw-1/observations"


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[Stores]:
    with seeded_stores(f"sqlite:///{tmp_path}/cloud.sqlite") as stores:
        yield stores


class CountingStore:
    """Wraps the real store, counting its writes; can be told to fail like a dead server."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.writes = 0
        self.down = False

    def write(self, rows: Sequence[StoredObservation]) -> int:
        if self.down:
            raise ConnectionError("time-series store unreachable")
        self.writes += 1
        return self.inner.write(rows)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def test_one_write_for_many_messages_and_bad_ones_set_aside(stores: Stores) -> None:
    store = CountingStore(stores.timeseries)
    ingest = Ingest(stores.registry, store, "anxin/v1")  # type: ignore[arg-type]
    outcome = ingest.handle_many(
        [
            (OBSERVATIONS, batch_payload(seqs=range(0, 5))),
            (OBSERVATIONS, b"not json"),
            ("anxin/v1/home-1/gw-1/alerts", alert_payload(7)),
            (OBSERVATIONS, batch_payload(seqs=range(3, 10))),  # 3 and 4 again
        ]
    )
    assert store.writes == 1
    assert (outcome.new, outcome.duplicates) == (11, 2)  # 10 observations and the alert
    assert stores.timeseries.count() == 10
    assert len(stores.registry.dead_letters()) == 1
    assert len(stores.registry.alerts_visible_to(ADMIN)) == 1
    assert ingest.counters["messages"] == 4 and ingest.counters["rejected"] == 1
    assert ingest.counters["stored"] == 11 and ingest.counters["duplicates"] == 2


def test_a_failed_write_raises_so_nothing_is_acknowledged(stores: Stores) -> None:
    store = CountingStore(stores.timeseries)
    store.down = True
    ingest = Ingest(stores.registry, store, "anxin/v1")  # type: ignore[arg-type]
    with pytest.raises(ConnectionError):
        ingest.handle_many([(OBSERVATIONS, batch_payload(seqs=range(3)))])
    assert ingest.counters["stored"] == 0 and stores.registry.dead_letters() == []
    store.down = False  # the broker redelivers: now it is stored, once
    ingest.handle_many([(OBSERVATIONS, batch_payload(seqs=range(3)))])
    assert stores.timeseries.count() == 3
