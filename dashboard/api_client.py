"""A small typed client for the cloud REST API (/api/v1), over ``requests``.

The console has no privileges of its own: every call carries the bearer token of
the person logged in through the browser. Failures become one of three errors
so callers can react: :class:`NotAuthenticated` (log in again),
:class:`ApiUnavailable` (the server cannot be reached; retry later) and
:class:`ApiError` (the server refused or failed the request). The token never
appears in reprs, exception messages or logs.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import requests

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = (3.0, 10.0)  # (connect, read)


class ApiError(Exception):
    """The API answered with an error, or with something that is not what it documents."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class NotAuthenticated(ApiError):
    """401: wrong credentials at login, or the session token is unknown or expired."""


class LockedOut(ApiError):
    """429: too many failed logins; ``retry_after_s`` says when to try again."""

    def __init__(self, message: str, status: int, code: str | None, retry_after_s: int) -> None:
        super().__init__(message, status, code)
        self.retry_after_s = retry_after_s


class ApiUnavailable(ApiError):
    """The API could not be reached (connection refused, timeout) or answered 5xx."""


@dataclass(frozen=True)
class User:
    username: str
    display_name: str
    role: str
    community: str | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> User:
        return cls(data["username"], data["display_name"], data["role"], data.get("community"))


@dataclass(frozen=True)
class Session:
    token: str = field(repr=False)
    expires_at: str
    user: User
    # verified | not_required | enrolment_required (the session may only enrol a factor)
    second_factor: str = "not_required"

    def to_store(self) -> dict[str, Any]:
        """What the browser keeps in its session-scoped dcc.Store."""
        return {"token": self.token, "expires_at": self.expires_at, "user": asdict(self.user)}


@dataclass(frozen=True)
class Reading:
    value: float
    unit: str
    ts: str


@dataclass(frozen=True)
class DeviceSummary:
    id: str
    kind: str
    state: str


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    name_latin: str
    sex: str
    age: int
    community: str
    site_id: str | None
    latest: dict[str, Reading]
    open_alerts: int
    devices: tuple[DeviceSummary, ...]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Person:
        return cls(
            id=data["id"],
            name=data["name"],
            name_latin=data.get("name_latin", ""),
            sex=data["sex"],
            age=int(data["age"]),
            community=data["community"],
            site_id=data.get("site_id"),
            latest={
                kind: Reading(r["value"], r["unit"], r["ts"])
                for kind, r in data.get("latest", {}).items()
            },
            open_alerts=int(data.get("open_alerts", 0)),
            devices=tuple(
                DeviceSummary(d["id"], d["kind"], d["state"]) for d in data.get("devices", [])
            ),
        )


@dataclass(frozen=True)
class Alert:
    id: int
    person_id: str | None
    person_name: str | None
    device_id: str
    kind: str
    severity: str
    status: str
    raised_at: str
    last_raised_at: str
    occurrences: int
    observation: str | None
    value: float | None
    threshold: float | None
    message: str
    evidence: dict[str, Any] | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Alert:
        required = {name: data[name] for name in cls.__dataclass_fields__ if name != "evidence"}
        return cls(**required, evidence=data.get("evidence"))


@dataclass(frozen=True)
class Observation:
    ts_ms: int
    value: float
    device_id: str


@dataclass(frozen=True)
class ObservationSeries:
    person_id: str
    type: str
    unit: str
    observations: tuple[Observation, ...]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ObservationSeries:
        return cls(
            person_id=data["person_id"],
            type=data["type"],
            unit=data["unit"],
            observations=tuple(
                Observation(int(o["ts_ms"]), float(o["value"]), o["device_id"])
                for o in data["observations"]
            ),
        )


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class ApiClient:
    """One user's view of the API; cheap to create, so make one per request with its token."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        timeout_s: tuple[float, float] = DEFAULT_TIMEOUT_S,
    ):
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.timeout_s = timeout_s

    def __repr__(self) -> str:
        return f"ApiClient({self.base_url!r}, token={'set' if self._token else 'none'})"

    # --- endpoints ---------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/health")

    def login(
        self,
        username: str,
        password: str,
        totp: str | None = None,
        client_address: str | None = None,
    ) -> Session:
        """``totp``: the authenticator code, for accounts with a second factor.
        ``client_address``: the browser's, sent as X-Forwarded-For so that the API throttles
        failed logins per browser rather than per console (list the console's address in
        the API's ``api.trusted_proxies``)."""
        body = {"username": username, "password": password}
        if totp:
            body["totp"] = totp
        forwarded = {"X-Forwarded-For": client_address} if client_address else {}
        data = self._call("POST", "/login", json=body, extra_headers=forwarded)
        self._token = data["token"]
        return Session(
            token=data["token"],
            expires_at=data["expires_at"],
            user=User.from_json(data["user"]),
            second_factor=data.get("second_factor", "not_required"),
        )

    def logout(self) -> None:
        self._call("POST", "/logout")
        self._token = None

    def me(self) -> User:
        return User.from_json(self._call("GET", "/me"))

    def persons(self) -> list[Person]:
        return [Person.from_json(item) for item in self._call("GET", "/persons")]

    def alerts(
        self, statuses: tuple[str, ...] = ("open", "acknowledged", "in_progress")
    ) -> list[Alert]:
        return [
            Alert.from_json(item)
            for item in self._call("GET", "/alerts", params={"status": ",".join(statuses)})
        ]

    def observations(
        self,
        person_id: str,
        type: str,
        since: datetime,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> ObservationSeries:
        params: dict[str, str] = {"type": type, "since": _iso(since)}
        if until is not None:
            params["until"] = _iso(until)
        if limit is not None:
            params["limit"] = str(limit)
        return ObservationSeries.from_json(
            self._call("GET", f"/persons/{person_id}/observations", params=params)
        )

    # --- plumbing -------------------------------------------------------------------

    def _call(
        self, method: str, path: str, extra_headers: dict[str, str] | None = None, **kwargs: Any
    ) -> Any:
        headers = {"Accept": "application/json"} | (extra_headers or {})
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        url = self.base_url + path
        try:
            response = requests.request(
                method, url, headers=headers, timeout=self.timeout_s, **kwargs
            )
        except requests.Timeout as exc:
            raise ApiUnavailable(
                f"{method} {path}: the API at {self.base_url} did not answer in time"
            ) from exc
        except requests.ConnectionError as exc:
            raise ApiUnavailable(
                f"{method} {path}: cannot connect to the API at {self.base_url}"
            ) from exc
        log.debug("%s %s -> %s", method, path, response.status_code)
        if response.ok:
            try:
                return response.json()
            except ValueError as exc:
                raise ApiError(
                    f"{method} {path}: the answer is not JSON", response.status_code
                ) from exc
        code, message = _error_detail(response)
        text = f"{method} {path}: {response.status_code} {code or ''} {message}".replace(
            "  ", " "
        ).strip()
        if response.status_code == 401:
            raise NotAuthenticated(text, 401, code)
        if response.status_code == 429:
            raise LockedOut(text, 429, code, _retry_after(response))
        if response.status_code >= 500:
            raise ApiUnavailable(text, response.status_code, code)
        raise ApiError(text, response.status_code, code)


def _retry_after(response: requests.Response) -> int:
    text = response.headers.get("Retry-After", "")
    return int(text) if text.isdigit() else 60


def _error_detail(response: requests.Response) -> tuple[str | None, str]:
    """The API's ``{"error": {"code", "message"}}``, or the start of whatever else it sent."""
    try:
        detail = response.json()["error"]
        return str(detail.get("code")), str(detail.get("message", ""))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None, response.text[:200]
