"""Time-bounded episodes (tachycardia, bradycardia, desaturation) combined into one
:class:`Scenario`: each eases in over ``ramp_s`` after its start, holds, and eases back
out before its end."""

from __future__ import annotations

from dataclasses import dataclass


def _envelope(t_s: float, start_s: float, end_s: float, ramp_s: float) -> float:
    if not start_s <= t_s < end_s:
        return 0.0
    ramp = max(ramp_s, 1e-9)
    return max(0.0, min(1.0, (t_s - start_s) / ramp, (end_s - t_s) / ramp))


@dataclass(frozen=True)
class HeartRateEpisode:
    start_s: float
    end_s: float
    target_bpm: float
    ramp_s: float = 20.0


@dataclass(frozen=True)
class DesaturationEpisode:
    start_s: float
    end_s: float
    target_pct: float = 86.0
    ramp_s: float = 60.0
    heart_rate_rise_bpm: float = 10.0


@dataclass(frozen=True)
class EpisodeScenario:
    """Baseline outside every episode; where episodes overlap, later ones win."""

    heart_rate: tuple[HeartRateEpisode, ...] = ()
    desaturation: tuple[DesaturationEpisode, ...] = ()

    def heart_rate_target(self, t_s: float, baseline_bpm: float) -> float:
        value = baseline_bpm
        for e in self.desaturation:
            value += _envelope(t_s, e.start_s, e.end_s, e.ramp_s) * e.heart_rate_rise_bpm
        for e in self.heart_rate:
            value += _envelope(t_s, e.start_s, e.end_s, e.ramp_s) * (e.target_bpm - value)
        return value

    def spo2_target(self, t_s: float, baseline_pct: float) -> float:
        value = baseline_pct
        for e in self.desaturation:
            value += _envelope(t_s, e.start_s, e.end_s, e.ramp_s) * (e.target_pct - value)
        return value
