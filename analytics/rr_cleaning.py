"""Artefact and ectopic-beat rejection on RR intervals (seconds).

Two filters, used separately on purpose:

- :func:`plausible_mask` keeps only intervals a heart can produce: finite and within
  0.25-2.5 s (240-24 /min). A 5 s "interval" is a missed detection, not a beat. This is
  the only filter the AF detector uses: AF is irregular by nature and an ectopic filter
  would erase it.
- :func:`clean_rr` adds, for HRV, the timing checks (duplicated or out-of-order beat
  times) and the ectopic/artefact rule: an interval deviating by more than 20 % from
  the median of its neighbours is rejected. This is Malik's 20 % rule (Malik M et al.,
  "Heart rate variability in relation to prognosis after myocardial infarction:
  selection of optimal processing techniques", Eur Heart J 1989;10:1060-1074, as used
  by the Task Force of ESC/NASPE, Circulation 1996;93:1043-1065), taken against a local
  median rather than the previous interval so that one ectopic beat does not also
  condemn the normal beat after it, in the spirit of the local-median reference of
  Lipponen JA & Tarvainen MP, "A robust algorithm for heart rate variability time
  series artefact correction using novel beat classification", J Med Eng Technol
  2019;43(3):173-181.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

MIN_RR_S = 0.25
MAX_RR_S = 2.5
ECTOPIC_TOLERANCE = 0.20  # Malik's 20 %
LOCAL_MEDIAN_BEATS = 11  # the interval itself and five plausible neighbours either side


class RejectReason(StrEnum):
    NOT_A_NUMBER = "not_a_number"
    TOO_SHORT = "too_short"  # < 0.25 s
    TOO_LONG = "too_long"  # > 2.5 s
    DUPLICATE_TIME = "duplicate_time"
    OUT_OF_ORDER = "out_of_order"
    ECTOPIC = "ectopic"  # > 20 % from the local median


@dataclass(frozen=True)
class CleanedRR:
    """``rr_s``: the kept intervals in order. ``kept``: one flag per input interval.
    ``reasons``: one entry per input interval, ``""`` where kept, else a
    :class:`RejectReason` value. ``t_s``: beat times of the kept intervals."""

    rr_s: np.ndarray
    t_s: np.ndarray
    kept: np.ndarray
    reasons: np.ndarray

    @property
    def n_rejected(self) -> int:
        return int(np.count_nonzero(~self.kept))

    def rejected_by_reason(self) -> dict[str, int]:
        values, counts = np.unique(self.reasons[~self.kept], return_counts=True)
        return {str(v): int(c) for v, c in zip(values, counts, strict=True)}


def as_rr_array(rr_s: object) -> np.ndarray:
    """1-D float array of the input; raises ``ValueError`` naming what is wrong."""
    try:
        rr = np.asarray(rr_s, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"RR intervals must be numbers in seconds: {exc}") from exc
    if rr.ndim == 0:
        rr = rr.reshape(1)
    if rr.ndim != 1:
        raise ValueError(f"RR intervals must be a 1-D sequence, got shape {rr.shape}")
    return rr


def plausible_mask(rr_s: object) -> np.ndarray:
    """True where an interval is finite and within 0.25-2.5 s."""
    rr = as_rr_array(rr_s)
    with np.errstate(invalid="ignore"):
        return np.isfinite(rr) & (rr >= MIN_RR_S) & (rr <= MAX_RR_S)


def _impossible_reasons(rr: np.ndarray) -> np.ndarray:
    reasons = np.full(rr.shape, "", dtype="<U16")
    with np.errstate(invalid="ignore"):
        reasons[rr > MAX_RR_S] = RejectReason.TOO_LONG
        reasons[rr < MIN_RR_S] = RejectReason.TOO_SHORT
    reasons[~np.isfinite(rr) & ~np.isinf(rr)] = RejectReason.NOT_A_NUMBER
    reasons[np.isneginf(rr)] = RejectReason.TOO_SHORT
    return reasons


def _timing_reasons(t: np.ndarray, reasons: np.ndarray) -> None:
    """Marks beats whose time repeats or goes back relative to the latest kept time."""
    latest = -np.inf
    for i, ti in enumerate(t):
        if not np.isfinite(ti):
            reasons[i] = reasons[i] or RejectReason.NOT_A_NUMBER
        elif ti == latest:
            reasons[i] = reasons[i] or RejectReason.DUPLICATE_TIME
        elif ti < latest:
            reasons[i] = reasons[i] or RejectReason.OUT_OF_ORDER
        else:
            latest = ti


def ectopic_mask(rr: np.ndarray, tolerance: float = ECTOPIC_TOLERANCE) -> np.ndarray:
    """True where an interval deviates by more than ``tolerance`` from the median of the
    ``LOCAL_MEDIAN_BEATS`` intervals centred on it (``rr`` must be plausible already)."""
    n = rr.size
    if n < 3:
        return np.zeros(n, dtype=bool)
    half = min(LOCAL_MEDIAN_BEATS, n if n % 2 else n - 1) // 2
    padded = np.pad(rr, half, mode="reflect")
    local = np.median(sliding_window_view(padded, 2 * half + 1), axis=1)
    return np.abs(rr - local) > tolerance * local


def clean_rr(
    rr_s: object,
    t_s: object | None = None,
    *,
    reject_ectopic: bool = True,
    tolerance: float = ECTOPIC_TOLERANCE,
) -> CleanedRR:
    """Rejects impossible, mistimed and (optionally) ectopic intervals.

    ``t_s`` are the beat times (end of each interval) in seconds; without them, times
    are the running sum of the intervals (impossible ones included, so a gap stays a
    gap). Raises ``ValueError`` when ``t_s`` does not match ``rr_s`` in length.
    """
    rr = as_rr_array(rr_s)
    if t_s is None:
        t = np.cumsum(np.where(np.isfinite(rr), np.abs(rr), 0.0))
    else:
        t = as_rr_array(t_s)
        if t.size != rr.size:
            raise ValueError(f"t_s has {t.size} beat times for {rr.size} RR intervals")
    reasons = _impossible_reasons(rr)
    if t_s is not None:
        _timing_reasons(t, reasons)
    if reject_ectopic:
        candidates = np.flatnonzero(reasons == "")
        ectopic = ectopic_mask(rr[candidates], tolerance)
        reasons[candidates[ectopic]] = RejectReason.ECTOPIC
    kept = reasons == ""
    return CleanedRR(rr_s=rr[kept], t_s=t[kept], kept=kept, reasons=reasons)
