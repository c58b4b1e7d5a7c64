"""Validation of the RR-interval AF detector (:mod:`anxin.analytics.af`) on public data.

Data (see ``../shared/data/README.md``): the MIT-BIH Atrial Fibrillation Database
(afdb, 15 records, RR intervals from the database's automatic beat detections with the
manual rhythm labels) and the MIT-BIH Normal Sinus Rhythm RR database (nsr2db,
nsr001-nsr004, no AF; the first value of each file is an offset, not an interval).

Split, fixed before any tuning: the afdb records sorted by name, every second one
(positions 1, 3, 5, ...) held out, the others for development. Only the development
records were looked at to choose the window length and check the published threshold;
the held-out records and nsr2db are only evaluated.

Scoring is per beat: every RR interval carrying a rhythm label is one beat, AF when
labelled ``(AFIB``, non-AF otherwise (``(AFL``, ``(J`` and ``(N`` included, as in the
usual afdb benchmark). Intervals marked ``spans_transition`` (they straddle a change of
rhythm, so their label is ambiguous) are not scored; impossible intervals are scored
(the detector calls them non-AF). Sensitivity = AF beats flagged / AF beats;
specificity = non-AF beats not flagged / non-AF beats, pooled over the records of a set.

Alerts: :class:`~anxin.analytics.af.AfMonitor` is fed as the gateway feeds it from a
chest strap (one notification per second carrying the intervals that ended in it, all
stamped with its receive time; beat times from the running sum of the intervals; equal
intervals in one notification are distinct beats, repeated notifications being dropped by
the gateway before analytics, so none are simulated here) and its onsets are scored per episode (:class:`EpisodeCounts`). Its persistence (onset_windows,
end_windows) was chosen on the development records alone, replaying the same windows
under each setting (:func:`development_episodes`); held-out afdb and nsr2db are run once,
with the chosen defaults, through the real monitor.

Run: ``python -m anxin.analytics.evaluation.af``.
"""

from __future__ import annotations

import csv
import gzip
import itertools
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from anxin.analytics.af import (
    END_WINDOWS,
    ONSET_WINDOWS,
    STEP_BEATS,
    WINDOW_BEATS,
    AfMonitor,
    AlertPersistence,
    classify_rr,
    is_af,
    window_features,
)
from anxin.analytics.reference_data import dataset
from anxin.analytics.rr_cleaning import MAX_RR_S, MIN_RR_S

AFDB_RECORDS = (
    "00735", "03665", "04043", "04048", "04908", "05091", "05261", "06453",
    "06995", "07859", "07910", "08215", "08378", "08434", "08455",
)  # fmt: skip
HELD_OUT_RECORDS = AFDB_RECORDS[1::2]
DEVELOPMENT_RECORDS = AFDB_RECORDS[0::2]
NSR2DB_RECORDS = ("nsr001", "nsr002", "nsr003", "nsr004")
AF_LABEL = "AFIB"
MIN_EPISODE_S = 30.0
# (onset_windows, end_windows) compared on the development records; the full sweep that
# chose the defaults (onset 1-16 x end 3, 6, 9, 12) is summarised in AfMonitor.
DEVELOPMENT_SETTINGS = (
    (3, 3), (6, 12), (8, 12), (9, 12), (10, 12), (11, 3), (11, 9), (11, 12), (12, 12),
)  # fmt: skip


@dataclass(frozen=True)
class LabelledRR:
    rr_s: np.ndarray
    is_af: np.ndarray
    scored: np.ndarray


@dataclass(frozen=True)
class BeatCounts:
    true_af: int = 0
    missed_af: int = 0
    true_non_af: int = 0
    false_af: int = 0

    def __add__(self, other: BeatCounts) -> BeatCounts:
        return BeatCounts(
            self.true_af + other.true_af,
            self.missed_af + other.missed_af,
            self.true_non_af + other.true_non_af,
            self.false_af + other.false_af,
        )

    @property
    def sensitivity(self) -> float:
        total = self.true_af + self.missed_af
        return self.true_af / total if total else float("nan")

    @property
    def specificity(self) -> float:
        total = self.true_non_af + self.false_af
        return self.true_non_af / total if total else float("nan")


