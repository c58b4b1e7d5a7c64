"""Threshold alerts with a sustain time and hysteresis, per device.

A value must stay beyond the threshold for ``sustain_s`` before the alert is raised,
and must come back past ``clear_margin`` before the same alert can be raised again,
so a reading hovering at the limit does not page anyone twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from anxin.config import ThresholdConfig


@dataclass(frozen=True)
class ThresholdCrossed:
    rule: ThresholdConfig
    device_id: str
    value: float
    ts_ms: int
    breaching_since_ms: int

    @property
    def threshold(self) -> float:
        limit = self.rule.above if self.rule.above is not None else self.rule.below
        assert limit is not None
        return limit


@dataclass
class _DeviceState:
    breaching_since_ms: int | None = None
    raised: bool = False


@dataclass
class ThresholdDetector:
    rule: ThresholdConfig
    _states: dict[str, _DeviceState] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (self.rule.above is None) == (self.rule.below is None):
            raise ValueError(
                f"threshold '{self.rule.kind}' needs exactly one of 'above' or 'below'"
            )

    def _beyond(self, value: float, margin: float) -> bool:
        if self.rule.above is not None:
            return value > self.rule.above - margin
        assert self.rule.below is not None
        return value < self.rule.below + margin

    def is_raised(self, device_id: str) -> bool:
        """Raised and not yet back past the clear margin."""
        state = self._states.get(device_id)
        return state is not None and state.raised

    def update(self, device_id: str, value: float, ts_ms: int) -> ThresholdCrossed | None:
        """Feed one sample; returns the crossing when the alert should be raised now."""
        state = self._states.setdefault(device_id, _DeviceState())
        if self._beyond(value, 0.0):
            if state.breaching_since_ms is None:
                state.breaching_since_ms = ts_ms
            sustained = ts_ms - state.breaching_since_ms >= self.rule.sustain_s * 1000
            if sustained and not state.raised:
                state.raised = True
                return ThresholdCrossed(
                    self.rule, device_id, value, ts_ms, state.breaching_since_ms
                )
            return None
        state.breaching_since_ms = None
        if state.raised and not self._beyond(value, self.rule.clear_margin):
            state.raised = False
        return None
