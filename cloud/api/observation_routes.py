"""API routes for observations, downsampled views, health indices and the FHIR R4 export."""

from __future__ import annotations

import asyncio
import math
from typing import Any, Literal
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import BaseModel, Field, field_validator

from anxin.cloud.api.auth import principal_of
from anxin.cloud.api.context import ApiContext
from anxin.cloud.api.errors import error
from anxin.cloud.api.handlers import Instant, iso
from anxin.cloud.api.operation import Answer, Moment, Reply, bind, operation, operations_of
from anxin.cloud.api.registry_bodies import PersonId
from anxin.cloud.care import fhir, indices
from anxin.cloud.database.models import Person
from anxin.cloud.ingest.influx import UnknownTimeZone
from anxin.cloud.ingest.timeseries import Bucket, StoredObservation
from anxin.cloud.registry.field_crypto import FieldCipher, FieldCryptoError
from anxin.cloud.registry.registry import Principal, now_ms
from anxin.protocol import UNITS

DAY_MS = 86_400_000
RAW_MAX_RANGE_MS = 2 * DAY_MS
MINUTE_MAX_RANGE_MS = 31 * DAY_MS
DEFAULT_TZ = "Asia/Shanghai"
Resolution = Literal["raw", "1m", "1d"]
FHIR_JSON = "application/fhir+json"
FHIR_DEFAULT_RANGE_MS = DAY_MS
TZ_PATTERN = r"^(UTC|[A-Z][A-Za-z_]+(/[A-Za-z0-9_+-]+){1,2})$"
Kind = Literal[tuple(UNITS)]  # type: ignore[valid-type]
PERSON = {"person_id": PersonId}
NOT_VISIBLE = Answer("unknown, or not visible to the caller")
UNTIL = "exclusive; default: now"


class ObservationsQuery(BaseModel):
    type: Kind
    since: Instant | None = Field(default=None, description="default: an hour before 'until'")
    until: Instant | None = Field(default=None, description=UNTIL)
    resolution: Resolution = Field(
        default="raw", description="raw covers at most 2 days, 1m at most 31 days"
    )
    tz: str = Field(
        default=DEFAULT_TZ,
        max_length=64,
        pattern=TZ_PATTERN,
        description="IANA time zone whose midnights start the 1d buckets",
    )
    limit: int = Field(
        default=5000,
        ge=1,
        le=50_000,
        description="raw: the newest this many rows; buckets: the newest this many",
    )

    @field_validator("tz")
    @classmethod
    def _known_zone(cls, tz: str) -> str:
        try:
            ZoneInfo(tz)
        except (KeyError, ValueError, OSError):
            raise ValueError(
                f"must be an IANA time zone such as Asia/Shanghai; got '{tz}'"
            ) from None
        return tz


class IndicesQuery(BaseModel):
    window_minutes: int = Field(
        default=60,
        ge=1,
        le=1440,
        description="NEWS2 uses each parameter's latest reading this recent",
    )
    hrv_minutes: int = Field(
        default=5, ge=1, le=60, description="HRV uses the RR intervals of this many last minutes"
    )


class FhirObservationsQuery(BaseModel):
    since: Instant | None = Field(default=None, description="default: a day before 'until'")
    until: Instant | None = Field(default=None, description=UNTIL)
    count: int = Field(
        default=1000,
        ge=1,
        le=10_000,
        alias="_count",
        description="at most this many Observations, the newest",
    )


class ObservationPoint(Reply):
    ts: Moment
    ts_ms: int
    value: float
    device_id: str


class ObservationBucket(Reply):
    ts: Moment
    ts_ms: int = Field(description="bucket start")
    min: float
    mean: float
    max: float
    count: int


class ObservationSeries(Reply):
    person_id: str
    type: Kind
    unit: str = Field(description="UCUM")
    since: Moment
    until: Moment
    resolution: Resolution
    tz: str = Field(default=None, description="zone of the bucket grid (1m, 1d)")  # type: ignore[assignment]
    observations: list[ObservationPoint] = Field(default=None, description="resolution=raw")  # type: ignore[assignment]
    buckets: list[ObservationBucket] = Field(  # type: ignore[assignment]
        default=None, description="resolution=1m or 1d; empty buckets are left out"
    )


