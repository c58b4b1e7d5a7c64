"""API routes for observations, downsampled views, health indices and the FHIR R4 export."""

from __future__ import annotations

import asyncio
import math
import re
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from anxin.cloud.api.auth import principal_of
from anxin.cloud.api.context import ApiContext
from anxin.cloud.api.errors import error
from anxin.cloud.api.handlers import iso, parse_time
from anxin.cloud.api.openapi import ERROR, response, secured
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
RESOLUTIONS = ("raw", "1m", "1d")
FHIR_JSON = "application/fhir+json"
FHIR_DEFAULT_RANGE_MS = DAY_MS
# Times outside these are typing errors, and InfluxDB cannot hold them (1677-2262).
EARLIEST_MS = 0
LATEST_MS = 7_258_118_400_000  # 2200-01-01
TZ_PATTERN = re.compile(r"^(UTC|[A-Z][A-Za-z_]+(/[A-Za-z0-9_+-]+){1,2})$")


def routes(ctx: ApiContext, prefix: str) -> list[web.RouteDef]:
    area = ObservationRoutes(ctx, prefix)
    person = f"{prefix}/persons/{{person_id}}"
    return [
        web.get(f"{person}/observations", area.observations),
        web.get(f"{person}/indices", area.indices),
        web.get(f"{person}/fhir/Patient", area.fhir_patient),
        web.get(f"{person}/fhir/Observation", area.fhir_observations),
    ]


def query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query.get(name)
    if text is None:
        return default
    if not text.strip().lstrip("-").isdigit() or len(text) > 12:
        raise error(400, "bad_parameter", f"'{name}' must be a whole number, got '{text}'")
    value = int(text)
    if not low <= value <= high:
        raise error(400, "bad_parameter", f"'{name}' must be between {low} and {high}")
    return value


def query_time(request: web.Request, name: str) -> int:
    text = request.query[name]
    try:
        moment = parse_time(name, text)
    except OverflowError:
        moment = EARLIEST_MS - 1
    if not EARLIEST_MS <= moment < LATEST_MS:
        raise error(400, "bad_parameter", f"'{name}' must lie between 1970 and 2200, got '{text}'")
    return moment


def time_range(request: web.Request, default_span_ms: int) -> tuple[int, int]:
    since = query_time(request, "since") if "since" in request.query else None
    if "until" in request.query:
        until = query_time(request, "until")
    else:
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

    async def observations(self, request: web.Request) -> web.Response:
        kind = request.query.get("type")
        if kind not in UNITS:
            raise error(
                400, "bad_parameter", f"'type' must be one of {', '.join(UNITS)}; got '{kind}'"
            )
        resolution = request.query.get("resolution", "raw")
        if resolution not in RESOLUTIONS:
            raise error(
                400,
                "bad_parameter",
                f"'resolution' must be one of {', '.join(RESOLUTIONS)}; got '{resolution}'",
            )
        tz = request.query.get("tz", DEFAULT_TZ)
        try:
            if not TZ_PATTERN.match(tz):
                raise ValueError(tz)
            ZoneInfo(tz)
        except (KeyError, ValueError, OSError):
            raise error(
                400,
                "bad_parameter",
                f"'tz' must be an IANA time zone such as Asia/Shanghai; got '{tz}'",
            ) from None
        since, until = time_range(request, 3_600_000)
        limit = query_int(request, "limit", 5000, 1, 50_000)
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
            upto = until if "until" in request.query else None
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
        return web.json_response(body)

    # --- indices ---

    async def indices(self, request: web.Request) -> web.Response:
        window = query_int(request, "window_minutes", 60, 1, 1440)
        hrv_window = query_int(request, "hrv_minutes", 5, 1, 60)
        _, person_id = await self._visible(request)
        now = now_ms()
        body = await asyncio.to_thread(self._indices, person_id, now, window, hrv_window)
        return web.json_response(finite(body))

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

    async def fhir_patient(self, request: web.Request) -> web.Response:
        principal, person_id = await self._visible(request)
        resource = await asyncio.to_thread(self._patient, principal, person_id)
        return web.json_response(resource, content_type=FHIR_JSON)

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

    async def fhir_observations(self, request: web.Request) -> web.Response:
        since, until = time_range(request, FHIR_DEFAULT_RANGE_MS)
        count = query_int(request, "_count", 1000, 1, 10_000)
        _, person_id = await self._visible(request)
        rows = await asyncio.to_thread(self._vital_rows, person_id, since, until, count)
        resources = fhir.observations(person_id, rows)[-count:]
        base = f"{request.scheme}://{request.host}{self.prefix}/persons/{person_id}/fhir"
        bundle = fhir.searchset(resources, str(request.url), base)
        return web.json_response(bundle, content_type=FHIR_JSON)

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


# --- OpenAPI ------------------------------------------------------------------------------

_PERSON_ID = {"name": "person_id", "in": "path", "required": True, "schema": {"type": "string"}}
_NOT_VISIBLE = response("unknown, or not visible to the caller", ERROR)
_TIME = {"type": "string", "format": "date-time", "description": "between 1970 and 2200"}