def load_afdb_record(folder: Path, record: str) -> LabelledRR:
    path = folder / "derived" / f"{record}_rr_labelled.csv.gz"
    with gzip.open(path, "rt", newline="") as handle:
        rows = list(csv.DictReader(handle))
    rr = np.array([float(r["rr_s_exact"]) if r["rr_s_exact"] else np.nan for r in rows])
    rhythm = np.array([r["rhythm"].lstrip("(") for r in rows])
    spans = np.array([r["spans_transition"] == "1" for r in rows])
    return LabelledRR(rr_s=rr, is_af=rhythm == AF_LABEL, scored=~spans)


def load_nsr2db_record(folder: Path, record: str) -> tuple[float, np.ndarray]:
    """(offset in seconds, RR intervals in seconds)."""
    with gzip.open(folder / f"{record}_rr_secs.txt.gz", "rt") as handle:
        values = np.array([float(line) for line in handle if line.strip()])
    return float(values[0]), values[1:]


def score(flags: np.ndarray, labelled: LabelledRR) -> BeatCounts:
    af, flagged = labelled.is_af[labelled.scored], flags[labelled.scored]
    return BeatCounts(
        true_af=int(np.count_nonzero(af & flagged)),
        missed_af=int(np.count_nonzero(af & ~flagged)),
        true_non_af=int(np.count_nonzero(~af & ~flagged)),
        false_af=int(np.count_nonzero(~af & flagged)),
    )


def strap_receive_times_ms(offset_s: float, rr_s: np.ndarray) -> np.ndarray:
    """Receive time of each beat as the gateway sees a chest strap: one notification per
    second carrying the intervals that ended during that second, all stamped with its
    time. Beat times are the running sum of the intervals."""
    beat_s = offset_s + np.cumsum(np.nan_to_num(rr_s))
    return (1000 * np.ceil(beat_s)).astype(np.int64)


@dataclass(frozen=True)
class Change:
    """One change of the monitor's state, at the ``beat`` (index of the interval) that
    produced it; ``start_ms`` is the change's ``window_start_ms`` (None in a replay)."""

    beat: int
    onset: bool
    ts_ms: int
    start_ms: int | None = None


def run_monitor(rr_s: np.ndarray, ts_ms: np.ndarray, monitor: AfMonitor) -> list[Change]:
    """Feeds ``monitor`` one interval at a time, as the gateway does."""
    changes = []
    for beat, (rr, ts) in enumerate(zip(rr_s.tolist(), ts_ms.tolist(), strict=True)):
        change = monitor.add(rr, ts)
        if change is not None:
            changes.append(Change(beat, change.onset, change.ts_ms, change.window_start_ms))
    return changes


@dataclass(frozen=True)
class MonitorWindows:
    """The windows :class:`AfMonitor` classifies on a stream, without its persistence:
    the interval index ending each window, its receive time, its verdict and the
    gap-free run it is in."""

    end_beat: np.ndarray
    end_ts_ms: np.ndarray
    is_af: np.ndarray
    run: np.ndarray


