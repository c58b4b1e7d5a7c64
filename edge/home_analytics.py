"""The analytics detectors, run live on one home's readings.

Each decoded frame goes to the detectors it concerns: RR intervals to the AF monitor,
accelerometer samples to the fall monitor, vital signs to the thresholds and to a partial
NEWS2, weights and blood pressures to the personal rules, home sensors to the daily-routine
monitor; a periodic ``tick`` judges what only time reveals (no data, late rising). What comes
out are :class:`Detection` s and :class:`Ended` conditions in the one alert vocabulary; the
gateway passes them through its :class:`AlertPolicy`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from anxin.analytics.af import AfMonitor
from anxin.analytics.alerts import Detection, Evidence
from anxin.analytics.baselines import RobustBaseline, hypertension_pattern, weight_gain_alert
from anxin.analytics.falls import FallMonitor
from anxin.analytics.news2 import score as news2_score
from anxin.analytics.routine import RoutineMonitor, RoutineProfile, SensorEvent
from anxin.analytics.thresholds import ThresholdDetector
from anxin.config import DeviceBindingConfig, EdgeConfig
from anxin.devices.catalogue import CATALOGUE
from anxin.edge.readings import sos_event
from anxin.protocol import UNITS

MINUTE_MS = 60_000
DAY_MS = 24 * 60 * MINUTE_MS
# A vital sign older than this no longer counts towards the person's current NEWS2.
NEWS2_FRESH_MS = 15 * MINUTE_MS
NEWS2_BANDS = (("news2_high", 7), ("news2_medium", 5))
# Heart rate is judged against the person's own history as 5-minute means: unusual beyond
# 4 robust z (about 1 in 30,000 for a normal spread), usual again within 2.
HR_BUCKET_MS = 5 * MINUTE_MS
HR_UNUSUAL_Z = 4.0
HR_USUAL_AGAIN_Z = 2.0
# Silent for this many of its own reporting intervals (and at least 5 minutes): no data.
NO_DATA_INTERVALS = 10
NO_DATA_FLOOR_MS = 5 * MINUTE_MS

_VITALS_FOR_NEWS2 = {
    "heart_rate": "pulse",
    "pulse_rate": "pulse",
    "spo2": "spo2",
    "systolic_bp": "systolic_bp",
    "body_temperature": "temperature",
}
_ROUTINE_ROLES = {"bed_occupied": "bed", "door_open": "front_door", "presence": "presence"}
_FRONT_DOOR_ROOMS = {None, "entrance", "front_door", "hall", "hallway"}


@dataclass(frozen=True)
class Ended:
    """A condition a detector raised is over (its own hysteresis says so)."""

    subject: str
    kind: str
    ts_ms: int


Finding = Detection | Ended


class HomeAnalytics:
    def __init__(self, config: EdgeConfig) -> None:
        self.config = config
        settings = config.analytics
        self.home_subject = settings.person_id or config.gateway.site_id
        self.bindings: dict[str, DeviceBindingConfig] = {d.device_id: d for d in config.devices}
        self.thresholds = [ThresholdDetector(rule) for rule in config.thresholds]
        self.af: dict[str, AfMonitor] = {}
        self.falls: dict[str, FallMonitor] = {}
        self.routine: dict[str, RoutineMonitor] = {}
        self.vitals: dict[str, dict[str, tuple[float, int]]] = {}
        self.news2_band: dict[str, str | None] = {}
        self.heart_baselines: dict[str, RobustBaseline] = {}
        self.heart_buckets: dict[str, tuple[int, list[float]]] = {}
        self.heart_unusual: set[str] = set()
        self.weights: dict[str, deque[tuple[int, float]]] = {}
        self.pressures: dict[str, deque[tuple[int, float, float]]] = {}
        self.last_heard_ms: dict[str, int] = {}
        self.unworn_since_ms: dict[str, int] = {}
        self.raised_device_conditions: set[tuple[str, str]] = set()

    def reconfigure(self, config: EdgeConfig) -> None:
        """New bindings, thresholds or settings; what the detectors learnt is kept, and a
        threshold rule that did not change keeps its state."""
        self.config = config
        self.home_subject = config.analytics.person_id or config.gateway.site_id
        self.bindings = {d.device_id: d for d in config.devices}
        kept = {detector.rule: detector for detector in self.thresholds}
        self.thresholds = [kept.get(rule) or ThresholdDetector(rule) for rule in config.thresholds]

    # --- who and what ---------------------------------------------------------------------

    def subject_of(self, device_id: str) -> str:
        binding = self.bindings.get(device_id)
        return binding.person_id if binding and binding.person_id else self.home_subject

    def _kind_of(self, device_id: str) -> str | None:
        binding = self.bindings.get(device_id)
        return binding.kind if binding else None

    def routine_role(self, device_id: str, observation: str) -> str | None:
        binding = self.bindings.get(device_id)
        room = binding.room if binding else None
        if observation == "motion":
            bathroom = room == "bathroom" or (room is None and "bathroom" in device_id)
            return "bathroom" if bathroom else "motion"
        if observation == "door_open" and room not in _FRONT_DOOR_ROOMS:
            return None
        return _ROUTINE_ROLES.get(observation)

    def _routine_monitor(self, subject: str) -> RoutineMonitor:
        monitor = self.routine.get(subject)
        if monitor is None:
            settings = self.config.analytics
            profile = RoutineProfile.default(
                usual_rising=settings.usual_rising, usual_bedtime=settings.usual_bedtime
            )
            monitor = RoutineMonitor(profile, tz=settings.timezone)
            self.routine[subject] = monitor
        return monitor

    # --- frames in ------------------------------------------------------------------------

    def on_frame(
        self,
        device_id: str,
        values: Mapping[str, Any],
        readings: list[tuple[str, float]],
        ts_ms: int,
    ) -> list[Finding]:
        """One decoded frame from a device and the observations made of it."""
        self.last_heard_ms[device_id] = ts_ms
        found = self._sos(device_id, values, ts_ms)
        found += self._heard_again(device_id, ts_ms)
        found += self._wear(device_id, values, ts_ms)
        found += self._thresholds(device_id, readings, ts_ms)
        found += self._rhythm(device_id, values, ts_ms)
        found += self._fall(device_id, values, ts_ms)
        found += self._news2(device_id, readings, ts_ms)
        found += self._heart_rate_baseline(device_id, readings, ts_ms)
        found += self._personal_rules(device_id, readings, ts_ms)
        self._routine_events(device_id, readings, ts_ms)
        return found

    def tick(self, now_ms: int, device_states: Mapping[str, str]) -> list[Finding]:
        """What only the passing of time reveals: silent devices, routine deviations."""
        found: list[Finding] = []
        for device_id, binding in self.bindings.items():
            kind = CATALOGUE.get(binding.kind)
            if kind is None:
                continue
            last = self.last_heard_ms.get(device_id)
            if last is None:
                continue
            silent_ms = now_ms - last
            limit_ms = max(NO_DATA_FLOOR_MS, NO_DATA_INTERVALS * kind.nominal_interval_s * 1000)
            wearable_on_link = kind.connectable and device_states.get(device_id) == "connected"
            if (
                wearable_on_link
                and binding.kind == "accelerometer_wearable"
                and silent_ms >= self.config.analytics.not_worn_after_s * 1000
            ):
                # Connected but streaming nothing: the wearable's skin sensor says it is off.
                found += self._raise_device(
                    "not_worn",
                    device_id,
                    now_ms,
                    f"{device_id} connected but not worn",
                    {"silent_s": round(silent_ms / 1000)},
                )
            elif silent_ms >= limit_ms and not wearable_on_link:
                found += self._raise_device(
                    "no_data",
                    device_id,
                    now_ms,
                    f"nothing from {device_id} for {silent_ms // MINUTE_MS} min",
                    {
                        "silent_s": round(silent_ms / 1000),
                        "expected_interval_s": kind.nominal_interval_s,
                    },
                )
        for subject, monitor in self.routine.items():
            for deviation in monitor.check(now_ms):
                if deviation.ended:
                    found.append(Ended(subject, deviation.kind, now_ms))
                    continue
                found.append(
                    Detection(
                        kind=deviation.kind,
                        subject=subject,
                        device_id=str(deviation.evidence.get("sensor_id", "home")),
                        ts_ms=deviation.ts_ms,
                        message=_routine_message(deviation.kind, deviation.evidence),
                        severity=deviation.severity,
                        evidence=Evidence(
                            int(deviation.evidence.get("window_start_ms", deviation.ts_ms)),
                            deviation.ts_ms,
                            _flat(deviation.evidence),
                        ),
                    )
                )
        return found

    def _sos(self, device_id: str, values: Mapping[str, Any], ts_ms: int) -> list[Finding]:
        event = sos_event(values)
        if event is None:
            return []
        return [
            Detection(
                kind="sos",
                subject=self.subject_of(device_id),
                device_id=device_id,
                ts_ms=ts_ms,
                message=f"SOS button: {event.replace('_', ' ')}",
                evidence=Evidence(ts_ms, ts_ms, {"button": event}),
            )
        ]

    # --- device conditions ------------------------------------------------------------------

    def _raise_device(
        self, kind: str, device_id: str, ts_ms: int, message: str, values: dict[str, Any]
    ) -> list[Finding]:
        key = (device_id, kind)
        if key in self.raised_device_conditions:
            return []
        self.raised_device_conditions.add(key)
        return [
            Detection(
                kind=kind,
                subject=self.subject_of(device_id),
                device_id=device_id,
                ts_ms=ts_ms,
                message=message,
                evidence=Evidence(self.last_heard_ms.get(device_id, ts_ms), ts_ms, values),
            )
        ]

    def _end_device(self, kind: str, device_id: str, ts_ms: int) -> list[Finding]:
        if (device_id, kind) not in self.raised_device_conditions:
            return []
        self.raised_device_conditions.discard((device_id, kind))
        return [Ended(self.subject_of(device_id), kind, ts_ms)]

    def _heard_again(self, device_id: str, ts_ms: int) -> list[Finding]:
        found = self._end_device("no_data", device_id, ts_ms)
        if self._kind_of(device_id) == "accelerometer_wearable":
            found += self._end_device("not_worn", device_id, ts_ms)
        return found

    def _wear(self, device_id: str, values: Mapping[str, Any], ts_ms: int) -> list[Finding]:
        off_skin = values.get("sensor_contact") == "not_detected"
        off_finger = "sensor_unconnected_to_user" in (values.get("device_sensor_status") or ())
        if not (off_skin or off_finger):
            self.unworn_since_ms.pop(device_id, None)
            if self._kind_of(device_id) == "accelerometer_wearable":
                return []
            return self._end_device("not_worn", device_id, ts_ms)
        since = self.unworn_since_ms.setdefault(device_id, ts_ms)
        if ts_ms - since < self.config.analytics.not_worn_after_s * 1000:
            return []
        what = "no skin contact" if off_skin else "sensor off the finger"
        return self._raise_device(
            "not_worn",
            device_id,
            ts_ms,
            f"{device_id}: {what} for {(ts_ms - since) // 1000} s",
            {"since_ms": since},
        )

    # --- vital signs --------------------------------------------------------------------------

    def _thresholds(
        self, device_id: str, readings: list[tuple[str, float]], ts_ms: int
    ) -> list[Finding]:
        found: list[Finding] = []
        subject = self.subject_of(device_id)
        for observation, value in readings:
            for detector in self.thresholds:
                rule = detector.rule
                if rule.observation != observation:
                    continue
                was_raised = detector.is_raised(device_id)
                crossed = detector.update(device_id, value, ts_ms)
                if crossed is not None:
                    direction = "above" if rule.above is not None else "below"
                    held_s = (ts_ms - crossed.breaching_since_ms) / 1000
                    found.append(
                        Detection(
                            kind=rule.kind,
                            subject=subject,
                            device_id=device_id,
                            ts_ms=ts_ms,
                            message=(
                                f"{observation} {value:g} {UNITS[observation]} {direction} "
                                f"{crossed.threshold:g} for {held_s:.0f} s"
                            ),
                            severity=rule.severity,
                            evidence=Evidence(
                                crossed.breaching_since_ms,
                                ts_ms,
                                {observation: value, "threshold": crossed.threshold},
                            ),
                            observation=observation,
                            value=value,
                            threshold=crossed.threshold,
                        )
                    )
                elif was_raised and not detector.is_raised(device_id):
                    found.append(Ended(subject, rule.kind, ts_ms))
        return found

    def _news2(
        self, device_id: str, readings: list[tuple[str, float]], ts_ms: int
    ) -> list[Finding]:
        subject = self.subject_of(device_id)
        latest = self.vitals.setdefault(subject, {})
        touched = False
        for observation, value in readings:
            parameter = _VITALS_FOR_NEWS2.get(observation)
            if parameter is not None:
                latest[parameter] = (value, ts_ms)
                touched = True
        if not touched:
            return []
        fresh = {p: v for p, (v, at) in latest.items() if ts_ms - at <= NEWS2_FRESH_MS}
        try:
            # Wearables cannot tell consciousness or supplemental oxygen: named as not
            # measured rather than assumed alert and on air.
            result = news2_score(
                consciousness=None,
                on_oxygen=None,
                spo2=fresh.get("spo2"),
                spo2_scale=self.config.analytics.spo2_scale,
                systolic_bp=fresh.get("systolic_bp"),
                pulse=fresh.get("pulse"),
                temperature=fresh.get("temperature"),
            )
        except ValueError:
            return []  # an impossible value: the thresholds and the dead-letter count see it
        band = next((kind for kind, floor in NEWS2_BANDS if result.total >= floor), None)
        previous = self.news2_band.get(subject)
        self.news2_band[subject] = band
        if band == previous:
            return []
        found: list[Finding] = [Ended(subject, previous, ts_ms)] if previous else []
        if band is not None:
            missing = ", ".join(result.missing)
            found.append(
                Detection(
                    kind=band,
                    subject=subject,
                    device_id=device_id,
                    ts_ms=ts_ms,
                    message=f"NEWS2 {result.total} from wearables (not measured: {missing})",
                    evidence=Evidence(
                        min(latest[p][1] for p in fresh),
                        ts_ms,
                        {
                            "news2_total": result.total,
                            "missing": missing,
                            **{f"score_{p}": s for p, s in result.parameters.items()},
                            **{p: v for p, v in fresh.items()},
                        },
                    ),
                    observation=None,
                    value=float(result.total),
                )
            )
        return found

    def _heart_rate_baseline(
        self, device_id: str, readings: list[tuple[str, float]], ts_ms: int
    ) -> list[Finding]:
        rates = [value for observation, value in readings if observation == "heart_rate"]
        if not rates:
            return []
        subject = self.subject_of(device_id)
        bucket = ts_ms // HR_BUCKET_MS
        current, values = self.heart_buckets.get(subject, (bucket, []))
        if bucket == current:
            values.extend(rates)
            self.heart_buckets[subject] = (current, values)
            return []
        self.heart_buckets[subject] = (bucket, list(rates))
        if not values:
            return []
        ended_ms = (current + 1) * HR_BUCKET_MS
        mean = float(np.mean(values))
        baseline = self.heart_baselines.setdefault(subject, RobustBaseline())
        expected = baseline.expected(ended_ms)
        z = baseline.robust_z(ended_ms, mean)
        baseline.add(ended_ms, mean)
        if z is None or expected is None:
            return []
        if subject in self.heart_unusual:
            if abs(z) <= HR_USUAL_AGAIN_Z:
                self.heart_unusual.discard(subject)
                return [Ended(subject, "heart_rate_unusual", ts_ms)]
            return []
        if abs(z) < HR_UNUSUAL_Z:
            return []
        self.heart_unusual.add(subject)
        usual, spread = expected
        return [
            Detection(
                kind="heart_rate_unusual",
                subject=subject,
                device_id=device_id,
                ts_ms=ts_ms,
                message=(
                    f"heart rate {mean:.0f} /min over 5 min, usually {usual:.0f} "
                    f"(± {spread:.0f}) at this time of day"
                ),
                evidence=Evidence(
                    current * HR_BUCKET_MS,
                    ended_ms,
                    {
                        "mean_heart_rate": round(mean, 1),
                        "usual": round(usual, 1),
                        "spread": round(spread, 1),
                        "robust_z": round(z, 2),
                    },
                ),
                observation="heart_rate",
                value=round(mean, 1),
            )
        ]

    # --- rhythm and movement ----------------------------------------------------------------

    def _rhythm(self, device_id: str, values: Mapping[str, Any], ts_ms: int) -> list[Finding]:
        rr = values.get("rr_intervals")
        if not rr or values.get("sensor_contact") == "not_detected":
            return []
        monitor = self.af.setdefault(device_id, AfMonitor())
        subject = self.subject_of(device_id)
        found: list[Finding] = []
        for interval in rr:
            change = monitor.add(float(interval), ts_ms)
            if change is None:
                continue
            if not change.onset:
                found.append(Ended(subject, "atrial_fibrillation", change.ts_ms))
                continue
            found.append(
                Detection(
                    kind="atrial_fibrillation",
                    subject=subject,
                    device_id=device_id,
                    ts_ms=change.ts_ms,
                    message=f"irregularly irregular RR intervals over {change.beats} beats",
                    evidence=Evidence(
                        change.window_start_ms,
                        change.ts_ms,
                        {"beats": change.beats, **_flat(change.features)},
                    ),
                )
            )
        return found

    def _fall(self, device_id: str, values: Mapping[str, Any], ts_ms: int) -> list[Finding]:
        samples = values.get("samples")
        if not samples:
            return []
        monitor = self.falls.get(device_id)
        if monitor is None:
            monitor = FallMonitor(long_lie_s=self.config.analytics.long_lie_s)
            self.falls[device_id] = monitor
        subject = self.subject_of(device_id)
        found: list[Finding] = []
        for event in monitor.add(np.asarray(samples, dtype=float), ts_ms):
            if event.kind == "recovered":
                found.append(Ended(subject, "long_lie", event.ts_ms))
                continue
            evidence = _flat(event.evidence)
            message = (
                f"fall: impact {evidence.get('impact_g', '?')} g"
                if event.kind == "fall"
                else f"no movement for {self.config.analytics.long_lie_s:.0f} s after a fall"
            )
            found.append(
                Detection(
                    kind=event.kind,
                    subject=subject,
                    device_id=device_id,
                    ts_ms=event.ts_ms,
                    message=message,
                    # From the impact to the frame that revealed the fall (or the long lie).
                    evidence=Evidence(
                        int(evidence.get("impact_ts_ms", event.ts_ms)),
                        max(ts_ms, event.ts_ms),
                        evidence,
                    ),
                )
            )
        return found

    # --- personal rules and routine -------------------------------------------------------------

    def _personal_rules(
        self, device_id: str, readings: list[tuple[str, float]], ts_ms: int
    ) -> list[Finding]:
        subject = self.subject_of(device_id)
        values = dict(readings)
        found: list[Finding] = []
        if "body_weight" in values:
            weights = self.weights.setdefault(subject, deque(maxlen=64))
            weights.append((ts_ms, values["body_weight"]))
            times, kgs = zip(*weights, strict=True)
            gain = weight_gain_alert(np.array(times), np.array(kgs))
            if gain is not None:
                evidence = _flat(gain.as_dict())
                found.append(
                    Detection(
                        kind="weight_gain",
                        subject=subject,
                        device_id=device_id,
                        ts_ms=ts_ms,
                        message=f"weight up {gain.gain_kg:.1f} kg within 3 days",
                        evidence=Evidence(gain.from_ts_ms, gain.to_ts_ms, evidence),
                        observation="body_weight",
                        value=values["body_weight"],
                    )
                )
        if "systolic_bp" in values and "diastolic_bp" in values:
            pressures = self.pressures.setdefault(subject, deque(maxlen=128))
            pressures.append((ts_ms, values["systolic_bp"], values["diastolic_bp"]))
            times, systolic, diastolic = (
                np.array(column) for column in zip(*pressures, strict=True)
            )
            recent = times >= ts_ms - 7 * DAY_MS
            pattern = hypertension_pattern(times[recent], systolic[recent], diastolic[recent])
            if pattern is not None:
                found.append(
                    Detection(
                        kind="hypertension_pattern",
                        subject=subject,
                        device_id=device_id,
                        ts_ms=ts_ms,
                        message="home blood pressure high on several days this week",
                        evidence=Evidence(
                            int(times[recent].min()), ts_ms, _flat(pattern.as_dict())
                        ),
                    )
                )
        return found

    def _routine_events(
        self, device_id: str, readings: list[tuple[str, float]], ts_ms: int
    ) -> None:
        for observation, value in readings:
            role = self.routine_role(device_id, observation)
            if role is None:
                continue
            monitor = self._routine_monitor(self.subject_of(device_id))
            monitor.add(SensorEvent(ts_ms, device_id, role, value))  # type: ignore[arg-type]


def _flat(values: Mapping[str, Any]) -> dict[str, float | int | str | bool]:
    """Evidence as plain scalars (lists and nested values become text)."""
    flat: dict[str, float | int | str | bool] = {}
    for key, value in values.items():
        if isinstance(value, bool | int | str):
            flat[key] = value
        elif isinstance(value, float | np.floating):
            flat[key] = round(float(value), 4)
        elif isinstance(value, np.integer):
            flat[key] = int(value)
        elif value is not None:
            flat[key] = str(value)
    return flat


def _routine_message(kind: str, evidence: Mapping[str, Any]) -> str:
    details = ", ".join(f"{k} {v}" for k, v in evidence.items() if not k.endswith("_ms"))
    return f"{kind.replace('_', ' ')}: {details}" if details else kind.replace("_", " ")
