"""Request handlers: parse and check input, ask the registry and the store, shape JSON."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BeforeValidator, Field, WithJsonSchema
from sqlalchemy.exc import SQLAlchemyError

from anxin import __version__
from anxin.cloud.api.operation import Answer, Moment, Reply, operation, operations_of
from anxin.cloud.ingest import heartbeat
from anxin.cloud.ingest.timeseries import TimeSeriesStore
from anxin.cloud.registry.registry import Registry, now_ms

log = logging.getLogger(__name__)
LATEST_WINDOW_MS = 10 * 60 * 1000
HEARTBEATS_CACHE_S = 1.0


def iso(ms: int) -> str:
    return (
        datetime.fromtimestamp(ms / 1000, tz=UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def instant_ms(text: object) -> int:
    """An ISO 8601 time from a query string as UTC milliseconds; no zone means UTC. A '+'
    left unescaped in the URL arrives as a space, and is read back as '+'."""
    if not isinstance(text, str):
        raise ValueError("must be an ISO 8601 time")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise ValueError(f"must be an ISO 8601 time, got '{text}'") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        ms = int(moment.timestamp() * 1000)
    except (OverflowError, OSError, ValueError):
        ms = EARLIEST_MS - 1
    if not EARLIEST_MS <= ms < LATEST_MS:
        raise ValueError(f"must lie between 1970 and 2200, got '{text}'")
    return ms


# Times outside these are typing errors, and InfluxDB cannot hold them (1677-2262).
EARLIEST_MS = 0
LATEST_MS = 7_258_118_400_000  # 2200-01-01
# A time in a query string, checked and turned into UTC milliseconds.
Instant = Annotated[
    int,
    BeforeValidator(instant_ms),
    WithJsonSchema({"type": "string", "format": "date-time", "description": "1970 to 2200"}),
]


def age_on(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


class IngestWorkerHealth(Reply):
    worker: str
    reported: Moment = Field(description="when the worker last wrote its heartbeat")
    last_stored: Moment | None
    waiting: int = Field(description="messages received, not yet stored or set aside")
    retrying: int = Field(description="messages held for another try: a store is down")
    redelivered: int = Field(description="messages the broker sent again")
    messages: int
    stored: int = Field(description="observations and alerts stored")
    dead_letters: dict[str, int] = Field(description="by kind: invalid, origin, unstorable")


class IngestHealth(Reply):
    workers: list[IngestWorkerHealth]
    waiting: int
    poison: int = Field(description="messages set aside because they failed to store alone")


class Health(Reply):
    status: Literal["ok", "degraded"]
    version: str
    time: Moment
    reasons: list[str] = Field(default=[], description="why it is degraded")
    ingest: IngestHealth | None = None


class Handlers:
    def __init__(
        self,
        registry: Registry,
        timeseries: TimeSeriesStore,
        session_ttl_s: int,
        ingest_stalled_after_s: float = 60.0,
    ) -> None:
        self.registry = registry
        self.timeseries = timeseries
        self.session_ttl_s = session_ttl_s
        self.ingest_stalled_after_s = ingest_stalled_after_s
        # /health needs no login: the heartbeats are read at most once a second, so calling
        # it often never loads the registry.
        self._beats: tuple[float, list[Any]] | None = None

    @operation(
        "GET",
        "/health",
        "Liveness, and whether ingest keeps up (no login: counts and times only)",
        {200: Answer("up; 'degraded' with the reasons when ingest is not keeping up", Health)},
        public=True,
    )
    async def health(self, _request: web.Request) -> dict[str, Any]:
        now = now_ms()
        body: dict[str, Any] = {"status": "ok", "version": __version__, "time": iso(now)}
        try:
            beats = await self._heartbeats()
        except SQLAlchemyError as exc:
            log.warning("health: the registry is unreachable: %r", exc)
            return body | {"status": "degraded", "reasons": ["the registry is unreachable"]}
        reasons, body["ingest"] = heartbeat.assess(beats, now, self.ingest_stalled_after_s)
        if reasons:
            body |= {"status": "degraded", "reasons": reasons}
        return body

    async def _heartbeats(self) -> list[Any]:
        cached = self._beats
        if cached is not None and time.monotonic() - cached[0] < HEARTBEATS_CACHE_S:
            return cached[1]
        beats = await asyncio.to_thread(heartbeat.read_all, self.registry)
        self._beats = (time.monotonic(), beats)
        return beats


OPERATIONS = operations_of(Handlers)
__all__ = ["OPERATIONS", "Handlers"]
