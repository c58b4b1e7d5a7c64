"""Request handlers: parse and check input, ask the registry and the store, shape JSON."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime
from typing import Any

from aiohttp import web

from anxin import __version__
from anxin.cloud.api.auth import bearer_token, principal_of
from anxin.cloud.api.errors import error
from anxin.cloud.models import Alert, Person
from anxin.cloud.registry import Principal, Registry, now_ms
from anxin.cloud.timeseries import TimeSeriesStore
from anxin.protocol import UNITS

LATEST_WINDOW_MS = 10 * 60 * 1000
ALERT_STATUSES = ("open", "acknowledged", "in_progress", "resolved", "dismissed")


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

    async def login(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            raise error(400, "bad_json", "the request body must be JSON") from None
        if not isinstance(body, dict):
            raise error(400, "bad_json", "the request body must be a JSON object")
        username, password = body.get("username"), body.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            raise error(400, "bad_parameter", "'username' and 'password' must both be strings")
        principal = await asyncio.to_thread(self.registry.authenticate, username, password)
        if principal is None:
            raise error(401, "bad_credentials", "wrong username or password")
        token, expires = await asyncio.to_thread(
            self.registry.open_session, username, self.session_ttl_s
        )
        return web.json_response(
            {"token": token, "expires_at": iso(expires), "user": _user_json(principal)}
        )

    async def logout(self, request: web.Request) -> web.Response:
        token = bearer_token(request)
        if token:
            await asyncio.to_thread(self.registry.close_session, token)
        return web.json_response({"status": "logged out"})

    async def me(self, request: web.Request) -> web.Response:
        return web.json_response(_user_json(principal_of(request)))

    async def persons(self, request: web.Request) -> web.Response:
        principal = principal_of(request)
        listing = await asyncio.to_thread(self._persons_listing, principal)
        return web.json_response(listing)

    async def person(self, request: web.Request) -> web.Response:
        person_id = request.match_info["person_id"]
        listing = await asyncio.to_thread(self._persons_listing, principal_of(request))
        for item in listing:
            if item["id"] == person_id:
                return web.json_response(item)
        raise error(404, "not_found", f"no person '{person_id}' that you may see")

    async def observations(self, request: web.Request) -> web.Response:
        principal = principal_of(request)
        person_id = request.match_info["person_id"]
        kind = request.query.get("type")
        if kind not in UNITS:
            raise error(
                400, "bad_parameter", f"'type' must be one of {', '.join(UNITS)}; got '{kind}'"
            )
        now = now_ms()
        since = (
            parse_time("since", request.query["since"])
            if "since" in request.query
            else now - 3_600_000
        )
        until = parse_time("until", request.query["until"]) if "until" in request.query else None
        try:
            limit = int(request.query.get("limit", "5000"))
        except ValueError:
            raise error(400, "bad_parameter", "'limit' must be a whole number") from None
        if not 1 <= limit <= 50_000:
            raise error(400, "bad_parameter", "'limit' must be between 1 and 50000")
        if not await asyncio.to_thread(self.registry.can_see_person, principal, person_id):
            raise error(404, "not_found", f"no person '{person_id}' that you may see")
        rows = await asyncio.to_thread(self.timeseries.query, person_id, kind, since, until, limit)
        return web.json_response(
            {
                "person_id": person_id,
                "type": kind,
                "unit": UNITS[kind],
                "since": iso(since),
                "observations": [
                    {
                        "ts": iso(r.ts_ms),
                        "ts_ms": r.ts_ms,
                        "value": r.value,
                        "device_id": r.device_id,
                    }
                    for r in rows
                ],
            }
        )

    async def alerts(self, request: web.Request) -> web.Response:
        statuses = [s for s in request.query.get("status", "").split(",") if s]
        unknown = [s for s in statuses if s not in ALERT_STATUSES]
        if unknown:
            raise error(
                400,
                "bad_parameter",
                f"unknown status {unknown[0]!r}; use {', '.join(ALERT_STATUSES)}",
            )
        principal = principal_of(request)
        alerts = await asyncio.to_thread(
            self.registry.alerts_visible_to, principal, statuses or None
        )
        names = {
            p.id: p.name
            for p in await asyncio.to_thread(self.registry.persons_visible_to, principal)
        }
        return web.json_response(
            [_alert_json(alert, names.get(alert.person_id or "")) for alert in alerts]
        )

    def _persons_listing(self, principal: Principal) -> list[dict[str, Any]]:
        persons = self.registry.persons_visible_to(principal)
        open_alerts = self.registry.alerts_visible_to(principal, ("open", "acknowledged"))
        today = datetime.now(UTC).date()
        since = now_ms() - LATEST_WINDOW_MS
        listing = []
        for person in persons:
            latest = {}
            for kind in ("heart_rate", "spo2"):
                rows = self.timeseries.query(person.id, kind, since, limit=1)
                if rows:
                    latest[kind] = {
                        "value": rows[-1].value,
                        "unit": UNITS[kind],
                        "ts": iso(rows[-1].ts_ms),
                    }
            devices = self.registry.devices_of_person(person.id)
            listing.append(
                _person_json(person, today)
                | {
                    "latest": latest,
                    "open_alerts": sum(1 for a in open_alerts if a.person_id == person.id),
                    "devices": [{"id": d.id, "kind": d.kind, "state": d.state} for d in devices],
                }
            )
        return listing


def _user_json(principal: Principal) -> dict[str, Any]:
    return {
        "username": principal.username,
        "display_name": principal.display_name,
        "role": principal.role,
        "community": principal.community,
    }


def _person_json(person: Person, today: date) -> dict[str, Any]:
    return {
        "id": person.id,
        "name": person.name,
        "name_latin": person.name_latin,
        "sex": person.sex,
        "age": age_on(person.birth_date, today),
        "community": person.community,
        "site_id": person.site_id,
    }


def _alert_json(alert: Alert, person_name: str | None) -> dict[str, Any]:
    return {
        "id": alert.id,
        "person_id": alert.person_id,
        "person_name": person_name,
        "device_id": alert.device_id,
        "kind": alert.kind,
        "severity": alert.severity,
        "status": alert.status,
        "raised_at": iso(alert.raised_at_ms),
        "last_raised_at": iso(alert.last_raised_at_ms),
        "received_at": iso(alert.received_at_ms),
        "delay_ms": alert.received_at_ms - alert.raised_at_ms,
        "occurrences": alert.occurrences,
        "observation": alert.observation,
        "value": alert.value,
        "threshold": alert.threshold,
        "message": alert.message,
        "evidence": alert.evidence,
    }


__all__ = ["Handlers"]