def _query(name: str, schema: dict[str, Any], description: str = "", required: bool = False):
    parameter: dict[str, Any] = {"name": name, "in": "query", "schema": schema}
    if description:
        parameter["description"] = description
    if required:
        parameter["required"] = True
    return parameter


def _fhir(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {FHIR_JSON: {"schema": schema}}}


PATHS: dict[str, Any] = {
    "/persons/{person_id}/observations": {
        "get": secured(
            {
                "summary": "A recipient's observations of one type, oldest first: raw, or "
                "downsampled to minute or day buckets",
                "parameters": [
                    _PERSON_ID,
                    _query("type", {"enum": list(UNITS)}, required=True),
                    _query("since", _TIME, "default: an hour before 'until'"),
                    _query("until", _TIME, "exclusive; default: now"),
                    _query(
                        "resolution",
                        {"enum": list(RESOLUTIONS), "default": "raw"},
                        "raw covers at most 2 days, 1m at most 31 days",
                    ),
                    _query(
                        "tz",
                        {
                            "type": "string",
                            "default": DEFAULT_TZ,
                            "maxLength": 64,
                            "pattern": TZ_PATTERN.pattern,
                        },
                        "IANA time zone whose midnights start the 1d buckets",
                    ),
                    _query(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": 50000},
                        "raw: the newest this many rows; buckets: the newest this many",
                    ),
                ],
                "responses": {
                    "200": response(
                        "observations (raw) or buckets (1m, 1d)",
                        {"$ref": "#/components/schemas/ObservationSeries"},
                    ),
                    "404": _NOT_VISIBLE,
                },
            }
        )
    },
    "/persons/{person_id}/indices": {
        "get": secured(
            {
                "summary": "NEWS2 from the latest vital signs and HRV from recent RR intervals",
                "parameters": [
                    _PERSON_ID,
                    _query(
                        "window_minutes",
                        {"type": "integer", "minimum": 1, "maximum": 1440, "default": 60},
                        "NEWS2 uses each parameter's latest reading this recent",
                    ),
                    _query(
                        "hrv_minutes",
                        {"type": "integer", "minimum": 1, "maximum": 60, "default": 5},
                        "HRV uses the RR intervals of this many last minutes",
                    ),
                ],
                "responses": {
                    "200": response("indices", {"$ref": "#/components/schemas/Indices"}),
                    "404": _NOT_VISIBLE,
                },
            }
        )
    },
    "/persons/{person_id}/fhir/Patient": {
        "get": secured(
            {
                "summary": "The recipient as a FHIR R4 Patient (resident ID for admins only)",
                "parameters": [_PERSON_ID],
                "responses": {
                    "200": _fhir("Patient", {"type": "object"}),
                    "404": _NOT_VISIBLE,
                },
            }
        )
    },
    "/persons/{person_id}/fhir/Observation": {
        "get": secured(
            {
                "summary": "Vital signs as FHIR R4 Observations in a searchset Bundle",
                "parameters": [
                    _PERSON_ID,
                    _query("since", _TIME, "default: a day before 'until'"),
                    _query("until", _TIME, "exclusive; default: now"),
                    _query(
                        "_count",
                        {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1000},
                        "at most this many Observations, the newest",
                    ),
                ],
                "responses": {
                    "200": _fhir("Bundle", {"type": "object"}),
                    "404": _NOT_VISIBLE,
                },
            }
        )
    },
}
SCHEMAS: dict[str, Any] = {
    "ObservationSeries": {
        "type": "object",
        "properties": {
            "person_id": {"type": "string"},
            "type": {"type": "string"},
            "unit": {"type": "string", "description": "UCUM"},
            "since": _TIME,
            "until": _TIME,
            "resolution": {"enum": list(RESOLUTIONS)},
            "tz": {"type": "string", "description": "zone of the bucket grid (1m, 1d)"},
            "observations": {
                "type": "array",
                "description": "resolution=raw",
                "items": {
                    "type": "object",
                    "properties": {
                        "ts": _TIME,
                        "ts_ms": {"type": "integer"},
                        "value": {"type": "number"},
                        "device_id": {"type": "string"},
                    },
                },
            },
            "buckets": {
                "type": "array",
                "description": "resolution=1m or 1d; empty buckets are left out",
                "items": {
                    "type": "object",
                    "properties": {
                        "ts": _TIME,
                        "ts_ms": {"type": "integer", "description": "bucket start"},
                        "min": {"type": "number"},
                        "mean": {"type": "number"},
                        "max": {"type": "number"},
                        "count": {"type": "integer"},
                    },
                },
            },
        },
    },
    "Indices": {
        "type": "object",
        "properties": {
            "person_id": {"type": "string"},
            "at": _TIME,
            "window_minutes": {"type": "integer"},
            "hrv_minutes": {"type": "integer"},
            "news2": {
                "type": ["object", "null"],
                "description": "total, band, clinical_risk, parameters, missing, partial, "
                "inputs (each with ts), ts (newest input)",
            },
            "hrv": {
                "type": ["object", "null"],
                "description": "time_domain, frequency_domain, resting_hr_bpm, "
                "from_ts and ts (the intervals' span)",
            },
            "notes": {"type": "array", "items": {"type": "string"}},
        },
    },
}
