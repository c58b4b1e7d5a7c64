"""Scripted courses of a person's vital signs, as pure functions of simulated time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class Scenario(Protocol):
    def heart_rate_target(self, t_s: float, baseline_bpm: float) -> float: ...

    def spo2_target(self, t_s: float, baseline_pct: float) -> float: ...


def _ramp(t_s: float, start_after_s: float, ramp_s: float, start: float, target: float) -> float:
    if t_s <= start_after_s:
        return start
    if ramp_s <= 0 or t_s >= start_after_s + ramp_s:
        return target
    return start + (target - start) * (t_s - start_after_s) / ramp_s


@dataclass(frozen=True)
class Baseline:
    """Nothing happens: the person stays at their baseline."""

    def heart_rate_target(self, t_s: float, baseline_bpm: float) -> float:
        return baseline_bpm

    def spo2_target(self, t_s: float, baseline_pct: float) -> float:
        return baseline_pct


@dataclass(frozen=True)
class TachycardiaScenario:
    """After ``start_after_s`` the heart rate ramps linearly to ``target_bpm`` over
    ``ramp_s`` and stays there."""

    start_after_s: float = 60.0
    target_bpm: float = 135.0
    ramp_s: float = 20.0

    def heart_rate_target(self, t_s: float, baseline_bpm: float) -> float:
        return _ramp(t_s, self.start_after_s, self.ramp_s, baseline_bpm, self.target_bpm)

    def spo2_target(self, t_s: float, baseline_pct: float) -> float:
        return baseline_pct


@dataclass(frozen=True)
class BradycardiaScenario(TachycardiaScenario):
    target_bpm: float = 38.0


@dataclass(frozen=True)
class DesaturationScenario:
    """After ``start_after_s`` SpO2 ramps to ``target_pct`` (heart rate rises a little)."""

    start_after_s: float = 60.0
    target_pct: float = 86.0
    ramp_s: float = 60.0
    heart_rate_rise_bpm: float = 10.0

    def heart_rate_target(self, t_s: float, baseline_bpm: float) -> float:
        rise = _ramp(t_s, self.start_after_s, self.ramp_s, 0.0, self.heart_rate_rise_bpm)
        return baseline_bpm + rise

    def spo2_target(self, t_s: float, baseline_pct: float) -> float:
        return _ramp(t_s, self.start_after_s, self.ramp_s, baseline_pct, self.target_pct)
