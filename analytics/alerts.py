"""One alert vocabulary for every detector and device condition, and the rules against alert storms.

Detectors say what they saw (a :class:`Detection`: kind, subject, evidence); the
:class:`AlertPolicy` decides whether anyone is paged:

- de-duplication: while an alert of the same kind is active for the same person, further
  detections fold into it (counted, not sent) until the detector reports the condition ended
  (its own hysteresis) or, for events without an end, ``fold_s`` passed. An SOS press is
  never folded: pressing again because nobody came is news, and the cloud counts the presses
  into the one open alert;
- snooze: a worker may silence one kind (or all kinds) for a person until a time;
  the critical kinds cannot be snoozed;
- a limit per person per hour, never applied to critical alerts.

Severity follows the clinical weight of the finding: ``critical`` is a person who may be
unable to call for help (SOS, fall, long lie), ``high`` needs a response within the hour,
``medium`` today, ``low`` is for device care and routine changes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["low", "medium", "high", "critical"]
Category = Literal[
    "vital_sign", "rhythm", "early_warning", "fall", "emergency", "baseline", "routine", "device"
]
SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high", "critical")
EvidenceValue = float | int | str | bool


@dataclass(frozen=True)
class AlertKind:
    name: str
    category: Category
    severity: Severity
    title_en: str
    title_zh: str


def _kinds(*kinds: AlertKind) -> dict[str, AlertKind]:
    return {kind.name: kind for kind in kinds}


VOCABULARY: dict[str, AlertKind] = _kinds(
    AlertKind("sos", "emergency", "critical", "SOS button pressed", "紧急呼叫"),
    AlertKind("fall", "fall", "critical", "Possible fall", "疑似跌倒"),
    AlertKind("long_lie", "fall", "critical", "No movement after a fall", "跌倒后未起身"),
    AlertKind("heart_rate_high", "vital_sign", "high", "Heart rate high", "心率过高"),
    AlertKind("heart_rate_low", "vital_sign", "high", "Heart rate low", "心率过低"),
    AlertKind("spo2_low", "vital_sign", "high", "Blood oxygen low", "血氧过低"),
    AlertKind("atrial_fibrillation", "rhythm", "high", "Possible atrial fibrillation", "疑似房颤"),
    AlertKind("news2_medium", "early_warning", "high", "NEWS2 medium (5-6)", "NEWS2 中风险"),
    AlertKind("news2_high", "early_warning", "critical", "NEWS2 high (7+)", "NEWS2 高风险"),
    AlertKind(
        "heart_rate_unusual",
        "baseline",
        "medium",
        "Heart rate unusual for this person",
        "心率偏离个人基线",
    ),
    AlertKind(
        "weight_gain", "baseline", "medium", "Weight gain of 2 kg in 3 days", "三天体重增加2公斤"
    ),
    AlertKind(
        "hypertension_pattern", "baseline", "medium", "Repeated high blood pressure", "血压持续偏高"
    ),
    AlertKind("late_rising", "routine", "medium", "Not up at the usual time", "未按时起床"),
    AlertKind("inactivity", "routine", "high", "Long inactivity at home", "长时间无活动"),
    AlertKind("night_wandering", "routine", "high", "Out and about at night", "夜间游走"),
    AlertKind(
        "night_bathroom_visits",
        "routine",
        "low",
        "More night bathroom visits than usual",
        "夜间如厕增多",
    ),
    AlertKind("battery_low", "device", "low", "Device battery low", "设备电量低"),
    AlertKind("not_worn", "device", "low", "Wearable not worn", "设备未佩戴"),
    AlertKind("no_data", "device", "medium", "Device silent", "设备无数据"),
    AlertKind("gateway_offline", "device", "high", "Home gateway offline", "网关离线"),
)


class UnknownAlertKind(ValueError):
    pass


def alert_kind(name: str) -> AlertKind:
    try:
        return VOCABULARY[name]
    except KeyError:
        raise UnknownAlertKind(
            f"unknown alert kind '{name}' (known: {', '.join(sorted(VOCABULARY))})"
        ) from None


@dataclass(frozen=True)
class Evidence:
    """What triggered a detection: the values and the time window they come from."""

    window_start_ms: int
    window_end_ms: int
    values: Mapping[str, EvidenceValue] = field(default_factory=dict)

    def as_dict(self) -> dict[str, EvidenceValue]:
        return {
            "window_start_ms": self.window_start_ms,
            "window_end_ms": self.window_end_ms,
            **self.values,
        }


@dataclass(frozen=True)
class Detection:
    """A detector's finding about one subject (a person, or a device nobody is bound to)."""

    kind: str
    subject: str
    device_id: str
    ts_ms: int
    message: str
    evidence: Evidence
    severity: Severity | None = None  # None: the vocabulary's severity for the kind
    observation: str | None = None
    value: float | None = None
    threshold: float | None = None

    def __post_init__(self) -> None:
        alert_kind(self.kind)

    @property
    def effective_severity(self) -> Severity:
        return self.severity or VOCABULARY[self.kind].severity


Outcome = Literal["raise", "folded", "snoozed", "rate_limited"]


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    detection: Detection

    @property
    def raised(self) -> bool:
        return self.outcome == "raise"


@dataclass
class _Active:
    since_ms: int
    last_ms: int
    folded: int = 0


@dataclass
class AlertPolicy:
    """Decides which detections page someone. Times are the caller's (ms), never the wall clock."""

    max_per_hour: int = 10
    fold_s: float = 30 * 60.0
    _active: dict[tuple[str, str], _Active] = field(default_factory=dict)
    _snoozed: dict[tuple[str, str | None], int] = field(default_factory=dict)
    _sent: dict[str, deque[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.max_per_hour < 1:
            raise ValueError(f"max_per_hour must be at least 1, got {self.max_per_hour}")

    def offer(self, detection: Detection) -> Decision:
        key = (detection.subject, detection.kind)
        now = detection.ts_ms
        active = self._active.get(key)
        emergency = VOCABULARY[detection.kind].category == "emergency"
        if active is not None and not emergency and now - active.last_ms < self.fold_s * 1000:
            active.folded += 1
            active.last_ms = max(active.last_ms, now)
            return Decision("folded", detection)
        critical = detection.effective_severity == "critical"
        if not critical and self.snoozed_until(detection.subject, detection.kind, now):
            return Decision("snoozed", detection)
        sent = self._sent.setdefault(detection.subject, deque())
        while sent and sent[0] <= now - 3_600_000:
            sent.popleft()
        if not critical and len(sent) >= self.max_per_hour:
            return Decision("rate_limited", detection)
        sent.append(now)
        self._active[key] = _Active(since_ms=now, last_ms=now)
        return Decision("raise", detection)

    def ended(self, subject: str, kind: str) -> bool:
        """The detector says the condition is over: the next detection is a new alert."""
        return self._active.pop((subject, kind), None) is not None

    def is_active(self, subject: str, kind: str) -> bool:
        return (subject, kind) in self._active

    def snooze(self, subject: str, kind: str | None, until_ms: int) -> None:
        """Silence one kind (``None``: every kind) for a subject; critical kinds still page."""
        if kind is not None:
            alert_kind(kind)
        self._snoozed[(subject, kind)] = until_ms

    def snoozed_until(self, subject: str, kind: str, now_ms: int) -> int | None:
        for key in ((subject, kind), (subject, None)):
            until = self._snoozed.get(key)
            if until is not None and until > now_ms:
                return until
        return None
