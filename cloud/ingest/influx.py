"""Observations in InfluxDB over its v1 HTTP API (`/write` line protocol, `/query` InfluxQL).

InfluxDB 1.x serves this API natively; 2.x (compatibility API) and 3.x serve it too.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any

import requests

from anxin.cloud.ingest.timeseries import Bucket, BucketSize, StoredObservation, check_bucket
from anxin.config import TimeSeriesConfig

MEASUREMENT = "observation"
BATCH_LINES = 5000
# Statements travel in the query string; this many persons keep one well under 16 KiB.
LATEST_PERSONS_PER_STATEMENT = 100
TIMEOUT_S = (5.0, 30.0)  # (connect, read)


class InfluxError(RuntimeError):
    """InfluxDB refused a request or could not be reached; the message says which and why."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


# --- line protocol -------------------------------------------------------------------------


class UnknownTimeZone(ValueError):
    pass


def escape_measurement(name: str) -> str:
    return _reject_newlines(name, "measurement").replace(",", r"\,").replace(" ", r"\ ")


def escape_key(key: str) -> str:
    """A tag key or field key."""
    return escape_tag_value(key, "key")


def escape_tag_value(value: str, what: str = "tag value") -> str:
    # InfluxDB 1.x unescapes only "\,", "\ " and "\=" in tags and keeps every other backslash
    # as written, so backslashes are left alone; one at the very end would escape the delimiter.
    _reject_newlines(value, what)
    if value.endswith("\\"):
        raise ValueError(
            f"{what} {value!r} ends with a backslash, which line protocol cannot carry"
        )
    return value.replace(",", r"\,").replace(" ", r"\ ").replace("=", r"\=")


def escape_field_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _reject_newlines(value: str, what: str) -> str:
    if "\n" in value or "\r" in value:
        raise ValueError(
            f"{what} {value!r} contains a line break, which line protocol cannot carry"
        )
    return value


def timestamp_ns(row: StoredObservation) -> int:
    # A point is identified by measurement + tag set + timestamp. Folding seq into the
    # sub-millisecond digits keeps the time millisecond-exact, keeps several readings of one
    # device in the same millisecond apart (e.g. RR intervals of one notification), and puts a
    # redelivered (gateway, seq) on the very point it wrote before, overwriting it in place.
    return row.ts_ms * 1_000_000 + row.seq % 1_000_000


@functools.lru_cache(maxsize=65_536)
def tag_set(person_id: str | None, device_id: str, type: str, gateway_id: str) -> str:
    # Few distinct tag sets and many rows each: escaping once per set is a large part of
    # the ingest's CPU saved.
    tags = {"person_id": person_id, "device_id": device_id, "type": type, "gateway_id": gateway_id}
    # Line protocol has no empty tag values: an absent tag is how "none" is written.
    return "".join(
        f",{escape_key(key)}={escape_tag_value(value, key)}"
        for key, value in sorted(tags.items())
        if value
    )


def to_line(row: StoredObservation) -> str:
    tags = tag_set(row.person_id, row.device_id, row.type, row.gateway_id)
    if not math.isfinite(row.value):
        raise ValueError(f"observation {row.gateway_id}/{row.seq}: value {row.value} is not finite")
    fields = {
        "value": repr(float(row.value)),
        "seq": f"{int(row.seq)}i",
        "unit": escape_field_string(row.unit),
    }
    if row.device_ts_ms is not None:
        fields["device_ts_ms"] = f"{int(row.device_ts_ms)}i"
    field_set = ",".join(f"{escape_key(key)}={value}" for key, value in fields.items())
    return f"{escape_measurement(MEASUREMENT)}{tags} {field_set} {timestamp_ns(row)}"


# --- InfluxQL ------------------------------------------------------------------------------


