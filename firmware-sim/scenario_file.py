"""Scenario files: a person, their home's devices and a timeline of events, in TOML.

Validated with pydantic (unknown keys rejected); every error names its place in the
file as a path such as ``timeline[2].at``. Times in the timeline are clock times
("10:42"); each means its first occurrence at or after the scenario's ``start``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .activity import SECONDS_PER_DAY

CLOCK_PATTERN = r"^([01]?\d|2[0-3]):[0-5]\d(:[0-5]\d)?$"
ClockTime = Annotated[str, Field(pattern=CLOCK_PATTERN, description="HH:MM or HH:MM:SS")]
Duration = Annotated[str, Field(pattern=r"^\d{1,2}:[0-5]\d$", description="HH:MM")]

Condition = Literal["hypertension", "af", "heart_failure", "frailty", "copd"]
FaultName = Literal[
    "out_of_range",
    "disconnect",
    "contact_lost",
    "nan_readings",
    "duplicate_notifications",
    "refuse_connections",
]


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names the file and the key."""


def clock_seconds(text: str) -> float:
    """Seconds after midnight of "HH:MM[:SS]"."""
    parts = [int(p) for p in text.split(":")]
    return parts[0] * 3600.0 + parts[1] * 60.0 + (parts[2] if len(parts) > 2 else 0)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Person(_Strict):
    name: str
    age: int = Field(ge=0, le=120)
    sex: Literal["female", "male"]
    conditions: tuple[Condition, ...] = ()
    resting_hr: float = Field(default=72.0, ge=30, le=150)
    spo2: float | None = Field(default=None, ge=70, le=100)  # None: by condition
    bp_systolic: int | None = Field(default=None, ge=60, le=260)
    bp_diastolic: int | None = Field(default=None, ge=30, le=160)
    wake: ClockTime = "07:00"
    bedtime: ClockTime = "22:00"
    ectopic_per_hour: float | None = Field(default=None, ge=0, le=3600)


ENCRYPTING_KINDS = frozenset(
    {"bthome_door", "bthome_bed", "bthome_presence", "bthome_button", "bthome_room"}
)


class Device(_Strict):
    kind: str
    id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    address: str | None = Field(default=None, pattern=r"^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$")
    interval_s: float | None = Field(default=None, gt=0)
    # BTHome encryption key (16 bytes as 32 hex digits); the gateway needs the same one.
    bind_key: str | None = Field(default=None, pattern=r"^[0-9A-Fa-f]{32}$")

    @model_validator(mode="after")
    def _key_only_where_encrypted(self) -> Device:
        if self.bind_key and self.kind not in ENCRYPTING_KINDS:
            raise ValueError(f"kind '{self.kind}' does not encrypt, so it takes no bind_key")
        return self


class _Span(_Strict):
    at: ClockTime
    until: ClockTime


class AfEvent(_Span):
    event: Literal["af"]
    rate: float = Field(default=110.0, ge=60, le=180)


class TachycardiaEvent(_Span):
    event: Literal["tachycardia"]
    bpm: float = Field(default=135.0, ge=100, le=220)


class BradycardiaEvent(_Span):
    event: Literal["bradycardia"]
    bpm: float = Field(default=38.0, ge=20, le=60)


class DesaturationEvent(_Span):
    event: Literal["desaturation"]
    spo2: float = Field(default=86.0, ge=60, le=95)


class LowPerfusionEvent(_Span):
    event: Literal["low_perfusion"]


class WanderingEvent(_Span):
    event: Literal["wandering"]


class NotWornEvent(_Span):
    event: Literal["not_worn"]
    devices: tuple[str, ...] = ()  # device ids or kinds; empty: every wearable


class FallEvent(_Strict):
    event: Literal["fall"]
    at: ClockTime
    lie_minutes: float = Field(default=20.0, gt=0, le=24 * 60)


class NoRisingEvent(_Strict):
    """Stays in bed from the usual waking time until ``until``."""

    event: Literal["no_rising"]
    until: ClockTime


class SosEvent(_Strict):
    """The SOS button is pressed at ``at``."""

    event: Literal["sos"]
    at: ClockTime
    press: Literal["press", "double_press", "long_press"] = "press"