def monitor_windows(
    rr_s: np.ndarray,
    ts_ms: np.ndarray,
    window_beats: int = WINDOW_BEATS,
    step_beats: int = STEP_BEATS,
    max_gap_s: float = 5.0,
) -> MonitorWindows:
    """Mirrors :meth:`AfMonitor.add` (beats in time order): drops impossible intervals
    (equal intervals in one notification are all kept), restarts at gaps, classifies a
    window when a run reaches ``window_beats`` and every ``step_beats`` after, all at
    once so that settings of the persistence can be compared by :func:`replay`."""
    at = np.flatnonzero((rr_s >= MIN_RR_S) & (rr_s <= MAX_RR_S))  # False for NaN
    cuts = np.flatnonzero(np.diff(ts_ms[at]) > max_gap_s * 1000) + 1
    bounds = np.concatenate([[0], cuts, [at.size]])
    ends, runs = [], []
    for run, (first, stop) in enumerate(itertools.pairwise(bounds)):
        last_ends = np.arange(first + window_beats - 1, stop, step_beats)
        ends.append(last_ends)
        runs.append(np.full(last_ends.size, run))
    end = np.concatenate(ends).astype(np.int64)
    windows = sliding_window_view(rr_s[at], window_beats)[end - window_beats + 1]
    verdicts = is_af(window_features(windows)) if end.size else np.zeros(0, dtype=bool)
    return MonitorWindows(
        end_beat=at[end], end_ts_ms=ts_ms[at[end]], is_af=verdicts, run=np.concatenate(runs)
    )


def replay(windows: MonitorWindows, onset_windows: int, end_windows: int) -> list[Change]:
    """The changes AfMonitor(onset_windows=..., end_windows=...) would raise."""
    persistence = AlertPersistence(onset_windows, end_windows)
    changes, run = [], -1
    for beat, ts, verdict, window_run in zip(
        windows.end_beat.tolist(),
        windows.end_ts_ms.tolist(),
        windows.is_af.tolist(),
        windows.run.tolist(),
        strict=True,
    ):
        if window_run != run:
            persistence.restart()
            run = window_run
        if persistence.update(verdict):
            changes.append(Change(beat, persistence.in_af, ts))
    return changes


@dataclass(frozen=True)
class Episodes:
    """Labelled AF episodes (runs of AF intervals) of one record: first and last
    interval index, start (beginning of the first interval) and duration in seconds."""

    first: np.ndarray
    last: np.ndarray
    start_s: np.ndarray
    duration_s: np.ndarray


def af_episodes(labelled: LabelledRR) -> Episodes:
    edges = np.diff(np.concatenate([[0], labelled.is_af.astype(np.int8), [0]]))
    first, last = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    end_s = np.cumsum(np.nan_to_num(labelled.rr_s))
    start_s = end_s[first] - np.nan_to_num(labelled.rr_s[first])
    return Episodes(first, last, start_s, end_s[last] - start_s)


@dataclass(frozen=True)
class EpisodeCounts:
    """Alert-level scoring of the monitor.

    An onset is true when raised at an interval of a labelled AF episode or within
    ``WINDOW_BEATS`` intervals after its end (its window still holds AF); otherwise it is
    a false onset, counted per 24 h of non-AF time. A true onset after the first one of
    the same episode is a repeat. An episode is detected when an onset is true for it or
    the monitor is already in AF at its first interval. Delay: episode start to the
    first onset's ``ts_ms``; start error: that onset's ``window_start_ms`` minus the
    episode start. Both over episodes longer than ``MIN_EPISODE_S`` (30 s, the ESC
    minimum for an AF episode: Hindricks G et al., 2020 ESC Guidelines for the diagnosis
    and management of atrial fibrillation, Eur Heart J 2021;42:373-498).
    """

    non_af_hours: float = 0.0
    false_onsets: int = 0
    repeat_onsets: int = 0
    episodes_30s: int = 0
    detected_30s: int = 0
    episodes_60s: int = 0
    detected_60s: int = 0
    delays_s: tuple[float, ...] = ()
    start_errors_s: tuple[float, ...] = ()

    def __add__(self, other: EpisodeCounts) -> EpisodeCounts:
        return EpisodeCounts(
            self.non_af_hours + other.non_af_hours,
            self.false_onsets + other.false_onsets,
            self.repeat_onsets + other.repeat_onsets,
            self.episodes_30s + other.episodes_30s,
            self.detected_30s + other.detected_30s,
            self.episodes_60s + other.episodes_60s,
            self.detected_60s + other.detected_60s,
            self.delays_s + other.delays_s,
            self.start_errors_s + other.start_errors_s,
        )

    @property
    def false_onsets_per_24h(self) -> float:
        return self.false_onsets / self.non_af_hours * 24.0 if self.non_af_hours else float("nan")

    @property
    def detection_30s(self) -> float:
        return self.detected_30s / self.episodes_30s if self.episodes_30s else float("nan")

    @property
    def detection_60s(self) -> float:
        return self.detected_60s / self.episodes_60s if self.episodes_60s else float("nan")

    @property
    def median_delay_s(self) -> float:
        return float(np.median(self.delays_s)) if self.delays_s else float("nan")

    @property
    def median_start_error_s(self) -> float:
        return float(np.median(self.start_errors_s)) if self.start_errors_s else float("nan")

    def describe(self) -> str:
        text = (
            f"{self.false_onsets} false in {self.non_af_hours:.1f} h non-AF = "
            f"{self.false_onsets_per_24h:.2f} / 24 h"
        )
        if self.episodes_30s:
            text += (
                f"; episodes >60 s {self.detected_60s}/{self.episodes_60s} "
                f"({100 * self.detection_60s:.1f} %), >30 s {self.detected_30s}/"
                f"{self.episodes_30s} ({100 * self.detection_30s:.1f} %); "
                f"median delay {self.median_delay_s:.0f} s; repeats {self.repeat_onsets}"
            )
        return text


