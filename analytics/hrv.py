"""Heart-rate variability from RR intervals (seconds).

Definitions follow the Task Force of the European Society of Cardiology and the North
American Society of Pacing and Electrophysiology, "Heart rate variability: standards of
measurement, physiological interpretation and clinical use", Circulation
1996;93:1043-1065:

- SDNN: standard deviation of the NN (normal-to-normal) intervals;
- RMSSD: root mean square of successive differences between adjacent NN intervals;
- pNN50: share of successive differences greater than 50 ms (here out of the number of
  successive differences);
- LF power 0.04-0.15 Hz, HF power 0.15-0.4 Hz, and LF/HF.

Only differences between intervals that were adjacent in the recording count: when an
ectopic beat is rejected, the difference across it is not a successive difference.

The RR series is unevenly sampled in time, so the spectrum is the Lomb-Scargle
periodogram (Lomb 1976; Scargle 1982; for HRV: Laguna P, Moody GB, Mark RG, "Power
spectral density of unevenly sampled data by least-square analysis", IEEE Trans Biomed
Eng 1998;45:698-715) rather than an FFT of an interpolated series. scipy's unnormalised
periodogram of N samples gives N·A²/4 for a sinusoid of amplitude A; multiplied by
2·T/N (T the span of the beat times) it becomes a one-sided density in s²/Hz whose
integral over frequency is the variance A²/2 of that sinusoid.

Resting heart rate (our definition, not the Task Force's): the mean heart rate of the
calmest 5-minute stretch, i.e. the lowest 60·n/ΣRR over all 5-minute windows of kept
beats that are at least 80 % covered by kept intervals. Windows start at every beat.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .rr_cleaning import clean_rr

LF_BAND_HZ = (0.04, 0.15)
HF_BAND_HZ = (0.15, 0.40)
FREQUENCY_STEP_HZ = 0.001
MIN_SPECTRUM_SPAN_S = 60.0  # below a minute, 0.04 Hz is not even 3 cycles
RESTING_WINDOW_S = 300.0
RESTING_MIN_COVERAGE = 0.8
NN50_S = 0.050


@dataclass(frozen=True)
class TimeDomainHrv:
    sdnn_ms: float
    rmssd_ms: float
    pnn50_pct: float
    mean_rr_ms: float
    mean_hr_bpm: float
    n_differences: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


@dataclass(frozen=True)
class FrequencyDomainHrv:
    lf_ms2: float
    hf_ms2: float
    lf_hf: float
    span_s: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class HrvSummary:
    """HRV of a recording. A part is None when there was too little clean data for it."""

    n_intervals: int
    n_used: int
    n_rejected: int
    rejected_by_reason: dict[str, int]
    time_domain: TimeDomainHrv | None
    frequency_domain: FrequencyDomainHrv | None
    resting_hr_bpm: float | None

    def as_dict(self) -> dict[str, object]:
        return {
            "n_intervals": self.n_intervals,
            "n_used": self.n_used,
            "n_rejected": self.n_rejected,
            "rejected_by_reason": dict(self.rejected_by_reason),
            "time_domain": self.time_domain.as_dict() if self.time_domain else None,
            "frequency_domain": (
                self.frequency_domain.as_dict() if self.frequency_domain else None
            ),
            "resting_hr_bpm": self.resting_hr_bpm,
        }


def successive_differences(rr_s: np.ndarray, adjacent: np.ndarray | None = None) -> np.ndarray:
    """Differences rr[i+1]-rr[i]; with ``adjacent`` (one flag per difference), only those
    between intervals that were neighbours in the recording."""
    diffs = np.diff(rr_s)
    return diffs if adjacent is None else diffs[adjacent]


def time_domain(rr_s: np.ndarray, adjacent: np.ndarray | None = None) -> TimeDomainHrv:
    """Task Force time-domain measures of clean NN intervals (seconds). Needs at least 2
    intervals and 1 successive difference; raises ``ValueError`` otherwise."""
    rr = np.asarray(rr_s, dtype=float)
    diffs = successive_differences(rr, adjacent)
    if rr.size < 2 or diffs.size < 1:
        raise ValueError(f"time-domain HRV needs at least 2 adjacent NN intervals, got {rr.size}")
    mean_rr = float(rr.mean())
    return TimeDomainHrv(
        sdnn_ms=float(rr.std(ddof=1)) * 1000.0,
        rmssd_ms=float(np.sqrt(np.mean(diffs**2))) * 1000.0,
        pnn50_pct=100.0 * float(np.mean(np.abs(diffs) > NN50_S)),
        mean_rr_ms=mean_rr * 1000.0,
        mean_hr_bpm=60.0 / mean_rr,
        n_differences=int(diffs.size),
    )


def rr_spectrum(rr_s: np.ndarray, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lomb-Scargle one-sided power spectral density of the RR series, in s²/Hz, on a
    0.001 Hz grid up to 0.5 Hz. Returns (frequencies in Hz, density)."""
    rr = np.asarray(rr_s, dtype=float)
    t = np.asarray(t_s, dtype=float)
    freqs_hz = np.arange(FREQUENCY_STEP_HZ, 0.5 + FREQUENCY_STEP_HZ / 2, FREQUENCY_STEP_HZ)
    from scipy.signal import lombscargle  # imported here: scipy.signal is large

    # lombscargle takes angular frequency (rad/s), not Hz.
    power = lombscargle(t, rr - rr.mean(), 2.0 * np.pi * freqs_hz)
    span = float(t[-1] - t[0])
    return freqs_hz, power * 2.0 * span / rr.size