class FaultEvent(_Strict):
    event: Literal["fault"]
    fault: FaultName
    device: str
    at: ClockTime
    until: ClockTime | None = None  # None: instantaneous (disconnect) or until the end


Event = Annotated[
    AfEvent
    | TachycardiaEvent
    | BradycardiaEvent
    | DesaturationEvent
    | LowPerfusionEvent
    | WanderingEvent
    | NotWornEvent
    | FallEvent
    | NoRisingEvent
    | SosEvent
    | FaultEvent,
    Field(discriminator="event"),
]
EVENT_KINDS = frozenset(
    get_args(model.model_fields["event"].annotation)[0] for model in get_args(get_args(Event)[0])
)


class ScenarioFile(_Strict):
    name: str
    description: str = ""
    start: ClockTime = "08:00"
    duration: Duration = "24:00"
    speed: float = Field(default=60.0, gt=0, le=100_000)
    seed: int = 0
    person: Person
    devices: tuple[Device, ...] = Field(min_length=1)
    timeline: tuple[Event, ...] = ()

    @property
    def start_s(self) -> float:
        return clock_seconds(self.start)

    @property
    def duration_s(self) -> float:
        hours, minutes = self.duration.split(":")
        return int(hours) * 3600.0 + int(minutes) * 60.0

    def at_s(self, clock: str) -> float:
        """Simulated seconds from the start to the first ``clock`` time at or after it."""
        return (clock_seconds(clock) - self.start_s) % SECONDS_PER_DAY

    def span_s(self, at: str, until: str) -> tuple[float, float]:
        start = self.at_s(at)
        return start, start + (clock_seconds(until) - clock_seconds(at)) % SECONDS_PER_DAY


def _path(loc: tuple[Any, ...]) -> str:
    text = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            text += f"[{part}]"
        elif i > 0 and isinstance(loc[i - 1], int) and part in EVENT_KINDS:
            continue  # pydantic puts the union's tag in the path; the file has none
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def _check_references(scenario: ScenarioFile) -> list[str]:
    problems = []
    ids = [d.id for d in scenario.devices if d.id is not None]
    for i, d in enumerate(scenario.devices):
        if d.id is not None and ids.count(d.id) > 1:
            problems.append(f"devices[{i}].id: '{d.id}' is used by more than one device")
    names = set(ids) | {d.kind for d in scenario.devices}
    for i, event in enumerate(scenario.timeline):
        refs = (
            [("device", event.device)]
            if isinstance(event, FaultEvent)
            else [(f"devices[{j}]", r) for j, r in enumerate(event.devices)]
            if isinstance(event, NotWornEvent)
            else []
        )
        for key, ref in refs:
            if ref not in names:
                problems.append(
                    f"timeline[{i}].{key}: no device with id or kind '{ref}' in this home"
                )
        for key in ("at", "until"):
            clock = getattr(event, key, None)
            if clock is not None and scenario.at_s(clock) >= scenario.duration_s:
                problems.append(
                    f"timeline[{i}].{key}: {clock} falls after the scenario ends "
                    f"(start {scenario.start}, duration {scenario.duration})"
                )
        if isinstance(event, _Span | FaultEvent) and getattr(event, "until", None) == event.at:
            problems.append(f"timeline[{i}].until: equals 'at'; the event would last no time")
    return problems


def parse_scenario(data: dict[str, Any], source: str = "scenario") -> ScenarioFile:
    try:
        scenario = ScenarioFile.model_validate(data)
    except ValidationError as exc:
        lines = [f"invalid scenario in {source}:"]
        for item in exc.errors():
            reason = "unknown key" if item["type"] == "extra_forbidden" else item["msg"]
            lines.append(f"  {_path(item['loc'])}: {reason}")
        raise ScenarioError("\n".join(lines)) from None
    problems = _check_references(scenario)
    if problems:
        raise ScenarioError(
            "\n".join([f"invalid scenario in {source}:", *(f"  {p}" for p in problems)])
        )
    return scenario


def load_scenario(path: str | Path) -> ScenarioFile:
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ScenarioError(f"scenario file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path} is not valid TOML: {exc}") from exc
    return parse_scenario(data, str(path))


def example_scenarios() -> list[Path]:
    """The scenarios shipped with the simulator."""
    return sorted((Path(__file__).parent / "scenarios").glob("*.toml"))
