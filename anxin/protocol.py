"""What gateways and the cloud say to each other over MQTT (schema version 1).

Topics live under ``anxin/v1/<site>/<gateway>/<channel>``. Every observation and
alert carries the gateway's own sequence number; (gateway id, sequence) is the
key that makes redelivery harmless.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
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

Severity = Literal["low", "medium", "high", "critical"]
EvidenceKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Observation(Message):
    seq: int = Field(ge=0)
    device_id: Identifier
    type: ObservationType
    value: float
    unit: str
    ts_ms: int = Field(ge=0, description="gateway clock, UTC milliseconds")
    device_ts_ms: int | None = Field(default=None, description="the device's own clock, if sent")

    @field_validator("value")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("value must be a finite number")
        return value

    @model_validator(mode="after")
    def _unit_matches_type(self) -> Observation:
        expected = UNITS[self.type]
        if self.unit != expected:
            raise ValueError(f"unit for {self.type} must be '{expected}', got '{self.unit}'")
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
    seq: int = Field(ge=0)
    device_id: Identifier
    kind: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,63}$")]
    severity: Severity
    raised_at_ms: int = Field(ge=0)
    message: str = Field(max_length=500)
    # What a threshold alert was about; an event such as an SOS press has none of these.
    observation: ObservationType | None = None
    value: float | None = None
    threshold: float | None = None
    # What triggered it: the values and their window (``window_start_ms``, ``window_end_ms``).
    evidence: dict[EvidenceKey, float | int | str | bool] | None = Field(
        default=None, max_length=40
    )

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class GatewayState(Message):
    schema_version: Literal[1] = Field(alias="schema", default=SCHEMA_VERSION)
    site_id: Identifier
    gateway_id: Identifier
    online: bool
    ts_ms: int = Field(ge=0)
    devices: dict[str, str] = Field(default_factory=dict)

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
    issued_at_ms: int = Field(ge=0)
    expires_at_ms: int | None = Field(default=None, ge=0)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class CommandResult(Message):
    """The gateway's answer, on ``<root>/<site>/<gateway>/command_results``: ``done``, or
    ``refused`` with the reason (invalid, stale, not applicable here)."""

    schema_version: Literal[1] = Field(alias="schema", default=SCHEMA_VERSION)
    site_id: Identifier
    gateway_id: Identifier
    command_id: str = Field(max_length=64)  # "" when the command was unreadable
    action: str = Field(max_length=64)
    status: Literal["done", "refused"]
    reason: str | None = Field(default=None, max_length=1000)
    # Set when a reload changed settings that only a restart applies (the MQTT link, say).
    restart_needed_for: list[str] = Field(default_factory=list)
    at_ms: int = Field(ge=0)

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
