"""AF from RR intervals (COSEn, Lake & Moorman 2011) and the gateway's streaming monitor."""

import math

import numpy as np
import pytest

from anxin.analytics.af import (
    END_WINDOWS,
    ONSET_WINDOWS,
    STEP_BEATS,
    WINDOW_BEATS,
    AfMonitor,
    AlertPersistence,
    classify_rr,
    window_features,
)
from anxin.analytics.evaluation.af import monitor_windows, replay, run_monitor


def sinus_rr(beats: int, seed: int = 1, ectopic_every: int = 0) -> np.ndarray:
    """72 /min with respiratory sinus arrhythmia (0.25 Hz, 25 ms), a slow 0.03 Hz wander
    (40 ms) and 5 ms beat-to-beat noise; optionally a premature beat at 60 % of the
    cycle with its compensatory pause every ``ectopic_every`` beats."""
    rng = np.random.default_rng(seed)
    rr, t = [], 0.0
    while len(rr) < beats:
        interval = (
            0.833
            + 0.025 * math.sin(2 * math.pi * 0.25 * t)
            + 0.040 * math.sin(2 * math.pi * 0.03 * t)
            + rng.normal(0.0, 0.005)
        )
        if ectopic_every and len(rr) % ectopic_every == ectopic_every - 1:
            rr += [0.6 * interval, 1.4 * interval]
        else:
            rr.append(interval)
        t += interval
    return np.array(rr[:beats])


def af_rr(beats: int, seed: int = 2, mean_s: float = 0.65, cv: float = 0.22) -> np.ndarray:
    """Independent log-normal intervals: the irregularly irregular ventricular response
    of AF, at the coefficient of variation typical of afdb's AF episodes."""
    rng = np.random.default_rng(seed)
    sigma = math.sqrt(math.log(1 + cv**2))
    return np.clip(rng.lognormal(math.log(mean_s) - sigma**2 / 2, sigma, beats), 0.3, 2.0)


def test_sinus_rhythm_with_ectopic_beats_is_not_af():
    rr = sinus_rr(3000, ectopic_every=150)
    flags = classify_rr(rr)
    assert flags.dtype == bool and flags.shape == rr.shape
    assert not flags.any()


def test_irregularly_irregular_rhythm_is_af():
    rr = af_rr(1000)
    assert classify_rr(rr).mean() > 0.95


def test_an_af_episode_is_flagged_where_it_is():
    rr = np.concatenate([sinus_rr(600), af_rr(600), sinus_rr(600, seed=3)])
    flags = classify_rr(rr)
    assert flags[700:1100].all()  # well inside the episode
    assert not flags[:500].any() and not flags[1300:].any()


def test_bad_input_never_crashes_and_never_raises_af_alone():
    assert classify_rr([]).tolist() == []
    assert classify_rr(np.full(500, np.nan)).tolist() == [False] * 500
    garbage = np.tile([0.0, -1.0, 7.0, np.inf, np.nan, 0.1], 100)
    assert not classify_rr(garbage).any()
    # A regular rhythm with impossible values sprinkled through it stays non-AF.
    rr = sinus_rr(1000)
    rr[::7] = np.nan
    rr[3::11] = 5.0
    flags = classify_rr(rr)
    assert not flags.any()
    with pytest.raises(ValueError, match="numbers in seconds"):
        classify_rr(["fast", "slow"])


def test_fewer_beats_than_a_window_are_all_false_and_impossible_ones_always_false():
    assert not classify_rr(af_rr(40)).any()
    rr = af_rr(400)
    rr[[10, 200]] = [np.nan, 9.0]
    flags = classify_rr(rr)
    assert not flags[10] and not flags[200] and flags.mean() > 0.9


def test_window_features_of_a_constant_rhythm():
    # Every pair matches: SampEn = 0, COSEn = ln(2 * 0.03 / 0.8) = -2.59, well below -1.4.
    features = window_features(np.full((1, 64), 0.8))
    assert features["sample_entropy"][0] == pytest.approx(0.0)
    assert features["cosen"][0] == pytest.approx(math.log(0.06 / 0.8))


def feed(monitor, rr, start_ms=0, step_ms=None):
    """Feeds beats one per call at their own end times; returns the changes with the
    index of the beat that produced each."""
    changes, t = [], start_ms
    for i, interval in enumerate(rr):
        t += round(float(interval) * 1000) if step_ms is None else step_ms
        change = monitor.add(float(interval), t)
        if change is not None:
            changes.append((i, change))
    return changes, t