def score_episodes(
    changes: list[Change], episodes: Episodes, non_af_hours: float, n_beats: int
) -> EpisodeCounts:
    first, last = episodes.first, episodes.last
    onsets_for = np.zeros(first.size, dtype=np.int64)
    false_onsets = repeats = 0
    delays, errors = [], []
    in_af_from: int | None = None
    in_af = np.zeros(n_beats + 1, dtype=np.int8)  # +1/-1 at changes, cumulated below
    for change in changes:
        if not change.onset:
            if in_af_from is not None:  # always: an end follows an onset
                in_af[in_af_from] += 1
                in_af[change.beat] -= 1
            in_af_from = None
            continue
        in_af_from = change.beat
        matches = np.flatnonzero((first <= change.beat) & (change.beat <= last + WINDOW_BEATS))
        if matches.size == 0:
            false_onsets += 1
            continue
        k = matches[-1]  # the latest episode begun: the one the onset is in, if any
        onsets_for[k] += 1
        if onsets_for[k] > 1:
            repeats += 1
        elif episodes.duration_s[k] > MIN_EPISODE_S:
            delays.append(change.ts_ms / 1000.0 - episodes.start_s[k])
            if change.start_ms is not None:
                errors.append(change.start_ms / 1000.0 - episodes.start_s[k])
    if in_af_from is not None:
        in_af[in_af_from] += 1
    # The monitor is in AF at beat i when an onset came before i without an end by i.
    already = np.concatenate([[0], np.cumsum(in_af)[:-1]])[first] > 0
    detected = (onsets_for > 0) | already
    longer_30, longer_60 = episodes.duration_s > MIN_EPISODE_S, episodes.duration_s > 60.0
    return EpisodeCounts(
        non_af_hours=non_af_hours,
        false_onsets=false_onsets,
        repeat_onsets=repeats,
        episodes_30s=int(longer_30.sum()),
        detected_30s=int((detected & longer_30).sum()),
        episodes_60s=int(longer_60.sum()),
        detected_60s=int((detected & longer_60).sum()),
        delays_s=tuple(delays),
        start_errors_s=tuple(errors),
    )


def non_af_hours(labelled: LabelledRR) -> float:
    return float(np.nansum(labelled.rr_s[~labelled.is_af])) / 3600.0


