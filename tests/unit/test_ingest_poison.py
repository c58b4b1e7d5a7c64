"""One message the store cannot take is set aside after a few tries; the rest keep flowing.
A store that is down is another matter: nothing is set aside, nothing acknowledged."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from anxin.cloud.ingest.failures import MAX_STORE_ATTEMPTS, store_unavailable
from anxin.cloud.ingest.influx import InfluxError
from anxin.cloud.ingest.timeseries import StoredObservation
from anxin.cloud.ingest.worker import Ingest
from anxin.cloud.stores import Stores
from tests.support.cloud import batch_payload, seeded_stores

OBSERVATIONS = "anxin/v1/home-1/gw-1/observations"
POISON_SEQ = 666


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[Stores]:
    with seeded_stores(f"sqlite:///{tmp_path}/cloud.sqlite") as stores:
        yield stores


class ChokingStore:
    """The real store, except that it cannot take one row: it fails the way a driver fails
    on a value it cannot convert (OverflowError), however often it is asked."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.attempts_with_poison = 0

    def write(self, rows: Sequence[StoredObservation]) -> int:
        if any(row.seq == POISON_SEQ for row in rows):
            self.attempts_with_poison += 1
            raise OverflowError("Python int too large to convert to SQLite INTEGER")
        return self.inner.write(rows)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def test_a_message_the_store_cannot_take_is_set_aside_and_the_rest_stored(
    stores: Stores,
) -> None:
    store = ChokingStore(stores.timeseries)
    ingest = Ingest(stores.registry, store, "anxin/v1")  # type: ignore[arg-type]
    poison = batch_payload(seqs=range(POISON_SEQ, POISON_SEQ + 1))
    outcome = ingest.handle_many(
        [
            (OBSERVATIONS, batch_payload(seqs=range(0, 5))),
            (OBSERVATIONS, poison),
            (OBSERVATIONS, batch_payload(seqs=range(5, 10))),
        ]
    )
    assert stores.timeseries.count() == 10
    assert outcome.new == 10 and outcome.kind == "unstorable"
    # Once in the batch, then alone until the tries are used up.
    assert store.attempts_with_poison == 1 + MAX_STORE_ATTEMPTS
    [dead] = stores.registry.dead_letters()
    assert dead.payload == poison and dead.kind == "unstorable"
    assert dead.reason == (
        f"could not be stored ({MAX_STORE_ATTEMPTS} tries): "
        "OverflowError: Python int too large to convert to SQLite INTEGER"
    )
    assert ingest.counters["dead_letters_unstorable"] == 1
    assert ingest.counters["accepted"] == 2 and ingest.counters["stored"] == 10


def test_a_message_alone_that_cannot_be_stored_is_set_aside(stores: Stores) -> None:
    ingest = Ingest(stores.registry, ChokingStore(stores.timeseries), "anxin/v1")  # type: ignore[arg-type]
    outcome = ingest.handle(OBSERVATIONS, batch_payload(seqs=range(POISON_SEQ, POISON_SEQ + 1)))
    assert not outcome.accepted and "OverflowError" in outcome.reason
    assert ingest.handle(OBSERVATIONS, batch_payload(seqs=range(3))).new == 3


class DownStore:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def write(self, rows: Sequence[StoredObservation]) -> int:
        raise self.error


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connection refused"),
        InfluxError("InfluxDB write at http://127.0.0.1:1/write failed: refused"),
        InfluxError("InfluxDB write failed: HTTP 503: unavailable", status=503),
    ],
)
def test_a_store_that_is_down_sets_nothing_aside(stores: Stores, error: Exception) -> None:
    ingest = Ingest(stores.registry, DownStore(error), "anxin/v1")  # type: ignore[arg-type]
    for _ in range(MAX_STORE_ATTEMPTS + 2):
        with pytest.raises(type(error)):
            ingest.handle_many([(OBSERVATIONS, batch_payload(seqs=range(3)))])
    assert stores.registry.dead_letters() == []
    assert ingest.counters["messages"] == 0


def test_what_counts_as_a_store_that_is_down() -> None:
    refused = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    with pytest.raises(OperationalError) as raised, refused.connect() as connection:
        connection.execute(text("SELECT 1"))
    assert store_unavailable(raised.value)
    assert store_unavailable(InfluxError("no answer"))
    assert not store_unavailable(InfluxError("HTTP 400: unable to parse", status=400))
    assert not store_unavailable(OverflowError("too large"))
    assert not store_unavailable(ValueError("bad value"))
