"""Fall detector on SisFall, per trial: ``python -m anxin.analytics.evaluation.falls``.

SisFall (Sucerquia A, López JD, Vargas-Bonilla JF, Sensors 2017;17(1):198) labels whole
trials: a fall trial counts as detected when ``detect`` reports a fall within
NEAR_IMPACT_S of the trial's main impact (its highest band-limited magnitude peak); a
daily-activity trial counts as a false alarm when ``detect`` reports anything. The
headline figures come from the held-out subjects only (never trained or tuned on);
the development subjects' figures are reported beside them, separately.
Targets: sensitivity >= 95 %, specificity >= 98 % (D18 stumbles included), <= 1 ms
per model call.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .. import falls as runtime
from ..training.sisfall import (
    HARD_NEGATIVE_CODE,
    HELD_OUT_SUBJECTS,
    SISFALL_RATE_HZ,
    Trial,
    development,
    held_out,
    load_trials,
)

NEAR_IMPACT_S = 1.0
TARGET_SENSITIVITY = 0.95
TARGET_SPECIFICITY = 0.98
TARGET_MS_PER_CALL = 1.0


def main_impact_s(acc_g: np.ndarray, rate_hz: float) -> float:
    x, _ = runtime.to_model_rate(acc_g, rate_hz)
    return float(np.argmax(np.linalg.norm(x, axis=1))) / runtime.MODEL_RATE_HZ


def _ratio(hits: int, total: int) -> float:
    return hits / total if total else math.nan


@dataclass(frozen=True)
class TrialScores:
    fall_trials: int
    falls_detected: int
    adl_trials: int
    adl_false_alarms: int
    d18_trials: int
    d18_false_alarms: int
    young_adl_trials: int
    young_false_alarms: int
    elderly_adl_trials: int
    elderly_false_alarms: int
    missed: tuple[str, ...]
    false_alarms: tuple[str, ...]

    @property
    def sensitivity(self) -> float:
        return _ratio(self.falls_detected, self.fall_trials)

    @property
    def specificity(self) -> float:
        return 1 - _ratio(self.adl_false_alarms, self.adl_trials)

    @property
    def d18_specificity(self) -> float:
        return 1 - _ratio(self.d18_false_alarms, self.d18_trials)

    @property
    def young_specificity(self) -> float:
        return 1 - _ratio(self.young_false_alarms, self.young_adl_trials)

    @property
    def elderly_specificity(self) -> float:
        return 1 - _ratio(self.elderly_false_alarms, self.elderly_adl_trials)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for name in (
            "sensitivity",
            "specificity",
            "d18_specificity",
            "young_specificity",
            "elderly_specificity",
        ):
            out[name] = getattr(self, name)
        out["missed"], out["false_alarms"] = list(self.missed), list(self.false_alarms)
        return out


def score_trials(trials: Iterable[Trial]) -> TrialScores:
    falls = detected = adls = false = d18 = d18_false = 0
    young = young_false = elderly = elderly_false = 0
    missed: list[str] = []
    alarms: list[str] = []
    for trial in trials:
        found = runtime.detect(trial.acc_g, SISFALL_RATE_HZ)
        if trial.is_fall:
            falls += 1
            impact = main_impact_s(trial.acc_g, SISFALL_RATE_HZ)
            if any(abs(f.t_s - impact) <= NEAR_IMPACT_S for f in found):
                detected += 1
            else:
                missed.append(trial.name)
            continue
        alarm = bool(found)
        adls += 1
        false += alarm
        if alarm:
            alarms.append(trial.name)
        if trial.code == HARD_NEGATIVE_CODE:
            d18 += 1
            d18_false += alarm
        if trial.elderly:
            elderly += 1
            elderly_false += alarm
        else:
            young += 1
            young_false += alarm
    return TrialScores(
        falls, detected, adls, false, d18, d18_false, young, young_false, elderly,
        elderly_false, tuple(missed), tuple(alarms),
    )  # fmt: skip


@dataclass(frozen=True)
class FallReport:
    held_out_subjects: tuple[str, ...]
    held_out: TrialScores
    development: TrialScores
    sensitivity: float
    specificity: float
    d18_specificity: float
    young_specificity: float
    elderly_specificity: float
    model_size_bytes: int
    ms_per_model_call: float
    model_calls: int

    @property
    def targets_met(self) -> bool:
        return (
            self.sensitivity >= TARGET_SENSITIVITY
            and self.specificity >= TARGET_SPECIFICITY
            and self.d18_specificity >= TARGET_SPECIFICITY
            and self.ms_per_model_call <= TARGET_MS_PER_CALL
        )

    def rows(self) -> list[tuple[str, str]]:
        h, d = self.held_out, self.development

        def pct(value: float) -> str:
            return "n/a" if math.isnan(value) else f"{100 * value:.1f} %"

        def fraction(hits: int, total: int) -> str:
            return f"{hits}/{total}"

        return [
            ("held-out subjects", " ".join(self.held_out_subjects)),
            (
                "sensitivity (fall trials detected)",
                f"{pct(self.sensitivity)} ({fraction(h.falls_detected, h.fall_trials)})",
            ),
            (
                "specificity (all daily activities)",
                f"{pct(self.specificity)} "
                f"({fraction(h.adl_trials - h.adl_false_alarms, h.adl_trials)})",
            ),
            (
                "specificity on D18 stumbles",
                f"{pct(self.d18_specificity)} "
                f"({fraction(h.d18_trials - h.d18_false_alarms, h.d18_trials)})",
            ),
            ("specificity, young", pct(self.young_specificity)),
            ("specificity, elderly", pct(self.elderly_specificity)),
            ("missed falls", " ".join(h.missed) or "none"),
            ("false alarms", " ".join(h.false_alarms) or "none"),
            ("model size", f"{self.model_size_bytes} bytes"),
            (
                "mean time per model call",
                f"{self.ms_per_model_call:.3f} ms over {self.model_calls} calls",
            ),
            ("targets met (95 % / 98 % / 98 % D18 / 1 ms)", "yes" if self.targets_met else "NO"),
            (
                "development subjects: sensitivity",
                f"{pct(d.sensitivity)} ({fraction(d.falls_detected, d.fall_trials)})",
            ),
            (
                "development subjects: specificity",
                f"{pct(d.specificity)} "
                f"({fraction(d.adl_trials - d.adl_false_alarms, d.adl_trials)})",
            ),
            ("development subjects: D18 specificity", pct(d.d18_specificity)),
            ("development subjects: false alarms", " ".join(d.false_alarms) or "none"),
        ]


def evaluate() -> FallReport:
    """Held-out and development figures; raises FileNotFoundError without SisFall."""
    trials = load_trials()
    model = runtime.shared_model()
    calls, seconds = model.calls, model.seconds
    scores = score_trials(held_out(trials))
    calls, seconds = model.calls - calls, model.seconds - seconds
    return FallReport(
        held_out_subjects=HELD_OUT_SUBJECTS,
        held_out=scores,
        development=score_trials(development(trials)),
        sensitivity=scores.sensitivity,
        specificity=scores.specificity,
        d18_specificity=scores.d18_specificity,
        young_specificity=scores.young_specificity,
        elderly_specificity=scores.elderly_specificity,
        model_size_bytes=model.path.stat().st_size,
        ms_per_model_call=1000 * seconds / calls if calls else math.nan,
        model_calls=calls,
    )


def main() -> int:
    for label, value in evaluate().rows():
        print(f"{label:<44} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