@dataclass(frozen=True)
class AfReport:
    development: BeatCounts
    held_out: BeatCounts
    held_out_by_record: tuple[tuple[str, BeatCounts], ...]
    nsr2db: BeatCounts
    nsr2db_hours: float
    nsr2db_false_alerts: int
    classify_us_per_window: float
    monitor_us_per_beat: float
    monitor_us_per_window: float
    development_episodes: tuple[tuple[tuple[int, int], EpisodeCounts], ...]
    held_out_episodes: EpisodeCounts
    nsr2db_episodes: EpisodeCounts

    @property
    def development_sensitivity(self) -> float:
        return self.development.sensitivity

    @property
    def development_specificity(self) -> float:
        return self.development.specificity

    @property
    def held_out_sensitivity(self) -> float:
        return self.held_out.sensitivity

    @property
    def held_out_specificity(self) -> float:
        return self.held_out.specificity

    @property
    def nsr2db_specificity(self) -> float:
        return self.nsr2db.specificity

    @property
    def nsr2db_false_alerts_per_24h(self) -> float:
        return self.nsr2db_false_alerts / self.nsr2db_hours * 24.0

    @property
    def held_out_detection_60s(self) -> float:
        return self.held_out_episodes.detection_60s

    def rows(self) -> list[tuple[str, str]]:
        dev, held = self.development, self.held_out
        rows = [
            (
                "split",
                f"dev {','.join(DEVELOPMENT_RECORDS)}; held-out {','.join(HELD_OUT_RECORDS)}",
            ),
            ("scoring", "per beat (RR interval), spans_transition excluded"),
            ("afdb development sensitivity", f"{100 * dev.sensitivity:.2f} %"),
            ("afdb development specificity", f"{100 * dev.specificity:.2f} %"),
            ("afdb held-out sensitivity (target >= 95 %)", f"{100 * held.sensitivity:.2f} %"),
            ("afdb held-out specificity (target >= 97 %)", f"{100 * held.specificity:.2f} %"),
        ]
        for record, counts in self.held_out_by_record:
            rows.append(
                (
                    f"  held-out {record} sens / spec",
                    f"{100 * counts.sensitivity:.1f} % / {100 * counts.specificity:.1f} %",
                )
            )
        rows += [
            ("nsr2db specificity (target >= 99 %)", f"{100 * self.nsr2db.specificity:.2f} %"),
            (
                "nsr2db false AF alerts (AfMonitor onsets)",
                f"{self.nsr2db_false_alerts} in {self.nsr2db_hours:.1f} h = "
                f"{self.nsr2db_false_alerts_per_24h:.2f} per 24 h",
            ),
            (
                "alerts: AfMonitor fed as a chest strap (1 notification/s)",
                f"default onset_windows={ONSET_WINDOWS}, end_windows={END_WINDOWS}",
            ),
        ]
        for (onset, end), counts in self.development_episodes:
            chosen = " (default)" if (onset, end) == (ONSET_WINDOWS, END_WINDOWS) else ""
            rows.append((f"  dev onset {onset} / end {end}{chosen}", counts.describe()))
        rows += [
            ("  held-out afdb", self.held_out_episodes.describe()),
            (
                "  held-out onset window_start_ms - episode start, median",
                f"{self.held_out_episodes.median_start_error_s:.0f} s",
            ),
            ("  nsr2db", self.nsr2db_episodes.describe()),
            ("classify_rr time per window", f"{self.classify_us_per_window:.1f} µs"),
            ("AfMonitor time per beat", f"{self.monitor_us_per_beat:.1f} µs"),
            ("AfMonitor time per classified window", f"{self.monitor_us_per_window:.1f} µs"),
        ]
        return rows

    def __str__(self) -> str:
        width = max(len(name) for name, _ in self.rows())
        return "\n".join(f"{name:<{width}}  {value}" for name, value in self.rows())


def _windows_classified(n_plausible: int, window: int = 64, step: int = 8) -> int:
    if n_plausible < window:
        return 0
    return (n_plausible - window) // step + 1 + int((n_plausible - window) % step != 0)


def _require(name: str) -> Path:
    folder = dataset(name)
    if folder is None:
        raise FileNotFoundError(
            f"reference dataset '{name}' not found (set ANXIN_REFERENCE_DATA to its parent folder)"
        )
    return folder