def test_monitor_raises_onset_after_k_af_windows_and_end_after_k_sinus_windows():
    monitor = AfMonitor(window_beats=16, step_beats=16, onset_windows=3, end_windows=3)
    changes, t = feed(monitor, sinus_rr(64))
    assert changes == []
    # One irregular window alone pages no one...
    changes, t = feed(monitor, np.concatenate([af_rr(16), sinus_rr(64)]), start_ms=t)
    assert changes == [] and not monitor.in_af
    # ...three in a row do: onset on the last beat of the third AF window.
    af_start_ms = t
    changes, t = feed(monitor, af_rr(64, seed=5), start_ms=t)
    assert [(i, c.onset) for i, c in changes] == [(47, True)]
    onset = changes[0][1]
    assert onset.features["cosen"] > -1.4
    # The evidence runs from the start of the first AF window: 3 windows, 48 beats.
    assert onset.beats == 48 and onset.window_start_ms == af_start_ms
    changes, t = feed(monitor, sinus_rr(64, seed=6), start_ms=t)
    assert [(i, c.onset) for i, c in changes] == [(47, False)]
    assert not monitor.in_af


def test_monitor_does_not_join_beats_across_a_gap():
    monitor = AfMonitor(window_beats=16, step_beats=16, onset_windows=1)
    _, t = feed(monitor, af_rr(10))
    changes, _ = feed(monitor, af_rr(10, seed=4), start_ms=t + 30_000)
    assert changes == [] and monitor.counts.windows == 0
    assert monitor.counts.gap_restarts == 1


def test_monitor_shares_timestamps_ignores_out_of_order_and_impossible():
    monitor = AfMonitor(window_beats=16, step_beats=16, onset_windows=1)
    # Three beats in one notification share its time: all kept.
    for rr in (0.61, 0.93, 0.48):
        monitor.add(rr, 1_000)
    monitor.add(0.70, 500)  # earlier than the latest time: out of order
    monitor.add(float("nan"), 2_000)
    monitor.add(5.0, 2_000)
    assert monitor.counts.out_of_order == 1
    assert monitor.counts.implausible == 2
    assert monitor.buffered_beats == 3


