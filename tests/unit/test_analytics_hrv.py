"""RR cleaning and heart-rate variability (Task Force 1996 definitions)."""

import math

import numpy as np
import pytest

from anxin.analytics.hrv import frequency_domain, hrv_summary, resting_heart_rate, time_domain
from anxin.analytics.rr_cleaning import RejectReason, clean_rr, plausible_mask


def modulated_rr(frequency_hz: float, amplitude_s: float, seconds: float = 300.0):
    """Beats at 75 /min whose interval follows a sinusoid of the time the beat starts."""
    t, rr = [0.0], []
    while t[-1] < seconds:
        interval = 0.8 + amplitude_s * math.sin(2 * math.pi * frequency_hz * t[-1])
        rr.append(interval)
        t.append(t[-1] + interval)
    return np.array(rr), np.array(t[1:])


def test_time_domain_on_a_hand_worked_series():
    # mean 0.82 s; deviations -20, 40, -20, 20, -20 ms -> SDNN = sqrt(3200/4) = 28.28 ms
    # differences 60, -60, 40, -40 ms -> RMSSD = sqrt(10400/4) = 50.99 ms; 2 of 4 > 50 ms
    hrv = time_domain(np.array([0.80, 0.86, 0.80, 0.84, 0.80]))
    assert hrv.sdnn_ms == pytest.approx(math.sqrt(800.0))
    assert hrv.rmssd_ms == pytest.approx(math.sqrt(2600.0))
    assert hrv.pnn50_pct == pytest.approx(50.0)
    assert hrv.mean_hr_bpm == pytest.approx(60.0 / 0.82)


def test_impossible_intervals_are_rejected_with_their_reason():
    cleaned = clean_rr([0.8, 5.0, 0.8, float("nan"), 0.8, 0.1, 0.8], reject_ectopic=False)
    assert cleaned.rr_s.tolist() == [0.8, 0.8, 0.8, 0.8]
    assert cleaned.reasons.tolist() == [
        "",
        RejectReason.TOO_LONG,
        "",
        RejectReason.NOT_A_NUMBER,
        "",
        RejectReason.TOO_SHORT,
        "",
    ]
    assert plausible_mask([0.25, 2.5, 0.249, 2.51, float("inf")]).tolist() == [
        True,
        True,
        False,
        False,
        False,
    ]


def test_an_ectopic_beat_and_its_pause_are_rejected_and_not_differenced_across():
    rr = [0.8] * 10 + [0.5, 1.1] + [0.8] * 10  # premature beat, compensatory pause
    summary = hrv_summary(rr)
    assert summary.n_intervals == 22 and summary.n_used == 20 and summary.n_rejected == 2
    assert summary.rejected_by_reason == {"ectopic": 2}
    assert summary.time_domain is not None
    assert summary.time_domain.rmssd_ms == pytest.approx(0.0)
    assert summary.time_domain.n_differences == 18  # the difference across the gap is not one


def test_duplicated_and_out_of_order_beat_times_are_rejected():
    cleaned = clean_rr([0.8, 0.8, 0.8, 0.8, 0.8], t_s=[0.8, 1.6, 1.6, 1.2, 2.4])
    assert cleaned.reasons.tolist() == [
        "",
        "",
        RejectReason.DUPLICATE_TIME,
        RejectReason.OUT_OF_ORDER,
        "",
    ]
    with pytest.raises(ValueError, match="beat times"):
        clean_rr([0.8, 0.8], t_s=[0.8])


@pytest.mark.parametrize(("frequency_hz", "band"), [(0.1, "lf"), (0.25, "hf")])
def test_lomb_scargle_puts_a_modulation_in_its_band_with_its_variance(frequency_hz, band):
    # A 20 ms sinusoid has variance 0.020^2 / 2 = 200 ms^2; nearly all of it in its band.
    rr, t = modulated_rr(frequency_hz, 0.020)
    fd = frequency_domain(rr, t)
    inside, outside = (fd.lf_ms2, fd.hf_ms2) if band == "lf" else (fd.hf_ms2, fd.lf_ms2)
    assert inside == pytest.approx(200.0, rel=0.05)
    assert outside < 0.02 * inside
    assert (fd.lf_hf > 10) == (band == "lf")


def test_resting_heart_rate_is_the_calmest_five_minutes():
    rr = np.array([0.8] * 750 + [1.0] * 600 + [0.6] * 500)  # 10 min each at 75, 60, 100 /min
    assert resting_heart_rate(rr, np.cumsum(rr)) == pytest.approx(60.0)
    short = np.array([1.0] * 200)  # 200 s: no full 5-minute window
    assert resting_heart_rate(short, np.cumsum(short)) is None


def test_summary_of_garbage_does_not_crash_and_reports_what_was_rejected():
    summary = hrv_summary([float("nan"), -1.0, 0.0, 7.0, float("inf")])
    assert summary.n_used == 0 and summary.n_rejected == 5
    assert summary.time_domain is None and summary.frequency_domain is None
    assert summary.resting_hr_bpm is None
    assert summary.as_dict()["rejected_by_reason"] == {
        "not_a_number": 1,
        "too_long": 2,
        "too_short": 2,
    }
    with pytest.raises(ValueError, match="numbers in seconds"):
        hrv_summary(["a", "b"])


def test_summary_as_dict_holds_every_figure():
    rr, t = modulated_rr(0.25, 0.02, seconds=400.0)
    d = hrv_summary(rr, t).as_dict()
    assert d["n_used"] == len(rr)
    assert set(d["time_domain"]) >= {"sdnn_ms", "rmssd_ms", "pnn50_pct"}
    assert set(d["frequency_domain"]) >= {"lf_ms2", "hf_ms2", "lf_hf"}
    assert d["resting_hr_bpm"] == pytest.approx(75.0, abs=0.5)