def evaluate() -> AfReport:
    afdb, nsr2db = _require("afdb"), _require("nsr2db")
    classify_s, windows = 0.0, 0

    def run(rr: np.ndarray) -> np.ndarray:
        nonlocal classify_s, windows
        started = time.perf_counter()
        flags = classify_rr(rr)
        classify_s += time.perf_counter() - started
        plausible = np.isfinite(rr) & (rr >= 0.25) & (rr <= 2.5)
        windows += _windows_classified(int(np.count_nonzero(plausible)))
        return flags

    development = BeatCounts()
    for record in DEVELOPMENT_RECORDS:
        labelled = load_afdb_record(afdb, record)
        development += score(run(labelled.rr_s), labelled)
    by_record = []
    for record in HELD_OUT_RECORDS:
        labelled = load_afdb_record(afdb, record)
        by_record.append((record, score(run(labelled.rr_s), labelled)))
    held_out = sum((c for _, c in by_record), BeatCounts())

    nsr = BeatCounts()
    nsr_episodes = EpisodeCounts()
    monitor_s, monitor_beats, monitor_windows_total = 0.0, 0, 0
    for record in NSR2DB_RECORDS:
        offset, rr = load_nsr2db_record(nsr2db, record)
        flags = run(rr)
        nsr += BeatCounts(true_non_af=int(np.count_nonzero(~flags)), false_af=int(flags.sum()))
        monitor = AfMonitor()
        started = time.perf_counter()
        changes = run_monitor(rr, strap_receive_times_ms(offset, rr), monitor)
        monitor_s += time.perf_counter() - started
        monitor_beats += rr.size
        monitor_windows_total += monitor.counts.windows
        nsr_episodes += score_episodes(
            changes,
            af_episodes(LabelledRR(rr, np.zeros(rr.size, bool), np.ones(rr.size, bool))),
            float(np.nansum(rr)) / 3600.0,
            rr.size,
        )

    held_out_episodes = EpisodeCounts()
    for record in HELD_OUT_RECORDS:
        labelled = load_afdb_record(afdb, record)
        monitor = AfMonitor()
        changes = run_monitor(labelled.rr_s, strap_receive_times_ms(0.0, labelled.rr_s), monitor)
        held_out_episodes += score_episodes(
            changes, af_episodes(labelled), non_af_hours(labelled), labelled.rr_s.size
        )

    return AfReport(
        development=development,
        held_out=held_out,
        held_out_by_record=tuple(by_record),
        nsr2db=nsr,
        nsr2db_hours=nsr_episodes.non_af_hours,
        nsr2db_false_alerts=nsr_episodes.false_onsets,
        classify_us_per_window=1e6 * classify_s / max(windows, 1),
        monitor_us_per_beat=1e6 * monitor_s / max(monitor_beats, 1),
        monitor_us_per_window=1e6 * monitor_s / max(monitor_windows_total, 1),
        development_episodes=development_episodes(afdb),
        held_out_episodes=held_out_episodes,
        nsr2db_episodes=nsr_episodes,
    )


def development_episodes(
    afdb: Path, settings: tuple[tuple[int, int], ...] = DEVELOPMENT_SETTINGS
) -> tuple[tuple[tuple[int, int], EpisodeCounts], ...]:
    """Alert-level figures of each (onset_windows, end_windows) on the development
    records, fed as a chest strap: the windows are classified once, the persistence
    replayed per setting."""
    prepared = []
    for record in DEVELOPMENT_RECORDS:
        labelled = load_afdb_record(afdb, record)
        windows = monitor_windows(labelled.rr_s, strap_receive_times_ms(0.0, labelled.rr_s))
        prepared.append((labelled, windows, af_episodes(labelled)))
    results = []
    for onset, end in settings:
        counts = EpisodeCounts()
        for labelled, windows, episodes in prepared:
            counts += score_episodes(
                replay(windows, onset, end), episodes, non_af_hours(labelled), labelled.rr_s.size
            )
        results.append(((onset, end), counts))
    return tuple(results)


if __name__ == "__main__":
    print(evaluate())