def _band_power(freqs: np.ndarray, density: np.ndarray, band: tuple[float, float]) -> float:
    inside = (freqs >= band[0]) & (freqs < band[1])
    return float(density[inside].sum() * FREQUENCY_STEP_HZ)


def frequency_domain(rr_s: np.ndarray, t_s: np.ndarray) -> FrequencyDomainHrv:
    """LF and HF power (ms²) and LF/HF; needs a minute of beats, else ``ValueError``."""
    t = np.asarray(t_s, dtype=float)
    span = float(t[-1] - t[0]) if t.size else 0.0
    if t.size < 10 or span < MIN_SPECTRUM_SPAN_S:
        raise ValueError(
            f"LF/HF needs at least {MIN_SPECTRUM_SPAN_S:.0f} s of beats, got {span:.1f} s"
        )
    freqs, density = rr_spectrum(rr_s, t)
    lf = _band_power(freqs, density, LF_BAND_HZ) * 1e6
    hf = _band_power(freqs, density, HF_BAND_HZ) * 1e6
    return FrequencyDomainHrv(
        lf_ms2=lf, hf_ms2=hf, lf_hf=lf / hf if hf > 0 else float("inf"), span_s=span
    )


def resting_heart_rate(rr_s: np.ndarray, t_s: np.ndarray) -> float | None:
    """Mean heart rate (/min) of the calmest 5-minute window (see module docstring), or
    None when no window is at least 80 % covered by clean beats."""
    rr = np.asarray(rr_s, dtype=float)
    t = np.asarray(t_s, dtype=float)
    if rr.size == 0:
        return None
    # A window holds beats i..j-1 whose times lie in [t_i - rr_i, t_i - rr_i + 300 s).
    starts = t - rr
    ends = np.searchsorted(t, starts + RESTING_WINDOW_S, side="right")
    total = np.concatenate(([0.0], np.cumsum(rr)))
    covered = total[ends] - total[np.arange(rr.size)]
    beats = ends - np.arange(rr.size)
    full = covered >= RESTING_MIN_COVERAGE * RESTING_WINDOW_S
    if not full.any():
        return None
    return float(np.min(60.0 * beats[full] / covered[full]))


def hrv_summary(rr_s: object, t_s: object | None = None) -> HrvSummary:
    """Cleans the intervals (:func:`anxin.analytics.rr_cleaning.clean_rr`) and computes
    what the clean data allow; ``t_s`` are the beat times in seconds, if known."""
    cleaned = clean_rr(rr_s, t_s)
    kept_at = np.flatnonzero(cleaned.kept)
    adjacent = np.diff(kept_at) == 1
    try:
        td = time_domain(cleaned.rr_s, adjacent)
    except ValueError:
        td = None
    try:
        fd = frequency_domain(cleaned.rr_s, cleaned.t_s)
    except ValueError:
        fd = None
    return HrvSummary(
        n_intervals=int(cleaned.kept.size),
        n_used=int(cleaned.rr_s.size),
        n_rejected=cleaned.n_rejected,
        rejected_by_reason=cleaned.rejected_by_reason(),
        time_domain=td,
        frequency_domain=fd,
        resting_hr_bpm=resting_heart_rate(cleaned.rr_s, cleaned.t_s),
    )
