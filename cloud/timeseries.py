"""Time-series stores. Writes are idempotent on (gateway id, sequence)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Float,
    Index,
    MetaData,
    String,
    Table,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite


@dataclass(frozen=True)
class StoredObservation:
    gateway_id: str
    seq: int
    person_id: str | None
    device_id: str
    type: str
    value: float
    unit: str
    ts_ms: int
    device_ts_ms: int | None = None


class TimeSeriesStore(Protocol):
    def write(self, rows: Sequence[StoredObservation]) -> int:
        """Store rows; return how many were new (a redelivered (gateway, seq) is not)."""
        ...

    def query(
        self,
        person_id: str,
        type: str,
        since_ms: int,
        until_ms: int | None = None,
        limit: int = 10_000,
    ) -> list[StoredObservation]: ...

    def count(self) -> int: ...

    def close(self) -> None: ...


_metadata = MetaData()
observations = Table(
    "observations",
    _metadata,
    Column("gateway_id", String(64), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("person_id", String(32), nullable=True),
    Column("device_id", String(64), nullable=False),
    Column("type", String(32), nullable=False),
    Column("value", Float, nullable=False),
    Column("unit", String(16), nullable=False),
    Column("ts_ms", BigInteger, nullable=False),
    Column("device_ts_ms", BigInteger, nullable=True),
    Index("ix_observations_person_type_ts", "person_id", "type", "ts_ms"),
)


class SqlTimeSeries:
    """Observations in a SQL table: SQLite in the embedded default, PostgreSQL works too."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        dialect = engine.dialect.name
        if dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"SQL time series supports sqlite and postgresql, not {dialect}")
        self._insert = (sqlite.insert if dialect == "sqlite" else postgresql.insert)(observations)

    def create_schema(self) -> None:
        _metadata.create_all(self.engine)

    def write(self, rows: Sequence[StoredObservation]) -> int:
        if not rows:
            return 0
        statement = self._insert.on_conflict_do_nothing(
            index_elements=["gateway_id", "seq"]
        ).returning(observations.c.seq)
        # RETURNING lists only the rows actually inserted; rowcount is unreliable for batches.
        with self.engine.begin() as connection:
            result = connection.execute(statement, [row.__dict__ for row in rows])
            return len(result.all())

    def query(
        self,
        person_id: str,
        type: str,
        since_ms: int,
        until_ms: int | None = None,
        limit: int = 10_000,
    ) -> list[StoredObservation]:
        statement = (
            select(observations)
            .where(
                observations.c.person_id == person_id,
                observations.c.type == type,
                observations.c.ts_ms >= since_ms,
            )
            .order_by(observations.c.ts_ms.desc(), observations.c.seq.desc())
            .limit(limit)
        )
        if until_ms is not None:
            statement = statement.where(observations.c.ts_ms < until_ms)
        with self.engine.connect() as connection:
            rows = [StoredObservation(**row._mapping) for row in connection.execute(statement)]
        rows.reverse()
        return rows

    def count(self) -> int:
        with self.engine.connect() as connection:
            return int(
                connection.execute(select(func.count()).select_from(observations)).scalar_one()
            )

    def close(self) -> None:
        self.engine.dispose()