class Indices(Reply):
    person_id: str
    at: Moment
    window_minutes: int
    hrv_minutes: int
    news2: dict[str, Any] | None = Field(
        description="total, band, clinical_risk, parameters, missing, partial, "
        "inputs (each with ts), ts (newest input)"
    )
    hrv: dict[str, Any] | None = Field(
        description="time_domain, frequency_domain, resting_hr_bpm, "
        "from_ts and ts (the intervals' span)"
    )
    notes: list[str]


def routes(ctx: ApiContext, prefix: str) -> list[web.RouteDef]:
    return bind(ObservationRoutes(ctx, prefix), prefix)


def time_range(since: int | None, until: int | None, default_span_ms: int) -> tuple[int, int]:
    if until is None:
        until = now_ms() if since is None else max(now_ms(), since)
    if since is None:
        since = until - default_span_ms
    if until < since:
        raise error(400, "bad_parameter", "'until' must not be before 'since'")
    return since, until


def finite(value: Any) -> Any:
    """JSON has no Infinity or NaN: such numbers (an LF/HF with no HF power) become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [finite(item) for item in value]
    return value


class ObservationRoutes:
    def __init__(self, ctx: ApiContext, prefix: str) -> None:
        self.ctx = ctx
        self.prefix = prefix

    async def _visible(self, request: web.Request) -> tuple[Principal, str]:
        principal = principal_of(request)
        person_id = request.match_info["person_id"]
        if not await asyncio.to_thread(self.ctx.registry.can_see_person, principal, person_id):
            raise error(404, "not_found", f"no person '{person_id}' that you may see")
        return principal, person_id

    # --- observations, raw or downsampled ---

    @operation(
        "GET",
        "/persons/{person_id}/observations",
        "A recipient's observations of one type, oldest first: raw, or downsampled to minute "
        "or day buckets",
        {
            200: Answer("observations (raw) or buckets (1m, 1d)", ObservationSeries),
            404: NOT_VISIBLE,
        },
        query=ObservationsQuery,
        path_params=PERSON,
    )
    async def observations(self, request: web.Request, query: ObservationsQuery) -> dict[str, Any]:
        kind, resolution, tz, limit = query.type, query.resolution, query.tz, query.limit
        since, until = time_range(query.since, query.until, 3_600_000)
        span = until - since
        if resolution == "raw" and span > RAW_MAX_RANGE_MS:
            raise error(
                400,
                "range_too_long",
                f"raw observations cover at most 2 days (asked for {span / DAY_MS:.1f}); "
                "ask for resolution=1m (minutes) or resolution=1d (days) instead",
            )
        if resolution == "1m" and span > MINUTE_MAX_RANGE_MS:
            raise error(
                400,
                "range_too_long",
                f"minute buckets cover at most 31 days (asked for {span / DAY_MS:.1f}); "
                "ask for resolution=1d instead",
            )
        _, person_id = await self._visible(request)
        body: dict[str, Any] = {
            "person_id": person_id,
            "type": kind,
            "unit": UNITS[kind],
            "since": iso(since),
            "until": iso(until),
            "resolution": resolution,
        }
        if resolution == "raw":
            # Without 'until' the newest rows count even if a gateway clock runs ahead.
            upto = until if query.until is not None else None
            rows = await asyncio.to_thread(
                self.ctx.timeseries.query, person_id, kind, since, upto, limit
            )
            body["observations"] = [_observation_json(row) for row in rows]
        else:
            try:
                buckets = await asyncio.to_thread(
                    self.ctx.timeseries.aggregate, person_id, kind, since, until, resolution, tz
                )
            except UnknownTimeZone as exc:
                raise error(400, "bad_parameter", f"'tz': {exc}") from None
            body["tz"] = tz if resolution == "1d" else "UTC"
            body["buckets"] = [_bucket_json(bucket) for bucket in buckets[-limit:]]
        return body

    # --- indices ---

    @operation(
        "GET",
        "/persons/{person_id}/indices",
        "NEWS2 from the latest vital signs and HRV from recent RR intervals",
        {200: Answer("indices", Indices), 404: NOT_VISIBLE},
        query=IndicesQuery,
        path_params=PERSON,
    )
    async def indices(self, request: web.Request, query: IndicesQuery) -> dict[str, Any]:
        _, person_id = await self._visible(request)
        now = now_ms()
        body = await asyncio.to_thread(
            self._indices, person_id, now, query.window_minutes, query.hrv_minutes
        )
        return finite(body)

    def _indices(self, person_id: str, now: int, window: int, hrv_window: int) -> dict[str, Any]:
        store = self.ctx.timeseries
        body: dict[str, Any] = {
            "person_id": person_id,
            "at": iso(now),
            "window_minutes": window,
            "hrv_minutes": hrv_window,
            "news2": None,
            "hrv": None,
            "notes": [],
        }
        try:
            news2 = indices.news2(store, person_id, now - window * 60_000, now + 1)
        except ValueError as exc:  # an impossible stored value: say so, never score it
            news2 = None
            body["notes"].append(f"NEWS2 not scored: {exc}")
        if news2 is None and not body["notes"]:
            body["notes"].append(f"NEWS2: no vital signs in the last {window} minutes")
        if news2 is not None:
            body["news2"] = _with_times(news2, ("ts_ms", "oldest_input_ts_ms"))
            for reading in body["news2"]["inputs"].values():
                reading["ts"] = iso(reading["ts_ms"])
        hrv = indices.hrv(store, person_id, now - hrv_window * 60_000, now + 1)
        if hrv is None:
            body["notes"].append(f"HRV: fewer than 2 RR intervals in the last {hrv_window} minutes")
        else:
            body["hrv"] = _with_times(hrv, ("ts_ms", "from_ts_ms"))
        return body

    # --- FHIR R4 ---

    @operation(
        "GET",
        "/persons/{person_id}/fhir/Patient",
        "The recipient as a FHIR R4 Patient (resident ID for admins only)",
        {200: Answer("Patient", dict[str, Any], FHIR_JSON), 404: NOT_VISIBLE},
        path_params=PERSON,
    )
    async def fhir_patient(self, request: web.Request) -> dict[str, Any]:
        principal, person_id = await self._visible(request)
        return await asyncio.to_thread(self._patient, principal, person_id)

    def _patient(self, principal: Principal, person_id: str) -> dict[str, Any]:
        with self.ctx.registry.session() as session:
            person = session.get(Person, person_id)
            if person is None:
                raise error(404, "not_found", f"no person '{person_id}' that you may see")
        resident_id = None
        if principal.role == "admin" and person.resident_id_enc:
            resident_id = self._decrypt(person.resident_id_enc)
        return fhir.patient(person, resident_id)

    def _decrypt(self, token: str) -> str | None:
        try:
            cipher = FieldCipher.from_settings(self.ctx.config.registry)
            return cipher.decrypt(token) if cipher is not None else None
        except FieldCryptoError:
            return None  # no key here, or a key that cannot read it: leave the number out

    @operation(
        "GET",
        "/persons/{person_id}/fhir/Observation",
        "Vital signs as FHIR R4 Observations in a searchset Bundle",
        {200: Answer("Bundle", dict[str, Any], FHIR_JSON), 404: NOT_VISIBLE},
        query=FhirObservationsQuery,
        path_params=PERSON,
    )
    async def fhir_observations(
        self, request: web.Request, query: FhirObservationsQuery
    ) -> dict[str, Any]:
        since, until = time_range(query.since, query.until, FHIR_DEFAULT_RANGE_MS)
        count = query.count
        _, person_id = await self._visible(request)
        rows = await asyncio.to_thread(self._vital_rows, person_id, since, until, count)
        resources = fhir.observations(person_id, rows)[-count:]
        base = f"{request.scheme}://{request.host}{self.prefix}/persons/{person_id}/fhir"
        return fhir.searchset(resources, str(request.url), base)

    def _vital_rows(
        self, person_id: str, since: int, until: int, count: int
    ) -> list[StoredObservation]:
        rows: list[StoredObservation] = []
        for kind in fhir.EXPORTED_TYPES:
            rows.extend(self.ctx.timeseries.query(person_id, kind, since, until, count))
        return rows


def _observation_json(row: StoredObservation) -> dict[str, Any]:
    return {
        "ts": iso(row.ts_ms),
        "ts_ms": row.ts_ms,
        "value": row.value,
        "device_id": row.device_id,
    }


def _bucket_json(bucket: Bucket) -> dict[str, Any]:
    return {
        "ts": iso(bucket.start_ms),
        "ts_ms": bucket.start_ms,
        "min": bucket.min,
        "mean": bucket.mean,
        "max": bucket.max,
        "count": bucket.count,
    }


def _with_times(values: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    stamped = dict(values)
    for key in keys:
        stamped[key.removesuffix("_ms")] = iso(values[key])
    return stamped


OPERATIONS = operations_of(ObservationRoutes)
