"""Request handlers: parse and check input, ask the registry and the store, shape JSON."""

from __future__ import annotations

from datetime import UTC, date, datetime

from aiohttp import web

from anxin import __version__
from anxin.cloud.api.errors import error
from anxin.cloud.ingest.timeseries import TimeSeriesStore
from anxin.cloud.registry.registry import Registry, now_ms

LATEST_WINDOW_MS = 10 * 60 * 1000


def iso(ms: int) -> str:
    return (
        datetime.fromtimestamp(ms / 1000, tz=UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def parse_time(name: str, text: str) -> int:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise error(
            400, "bad_parameter", f"'{name}' must be an ISO 8601 time, got '{text}'"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def age_on(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


class Handlers:
    def __init__(self, registry: Registry, timeseries: TimeSeriesStore, session_ttl_s: int) -> None:
        self.registry = registry
        self.timeseries = timeseries
        self.session_ttl_s = session_ttl_s

    async def health(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "version": __version__, "time": iso(now_ms())})


__all__ = ["Handlers"]