def quote_ident(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")
    return "'" + escaped + "'"


_COLUMNS = ("value", "seq", "unit", "device_ts_ms", "device_id", "gateway_id")


def select_statement(
    person_id: str, type: str, since_ms: int, until_ms: int | None, limit: int
) -> str:
    where = [
        f"{quote_ident('person_id')} = {quote_string(person_id)}",
        f"{quote_ident('type')} = {quote_string(type)}",
        f"time >= {int(since_ms)}ms",
    ]
    if until_ms is not None:
        where.append(f"time < {int(until_ms)}ms")
    columns = ", ".join(quote_ident(column) for column in _COLUMNS)
    return (
        f"SELECT {columns} FROM {quote_ident(MEASUREMENT)} WHERE {' AND '.join(where)} "
        f"ORDER BY time DESC LIMIT {int(limit)}"
    )


def latest_statement(person_ids: Sequence[str], types: Sequence[str], since_ms: int) -> str:
    """The newest point of each (person, type): one series per pair, one row each."""

    def any_of(tag: str, values: Sequence[str]) -> str:
        return "(" + " OR ".join(f"{quote_ident(tag)} = {quote_string(v)}" for v in values) + ")"

    # With a single selector InfluxDB 1.x answers the other columns, and the time, of the
    # very point the selector picked.
    others = ", ".join(quote_ident(column) for column in _COLUMNS[1:])
    return (
        f"SELECT last({quote_ident('value')}) AS {quote_ident('value')}, {others} "
        f"FROM {quote_ident(MEASUREMENT)} "
        f"WHERE time >= {int(since_ms)}ms AND {any_of('person_id', person_ids)} "
        f"AND {any_of('type', types)} "
        f"GROUP BY {quote_ident('person_id')}, {quote_ident('type')}"
    )


def aggregate_statement(
    person_id: str, type: str, since_ms: int, until_ms: int, bucket: str, tz: str
) -> str:
    value = quote_ident("value")
    where = (
        f"{quote_ident('person_id')} = {quote_string(person_id)} AND "
        f"{quote_ident('type')} = {quote_string(type)} AND "
        f"time >= {int(since_ms)}ms AND time < {int(until_ms)}ms"
    )
    # Day buckets start at local midnight of tz; minute buckets are the same in every zone.
    zone = f" tz({quote_string(tz)})" if bucket == "1d" and tz != "UTC" else ""
    return (
        f"SELECT MIN({value}), MEAN({value}), MAX({value}), COUNT({value}) "
        f"FROM {quote_ident(MEASUREMENT)} WHERE {where} "
        f"GROUP BY time({bucket}) fill(none){zone}"
    )


# --- the store -----------------------------------------------------------------------------


class InfluxTimeSeries:
    """A `TimeSeriesStore` on InfluxDB.

    Measurement `observation`; tags person_id (absent when unknown), device_id, type,
    gateway_id; fields value, seq, unit, device_ts_ms. The database is created on first use
    unless `create_database` is False (InfluxDB 2.x maps databases to buckets instead).
    """

    def __init__(
        self,
        config: TimeSeriesConfig,
        *,
        create_database: bool = True,
        timeout_s: float | tuple[float, float] = TIMEOUT_S,
        batch_lines: int = BATCH_LINES,
    ) -> None:
        if not config.url.startswith(("http://", "https://")):
            raise ValueError(
                f"timeseries.url must be the InfluxDB HTTP address (http://host:8086), "
                f"not {config.url!r}"
            )
        self.base_url = config.url.rstrip("/")
        self.database = config.database
        self.timeout_s = timeout_s
        self.batch_lines = batch_lines
        self._session = requests.Session()
        if config.username is not None:
            self._session.auth = (config.username, config.password or "")
        self._creates_database = create_database
        self._database_ready = not create_database
        self._lock = threading.Lock()

    def write(self, rows: Sequence[StoredObservation]) -> int:
        """Store rows and return len(rows).

        InfluxDB overwrites a redelivered (gateway, seq) in place without saying so, so this
        cannot tell new rows from repeated ones: every row is reported as written.
        """
        if not rows:
            return 0
        lines = [to_line(row) for row in rows]
        self._ensure_database()
        for chunk in _chunks(lines, self.batch_lines):
            try:
                self._write_lines(chunk)
            except InfluxError as error:
                if error.status != 404 or not self._creates_database:
                    raise
                # The database was dropped under us: create it again, once.
                self._database_ready = False
                self._ensure_database()
                self._write_lines(chunk)
        return len(rows)

    def query(
        self,
        person_id: str,
        type: str,
        since_ms: int,
        until_ms: int | None = None,
        limit: int = 10_000,
    ) -> list[StoredObservation]:
        """Up to `limit` of the newest matching rows in [since_ms, until_ms), oldest first."""
        if limit <= 0:
            return []
        statement = select_statement(person_id, type, since_ms, until_ms, limit)
        # InfluxDB 1.x stores each field of a point apart and a read may overlap the write:
        # a point whose value or seq is not there yet is left for the next query.
        rows = [
            _observation(record, person_id, type)
            for record in self._select(statement)
            if record.get("value") is not None and record.get("seq") is not None
        ]
        rows.reverse()
        return rows

    def latest(
        self, person_ids: Collection[str], types: Collection[str], since_ms: int
    ) -> dict[tuple[str, str], StoredObservation]:
        """One statement per LATEST_PERSONS_PER_STATEMENT persons.

        Of points in one millisecond the one with the highest seq (modulo a million, see
        `timestamp_ns`) is the newest, as in `query`."""
        persons, kinds = sorted(set(person_ids)), sorted(set(types))
        found: dict[tuple[str, str], StoredObservation] = {}
        if not kinds:
            return found
        for start in range(0, len(persons), LATEST_PERSONS_PER_STATEMENT):
            chunk = persons[start : start + LATEST_PERSONS_PER_STATEMENT]
            for tags, record in self._select_grouped(latest_statement(chunk, kinds, since_ms)):
                person_id, type = tags.get("person_id") or "", tags.get("type") or ""
                # As in `query`: a point whose fields are not all written yet is skipped.
                if record.get("value") is None or record.get("seq") is None:
                    continue
                found[(person_id, type)] = _observation(record, person_id, type)
        return found

    def aggregate(
        self,
        person_id: str,
        type: str,
        since_ms: int,
        until_ms: int,
        bucket: BucketSize,
        tz: str = "UTC",
    ) -> list[Bucket]:
        """Computed by InfluxDB at each call (GROUP BY time()), never by a continuous query:
        a continuous query only looks back over its RESAMPLE window, and a gateway's backlog
        can deliver rows days late, which would leave the stored buckets wrong for good."""
        check_bucket(bucket, tz)
        if until_ms <= since_ms:
            return []
        statement = aggregate_statement(person_id, type, since_ms, until_ms, bucket, tz)
        try:
            records = list(self._select(statement))
        except InfluxError as exc:
            # InfluxDB carries its own zone database, which may lack a zone Python knows.
            if "time zone" in str(exc):
                raise UnknownTimeZone(f"InfluxDB does not know the time zone '{tz}'") from exc
            raise
        return [
            Bucket(
                start_ms=int(record["time"]),
                min=float(record["min"]),
                mean=float(record["mean"]),
                max=float(record["max"]),
                count=int(record["count"]),
            )
            for record in records
            if record.get("count")
        ]

    def count(self) -> int:
        statement = f"SELECT COUNT({quote_ident('value')}) FROM {quote_ident(MEASUREMENT)}"
        return sum(int(record["count"]) for record in self._select(statement))

    def close(self) -> None:
        self._session.close()

    # --- HTTP ---

    def _ensure_database(self) -> None:
        if self._database_ready:
            return
        with self._lock:
            if self._database_ready:
                return
            try:
                self._statement(f"CREATE DATABASE {quote_ident(self.database)}", method="POST")
            except InfluxError as error:
                # A user allowed to write but not to administer: the database must exist
                # already, and a write to a missing one still fails loudly with a 404.
                if error.status != 403:
                    raise
            self._database_ready = True

    def _write_lines(self, lines: list[str]) -> None:
        body = ("\n".join(lines) + "\n").encode()
        params = {"db": self.database, "precision": "ns"}
        response = self._request("POST", "/write", "write", params=params, data=body)
        if response.status_code != 204:
            raise _http_error("write", response, f"database {self.database!r}")

    def _select(self, statement: str) -> Iterator[dict[str, Any]]:
        for _, record in self._select_grouped(statement):
            yield record

    def _select_grouped(self, statement: str) -> Iterator[tuple[dict[str, str], dict[str, Any]]]:
        """Rows of a statement, each with the tags of its series (GROUP BY <tags>)."""
        self._ensure_database()
        result = self._statement(statement, method="GET", epoch="ms")
        for series in result.get("series", []):
            columns, tags = series["columns"], series.get("tags") or {}
            for values in series.get("values", []):
                yield tags, dict(zip(columns, values, strict=True))

    def _statement(self, statement: str, method: str, epoch: str | None = None) -> dict[str, Any]:
        params = {"q": statement, "db": self.database}
        if epoch is not None:
            params["epoch"] = epoch
        response = self._request(method, "/query", "query", params=params)
        if response.status_code != 200:
            raise _http_error("query", response, statement)
        results = _json(response).get("results") or [{}]
        # A statement that fails still answers 200; its error sits in the result.
        error = results[0].get("error")
        if error:
            raise InfluxError(f"InfluxDB query failed: {error} (query: {statement})")
        return results[0]

    def _request(self, method: str, path: str, what: str, **kwargs: Any) -> requests.Response:
        url = self.base_url + path
        try:
            return self._session.request(method, url, timeout=self.timeout_s, **kwargs)
        except requests.RequestException as exc:
            raise InfluxError(f"InfluxDB {what} at {url} failed: {exc}") from exc


def _observation(record: Mapping[str, Any], person_id: str, type: str) -> StoredObservation:
    device_ts_ms = record.get("device_ts_ms")
    return StoredObservation(
        gateway_id=record.get("gateway_id") or "",
        seq=int(record["seq"]),
        person_id=person_id,
        device_id=record.get("device_id") or "",
        type=type,
        value=float(record["value"]),
        unit=record.get("unit") or "",
        ts_ms=int(record["time"]),
        device_ts_ms=None if device_ts_ms is None else int(device_ts_ms),
    )


def _http_error(what: str, response: requests.Response, context: str) -> InfluxError:
    message = _json(response).get("error") or response.text.strip() or response.reason
    return InfluxError(
        f"InfluxDB {what} failed: HTTP {response.status_code}: {message} ({context})",
        status=response.status_code,
    )


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _chunks(lines: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(lines), size):
        yield lines[start : start + size]
