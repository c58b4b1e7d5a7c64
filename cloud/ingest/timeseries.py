"""Time-series stores. Writes are idempotent on (gateway id, sequence)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

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


BucketSize = Literal["1m", "1d"]
BUCKET_SIZES: tuple[str, ...] = ("1m", "1d")
MINUTE_MS = 60_000
# Every time zone in use today is offset from UTC by a whole number of quarter hours, so
# quarter-hour partials fold exactly into local days.
QUARTER_HOUR_MS = 15 * MINUTE_MS


@dataclass(frozen=True)
class Bucket:
    """One downsampled bucket: [start_ms, start of the next bucket)."""

    start_ms: int
    min: float
    mean: float
    max: float
    count: int


@dataclass(frozen=True)
class Partial:
    """Sums over a stretch of time, mergeable into any coarser bucket."""

    start_ms: int
    min: float
    max: float
    total: float
    count: int


def local_day_start_ms(ts_ms: int, tz: str) -> int:
    """The UTC millisecond at which the local day (in ``tz``) holding ``ts_ms`` began."""
    zone = ZoneInfo(tz)
    local = datetime.fromtimestamp(ts_ms / 1000, tz=zone)
    midnight = datetime(local.year, local.month, local.day, tzinfo=zone)
    return int(midnight.timestamp() * 1000)


def fold(partials: Iterable[Partial], bucket_of: Callable[[int], int]) -> list[Bucket]:
    """Merge partials into buckets keyed by ``bucket_of(partial.start_ms)``, oldest first."""
    merged: dict[int, Partial] = {}
    for part in partials:
        key = bucket_of(part.start_ms)
        seen = merged.get(key)
        merged[key] = (
            Partial(key, part.min, part.max, part.total, part.count)
            if seen is None
            else Partial(
                key,
                min(seen.min, part.min),
                max(seen.max, part.max),
                seen.total + part.total,
                seen.count + part.count,
            )
        )
    return [
        Bucket(p.start_ms, p.min, p.total / p.count, p.max, p.count)
        for p in sorted(merged.values(), key=lambda p: p.start_ms)
        if p.count
    ]


def check_bucket(bucket: str, tz: str) -> None:
    if bucket not in BUCKET_SIZES:
        raise ValueError(f"bucket must be one of {', '.join(BUCKET_SIZES)}, not {bucket!r}")
    ZoneInfo(tz)  # raises ZoneInfoNotFoundError (a KeyError) for an unknown zone


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

    def latest(
        self, person_ids: Collection[str], types: Collection[str], since_ms: int
    ) -> dict[tuple[str, str], StoredObservation]:
        """The newest row of each (person, type) with ts_ms >= since_ms, keyed by that pair.

        A pair with no such row is left out. Of rows in the same millisecond the one with
        the highest seq is the newest, as in `query`.
        """
        ...

    def aggregate(
        self,
        person_id: str,
        type: str,
        since_ms: int,
        until_ms: int,
        bucket: BucketSize,
        tz: str = "UTC",
    ) -> list[Bucket]:
        """Per-bucket min/mean/max/count of values in [since_ms, until_ms), oldest first.

        Buckets lie on the bucket grid ("1m": whole UTC minutes; "1d": local midnights of
        ``tz``), so the first one may start before ``since_ms``; empty buckets are left out.
        Computed from the stored rows at each call, so a row that arrives late (a gateway's
        backlog) is in the next answer.
        """
        ...

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

    def latest(
        self, person_ids: Collection[str], types: Collection[str], since_ms: int
    ) -> dict[tuple[str, str], StoredObservation]:
        if not person_ids or not types:
            return {}
        newest_first = func.row_number().over(
            partition_by=(observations.c.person_id, observations.c.type),
            order_by=(
                observations.c.ts_ms.desc(),
                observations.c.seq.desc(),
                observations.c.gateway_id.desc(),
            ),
        )
        ranked = (
            select(observations, newest_first.label("rank"))
            .where(
                observations.c.person_id.in_(sorted(set(person_ids))),
                observations.c.type.in_(sorted(set(types))),
                observations.c.ts_ms >= since_ms,
            )
            .subquery()
        )
        statement = select(*(ranked.c[column.name] for column in observations.c)).where(
            ranked.c.rank == 1
        )
        with self.engine.connect() as connection:
            found = [StoredObservation(**row._mapping) for row in connection.execute(statement)]
        return {(row.person_id or "", row.type): row for row in found}

    def aggregate(
        self,
        person_id: str,
        type: str,
        since_ms: int,
        until_ms: int,
        bucket: BucketSize,
        tz: str = "UTC",
    ) -> list[Bucket]:
        check_bucket(bucket, tz)
        if bucket == "1m":
            return fold(self._partials(person_id, type, since_ms, until_ms, MINUTE_MS), int)
        partials = self._partials(person_id, type, since_ms, until_ms, QUARTER_HOUR_MS)
        return fold(partials, lambda start_ms: local_day_start_ms(start_ms, tz))

    def _partials(
        self, person_id: str, type: str, since_ms: int, until_ms: int, grain_ms: int
    ) -> list[Partial]:
        start = (observations.c.ts_ms // grain_ms) * grain_ms
        statement = (
            select(
                start.label("start"),
                func.min(observations.c.value),
                func.max(observations.c.value),
                func.sum(observations.c.value),
                func.count(),
            )
            .where(
                observations.c.person_id == person_id,
                observations.c.type == type,
                observations.c.ts_ms >= since_ms,
                observations.c.ts_ms < until_ms,
            )
            .group_by(start)
        )
        with self.engine.connect() as connection:
            return [
                Partial(int(row[0]), float(row[1]), float(row[2]), float(row[3]), int(row[4]))
                for row in connection.execute(statement)
            ]

    def count(self) -> int:
        with self.engine.connect() as connection:
            return int(
                connection.execute(select(func.count()).select_from(observations)).scalar_one()
            )

    def close(self) -> None:
        self.engine.dispose()
