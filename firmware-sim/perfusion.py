"""Peripheral perfusion as a pulse oximeter sees it: the perfusion index (PI), the
pulsatile share of the infrared signal in percent.

A cold or poorly perfused finger (vasoconstriction, low cardiac output, shock) gives
a small PI, and oximeters then flag low perfusion and treat the reading as doubtful.
"""

from __future__ import annotations

from dataclasses import dataclass

NORMAL_PI_PCT = 3.0
# Manufacturers do not share one cut-off; 0.4 % sits inside the 0.2-1 % range at which
# common finger oximeters start flagging low perfusion.
LOW_PI_PCT = 0.4


@dataclass(frozen=True)
class LowPerfusionEpisode:
    start_s: float
    end_s: float
    index_pct: float = 0.2
    ramp_s: float = 30.0


@dataclass(frozen=True)
class PerfusionModel:
    baseline_pct: float = NORMAL_PI_PCT
    low_below_pct: float = LOW_PI_PCT
    episodes: tuple[LowPerfusionEpisode, ...] = ()

    def index_pct(self, t_s: float) -> float:
        value = self.baseline_pct
        for e in self.episodes:
            if not e.start_s <= t_s < e.end_s:
                continue
            ramp = max(e.ramp_s, 1e-9)
            weight = min(1.0, (t_s - e.start_s) / ramp, (e.end_s - t_s) / ramp)
            value += weight * (e.index_pct - value)
        return value

    def is_low(self, t_s: float) -> bool:
        return self.index_pct(t_s) < self.low_below_pct
