"""What gateways and the cloud say to each other over MQTT (schema version 1).

Topics live under ``anxin/v1/<site>/<gateway>/<channel>``. Every observation and
alert carries the gateway's own sequence number; (gateway id, sequence) is the
key that makes redelivery harmless.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

SCHEMA_VERSION = 1
TOPIC_ROOT = "anxin/v1"

Channel = Literal["observations", "alerts", "state", "commands", "command_results"]
CHANNELS: tuple[str, ...] = ("observations", "alerts", "state", "commands", "command_results")

ObservationType = Literal[
    "heart_rate",
    "rr_interval",
    "spo2",
    "pulse_rate",
    "systolic_bp",
    "diastolic_bp",
    "mean_arterial_pressure",
    "body_temperature",
    "body_weight",
    "bmi",
    "glucose",
    "activity",
    "motion",
    "door_open",
    "bed_occupied",
    "presence",
    "ambient_temperature",
    "humidity",
    "battery",
]

# UCUM units, fixed per observation type: converted at parse time, never stored otherwise.
UNITS: dict[str, str] = {
    "heart_rate": "/min",
    "rr_interval": "s",
    "spo2": "%",
    "pulse_rate": "/min",
    "systolic_bp": "mm[Hg]",
    "diastolic_bp": "mm[Hg]",
    "mean_arterial_pressure": "mm[Hg]",
    "body_temperature": "Cel",
    "body_weight": "kg",
    "bmi": "kg/m2",
    "glucose": "mmol/L",
    "activity": "[g]",  # RMS of the dynamic acceleration over a second
    "motion": "1",
    "door_open": "1",
    "bed_occupied": "1",
    "presence": "1",
    "ambient_temperature": "Cel",
    "humidity": "%",
    "battery": "%",
}

# The values each observation type can take, in its unit: what a person or a home can
# physically show, and what the supported devices measure. A value outside is a broken
# sensor or a forged message, never a reading to chart or score: the gateway drops it
# (counted) and ingest refuses a message carrying one.
VALUE_RANGES: dict[str, tuple[float, float]] = {
    "heart_rate": (0, 300),
    # A beat-to-beat interval carried in 1/1024 s units of a uint16 (under 64 s): artefacts
    # are kept for the analytics' own RR cleaning, so only the format's bounds apply.
    "rr_interval": (0, 64),
    "spo2": (0, 100),
    "pulse_rate": (0, 300),
    "systolic_bp": (0, 300),
    "diastolic_bp": (0, 300),
    "mean_arterial_pressure": (0, 300),
    "body_temperature": (20, 45),
    "body_weight": (0, 400),
    "bmi": (0, 150),
    "glucose": (0, 60),  # meters read up to 33.3 mmol/L ("HI" above)
    "activity": (0, 32),  # a +-16 g accelerometer's dynamic acceleration
    "motion": (0, 1),
    "door_open": (0, 1),
    "bed_occupied": (0, 1),
    "presence": (0, 1),
    "ambient_temperature": (-60, 100),
    "humidity": (0, 100),
    "battery": (0, 100),
}

# Sequence numbers (and any other whole number on the wire) fit a signed 64-bit integer,
# what PostgreSQL BIGINT and InfluxDB integer fields hold.
MAX_INT64 = 2**63 - 1
MAX_SEQ = MAX_INT64
# Times a gateway stamps (its own clock): not before 2000-01-01, which only a clock that
# was never set shows (boards without a real-time clock start at 1970), and not more than
# a day ahead of the receiver, which covers a wrong time zone (up to 14 h) and drift. A
# gateway's backlog can be weeks old, so there is no tighter bound on the past.
EARLIEST_MS = 946_684_800_000  # 2000-01-01T00:00:00Z
MAX_AHEAD_MS = 24 * 3600 * 1000
# A device's own clock is only a record of what it said (such clocks reset to 2000-01-01
# or run years off): anything from 1970 to a year ahead passes.
DEVICE_EARLIEST_MS = 0
DEVICE_MAX_AHEAD_MS = 366 * 24 * 3600 * 1000
# Numbers in alerts (a reading, a threshold, evidence): finite, and at most this in size,
# which still holds millisecond times (window_start_ms) exactly.
MAX_MAGNITUDE = 1e15


def _now_ms() -> int:
    return int(time.time() * 1000)


def _iso(ms: int) -> str:
    try:
        return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="seconds")
    except (OverflowError, OSError, ValueError):
        return "out of range"


def time_problem(ms: int, now_ms: int | None = None) -> str | None:
    """Why a time a gateway stamped cannot be right, or None."""
    now = _now_ms() if now_ms is None else now_ms
    if ms < EARLIEST_MS:
        return f"{ms} ({_iso(ms)}) is before 2000-01-01: the clock was not set"
    if ms > now + MAX_AHEAD_MS:
        return f"{ms} ({_iso(ms)}) is more than a day ahead of {_iso(now)}"
    return None


def device_time_problem(ms: int, now_ms: int | None = None) -> str | None:
    now = _now_ms() if now_ms is None else now_ms
    if not DEVICE_EARLIEST_MS <= ms <= now + DEVICE_MAX_AHEAD_MS:
        return f"{ms} ({_iso(ms)}) is not between 1970 and a year from now"
    return None


def value_problem(observation_type: str, value: float) -> str | None:
    """Why ``value`` cannot be a reading of ``observation_type``, or None."""
    if not math.isfinite(value):
        return "value must be a finite number"
    low, high = VALUE_RANGES[observation_type]
    if not low <= value <= high:
        unit = UNITS[observation_type]
        return f"value {value} for {observation_type} is outside {low:g}..{high:g} {unit}"
    return None


# Validation context of a gateway building its own message: its clock is the one that
# stamped it, so it cannot judge it. An alert raised with the clock unset must still sound
# and reach the local webhook; the cloud then refuses it, counted.
STAMPED_HERE = "stamped_here"


def _gateway_time(ms: int, info: ValidationInfo) -> int:
    if isinstance(info.context, dict) and info.context.get(STAMPED_HERE):
        return ms
    problem = time_problem(ms)
    if problem is not None:
        raise ValueError(problem)
    return ms


def _device_time(ms: int) -> int:
    problem = device_time_problem(ms)
    if problem is not None:
        raise ValueError(problem)
    return ms


def _bounded_number(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    if abs(value) > MAX_MAGNITUDE:
        raise ValueError(f"must be at most {MAX_MAGNITUDE:g} in size")
    return value


Severity = Literal["low", "medium", "high", "critical"]
EvidenceKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]
Seq = Annotated[int, Field(ge=0, le=MAX_SEQ)]
GatewayTime = Annotated[int, AfterValidator(_gateway_time)]
DeviceTime = Annotated[int, AfterValidator(_device_time)]
BoundedNumber = Annotated[float, AfterValidator(_bounded_number)]
MAX_EVIDENCE_TEXT = 200


def _no_nul(text: str) -> str:
    # PostgreSQL text cannot hold NUL: such a message could never be stored.
    if "\x00" in text:
        raise ValueError("must not contain NUL characters")
    return text


NoNul = AfterValidator(_no_nul)


def _evidence_values(
    evidence: dict[str, float | int | str | bool] | None,
) -> dict[str, float | int | str | bool] | None:
    for key, value in (evidence or {}).items():
        if isinstance(value, str):
            if len(value) > MAX_EVIDENCE_TEXT:
                raise ValueError(f"'{key}' is longer than {MAX_EVIDENCE_TEXT} characters")
            if "\x00" in value:
                raise ValueError(f"'{key}' must not contain NUL characters")
        elif not isinstance(value, bool):
            try:
                _bounded_number(float(value))
            except (ValueError, OverflowError) as exc:
                raise ValueError(f"'{key}' {exc}") from None
    return evidence


Evidence = Annotated[
    dict[EvidenceKey, bool | int | float | str] | None, AfterValidator(_evidence_values)
]


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Observation(Message):
    seq: Seq
    device_id: Identifier
    type: ObservationType
    value: float
    unit: str = Field(max_length=16)
    ts_ms: GatewayTime = Field(description="gateway clock, UTC milliseconds")
    device_ts_ms: DeviceTime | None = Field(
        default=None, description="the device's own clock, if sent"
    )

    @field_validator("value")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("value must be a finite number")
        return value

    @model_validator(mode="after")
    def _unit_and_value_match_type(self) -> Observation:
        expected = UNITS[self.type]
        if self.unit != expected:
            raise ValueError(f"unit for {self.type} must be '{expected}', got '{self.unit}'")
        problem = value_problem(self.type, self.value)
        if problem is not None:
            raise ValueError(problem)
        return self


class ObservationBatch(Message):
    schema_version: Literal[1] = Field(alias="schema", default=SCHEMA_VERSION)
    site_id: Identifier
    gateway_id: Identifier
    observations: list[Observation] = Field(min_length=1, max_length=500)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class AlertMessage(Message):
    schema_version: Literal[1] = Field(alias="schema", default=SCHEMA_VERSION)
    site_id: Identifier
    gateway_id: Identifier
    seq: Seq
    device_id: Identifier
    kind: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,63}$")]
    severity: Severity
    raised_at_ms: GatewayTime
    message: Annotated[str, Field(max_length=500), NoNul]
    # What a threshold alert was about; an event such as an SOS press has none of these.
    observation: ObservationType | None = None
    value: BoundedNumber | None = None
    threshold: BoundedNumber | None = None
    # What triggered it: the values and their window (``window_start_ms``, ``window_end_ms``).
    evidence: Evidence = Field(default=None, max_length=40)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class GatewayState(Message):
    schema_version: Literal[1] = Field(alias="schema", default=SCHEMA_VERSION)
    site_id: Identifier
    gateway_id: Identifier
    online: bool
    ts_ms: GatewayTime
    # device id -> its link state, as the devices table holds it
    devices: dict[Identifier, Annotated[str, Field(max_length=32), NoNul]] = Field(
        default_factory=dict, max_length=1000
    )

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


CommandAction = Literal["bind_device", "unbind_device", "set_thresholds", "snooze", "reload_config"]
COMMAND_ACTIONS: tuple[str, ...] = (
    "bind_device",
    "unbind_device",
    "set_thresholds",
    "snooze",
    "reload_config",
)


class Command(Message):
    """The cloud asks a gateway to change something, on ``<root>/<site>/<gateway>/commands``.

    ``args`` depend on the action and are validated by the gateway, which answers every
    command it can read with a :class:`CommandResult`. A command past ``expires_at_ms`` is
    refused as stale (MQTT 5 brokers drop it earlier through the message expiry interval).
    """

    schema_version: Literal[1] = Field(alias="schema", default=SCHEMA_VERSION)
    command_id: Identifier
    action: CommandAction
    args: dict[str, object] = Field(default_factory=dict)
    issued_at_ms: int = Field(ge=0, le=MAX_INT64)
    expires_at_ms: int | None = Field(default=None, ge=0, le=MAX_INT64)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class CommandResult(Message):
    """The gateway's answer, on ``<root>/<site>/<gateway>/command_results``: ``done``, or
    ``refused`` with the reason (invalid, stale, not applicable here)."""

    schema_version: Literal[1] = Field(alias="schema", default=SCHEMA_VERSION)
    site_id: Identifier
    gateway_id: Identifier
    command_id: Annotated[str, Field(max_length=64), NoNul]  # "" when the command was unreadable
    action: Annotated[str, Field(max_length=64), NoNul]
    status: Literal["done", "refused"]
    reason: Annotated[str, Field(max_length=1000), NoNul] | None = None
    # Set when a reload changed settings that only a restart applies (the MQTT link, say).
    restart_needed_for: list[Annotated[str, Field(max_length=64), NoNul]] = Field(
        default_factory=list, max_length=50
    )
    at_ms: GatewayTime

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def topic(site_id: str, gateway_id: str, channel: Channel, root: str = TOPIC_ROOT) -> str:
    return f"{root}/{site_id}/{gateway_id}/{channel}"


class TopicError(ValueError):
    pass


def parse_topic(name: str, root: str = TOPIC_ROOT) -> tuple[str, str, str]:
    """Split ``<root>/<site>/<gateway>/<channel>`` into its three parts."""
    prefix = root + "/"
    parts = name[len(prefix) :].split("/") if name.startswith(prefix) else []
    if len(parts) != 3 or parts[2] not in CHANNELS or not all(parts):
        raise TopicError(f"topic '{name}' is not {root}/<site>/<gateway>/<channel>")
    return parts[0], parts[1], parts[2]


def encode(message: Message) -> bytes:
    return message.model_dump_json(by_alias=True, exclude_none=True).encode()