def test_monitor_keeps_equal_intervals_of_one_notification():
    # A strap notification often carries two equal intervals (1/1024 s resolution):
    # they are two beats. Repeated notifications are dropped by the gateway, not here.
    monitor = AfMonitor(window_beats=16, step_beats=16, onset_windows=1)
    monitor.add(0.8203125, 1_000)  # 840/1024 s
    monitor.add(0.8203125, 1_000)
    monitor.add(0.8203125, 2_000)
    assert monitor.buffered_beats == 3
    assert monitor.counts.out_of_order == 0 and monitor.counts.implausible == 0
    # A run of equal intervals, two per notification, fills and classifies windows.
    monitor = AfMonitor(window_beats=16, step_beats=16, onset_windows=1)
    for beat in range(32):
        monitor.add(0.8203125, 1_000 * (1 + beat // 2))
    assert monitor.buffered_beats == 16 and monitor.counts.windows == 2


def test_monitor_on_impossible_values_alone_never_raises_af():
    monitor = AfMonitor()
    garbage = np.tile([0.0, 7.0, np.nan, 0.1, 3.0], 400)
    changes, _ = feed(monitor, garbage, step_ms=700)
    assert changes == [] and monitor.counts.implausible == garbage.size


def test_monitor_agrees_with_classify_rr_on_a_long_af_episode():
    rr = np.concatenate([sinus_rr(400), af_rr(400), sinus_rr(400, seed=7)])
    monitor = AfMonitor()
    changes, _ = feed(monitor, rr)
    assert [c.onset for _, c in changes] == [True, False]
    (onset_at, onset), (end_at, _) = changes
    # Onset once ONSET_WINDOWS consecutive windows are AF: at most a window plus that
    # many steps after the first AF beat; the end likewise after END_WINDOWS.
    assert 400 < onset_at <= 400 + WINDOW_BEATS + ONSET_WINDOWS * STEP_BEATS
    assert 800 < end_at <= 800 + WINDOW_BEATS + END_WINDOWS * STEP_BEATS
    assert onset.beats == WINDOW_BEATS + (ONSET_WINDOWS - 1) * STEP_BEATS
    # The evidence starts within a window before the true start of AF.
    af_start_ms = round(1000 * rr[:400].sum())
    assert 0 <= af_start_ms - onset.window_start_ms <= 1000 * rr[400 - WINDOW_BEATS : 400].sum()
    assert monitor.onset_windows == ONSET_WINDOWS and monitor.end_windows == END_WINDOWS


def test_monitor_defaults_ignore_an_af_burst_shorter_than_the_clinical_minimum():
    # 60 beats of AF (about 40 s at 90 /min) in sinus rhythm: three windows in a row
    # would page, the default persistence does not; 200 beats (2 min) do.
    burst = np.concatenate([sinus_rr(300), af_rr(60, seed=11), sinus_rr(300, seed=3)])
    assert [c.onset for _, c in feed(AfMonitor(onset_windows=3, end_windows=3), burst)[0]] == [
        True,
        False,
    ]
    assert feed(AfMonitor(), burst)[0] == []
    episode = np.concatenate([sinus_rr(300), af_rr(200, seed=11), sinus_rr(300, seed=3)])
    assert [c.onset for _, c in feed(AfMonitor(), episode)[0]] == [True, False]


def test_alert_persistence_hysteresis():
    persistence = AlertPersistence(onset_windows=2, end_windows=3)
    verdicts = [True, False, True, True, False, False, True, False, False, False]
    flips = [persistence.update(v) for v in verdicts]
    assert flips == [False, False, False, True, False, False, False, False, False, True]
    persistence = AlertPersistence(onset_windows=2, end_windows=1)
    persistence.update(True)
    persistence.restart()  # a gap: the windows either side are not consecutive
    assert not persistence.update(True) and persistence.update(True)
    with pytest.raises(ValueError):
        AlertPersistence(onset_windows=0)


def strap_notifications(rr: np.ndarray) -> np.ndarray:
    """Receive time of each beat from a chest strap: one notification per second
    carrying the 0-3 intervals that ended during that second, all at its time."""
    return (1000 * np.ceil(np.cumsum(rr))).astype(np.int64)


def test_monitor_fed_by_a_chest_strap_dates_the_episode_from_the_beats():
    rr = np.concatenate([sinus_rr(400), af_rr(400), sinus_rr(400, seed=7)])
    strap_ts = strap_notifications(rr)
    assert {int(n) for n in np.unique(strap_ts, return_counts=True)[1]} <= {1, 2, 3}
    exact_ts = np.round(1000 * np.cumsum(rr)).astype(np.int64)
    strap = run_monitor(rr, strap_ts, AfMonitor())
    exact = run_monitor(rr, exact_ts, AfMonitor())
    assert [(c.beat, c.onset) for c in strap] == [(c.beat, c.onset) for c in exact]
    for s, e in zip(strap, exact, strict=True):
        # ts_ms is the receive time of the deciding beat's notification...
        assert s.ts_ms == strap_ts[s.beat] and 0 <= s.ts_ms - e.ts_ms < 1000
        # ...and the evidence start is dated from the intervals, not from the coarser
        # receive time of its first beat (which would be up to 1 s + an interval late).
        assert s.start_ms is not None and e.start_ms is not None
        assert 0 <= s.start_ms - e.start_ms < 1000


def test_evaluation_replay_matches_the_monitor():
    rr = np.concatenate([sinus_rr(500), af_rr(700), sinus_rr(300, seed=8), af_rr(300, seed=9)])
    rr[[100, 900, 1200]] = [np.nan, 7.0, 0.1]
    ts = strap_notifications(np.nan_to_num(rr))
    ts[1000:] += 20_000  # a gap restarts the windows (so does the 7 s "interval")
    rr[51], ts[51] = rr[50], ts[50]  # two equal intervals in one notification: both kept
    for onset_windows, end_windows in ((3, 3), (ONSET_WINDOWS, END_WINDOWS), (6, 2)):
        monitor = AfMonitor(onset_windows=onset_windows, end_windows=end_windows)
        fed = [(c.beat, c.onset, c.ts_ms) for c in run_monitor(rr, ts, monitor)]
        windows = monitor_windows(rr, ts)
        replayed = replay(windows, onset_windows, end_windows)
        assert fed == [(c.beat, c.onset, c.ts_ms) for c in replayed]
        assert windows.end_beat.size == monitor.counts.windows
        assert len(fed) >= 2 and monitor.counts.gap_restarts == 2
        assert monitor.counts.implausible == 3
