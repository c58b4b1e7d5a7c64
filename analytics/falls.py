"""Fall detection from a waist-worn accelerometer: a small TFLite model plus the physics a
fall needs.

A fall is an impact (a peak of the acceleration magnitude), a change of the trunk's
orientation (the gravity direction before it against after it) and little movement
right after it (the impact-and-posture scheme of Bourke AK et al., J Biomech
2010;43(15):3051-3057). Candidates that pass these checks are scored by a 1-D CNN trained on the
SisFall waist recordings (Sucerquia A, López JD, Vargas-Bonilla JF, "SisFall: A Fall and
Movement Dataset", Sensors 2017;17(1):198); the model only runs on those candidates.
Remaining on the floor afterwards escalates: a "long lie" (Fleming J, Brayne C, BMJ
2008;337:a2227: lying on the floor for an hour or more after a fall; the time is set by
the caller). Small movements on the floor do not end it; getting back up (trunk back
within UPRIGHT_DEG of its direction before the fall for RECOVERY_S) does.

Mounting: the detector never uses a fixed axis. Every quantity is measured against the
gravity direction estimated just before the candidate impact, so any orientation of the
sensor on the waist works (SisFall's own frame, standing ~(0, -1, -0.2) g, is what the
simulator emits).

The signal is resampled to 50 Hz and band-limited to 8 Hz, so any rate from 25 Hz up
gives the same detections. Rows with NaN or values beyond the sensor's ±16 g are
treated as missing: filled for filtering, but no candidate is judged on a window with
more than a few of them, so bad input never makes a fall on its own.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import numpy as np

MODEL_PATH = Path(__file__).resolve().parent / "models" / "falls.tflite"

MODEL_RATE_HZ = 50
SENSOR_RANGE_G = 16.0
BAND_LIMIT_HZ = 8.0
# firwin(15, BAND_LIMIT_HZ, fs=MODEL_RATE_HZ), written out: importing scipy.signal costs
# the gateway 77 MiB of memory, and a test keeps these equal to scipy's.
_LOW_PASS = np.array(
    [
        0.0024764302001217243,
        -0.001647287275433798,
        -0.015244799696707598,
        -0.026685067076726538,
        0.008494817140888495,
        0.1184048912882477,
        0.2550898483570316,
        0.3182223341251568,
        0.2550898483570316,
        0.1184048912882477,
        0.008494817140888495,
        -0.026685067076726538,
        -0.015244799696707598,
        -0.001647287275433798,
        0.0024764302001217243,
    ]
)
_FILTER_MARGIN = len(_LOW_PASS) // 2

# The model's window: PRE_S before the impact, POST_S after it.
PRE_S = 2.0
POST_S = 1.0
PRE = round(PRE_S * MODEL_RATE_HZ)
POST = round(POST_S * MODEL_RATE_HZ)
WINDOW = PRE + POST
GRAVITY_BEFORE = (0, round(0.5 * MODEL_RATE_HZ))  # window rows averaged for "before"
GRAVITY_AFTER = (PRE + round(0.5 * MODEL_RATE_HZ), WINDOW)  # and for "after"

# Physics pre-check; set on the development subjects only (see training.falls).
IMPACT_G = 1.6  # band-limited magnitude peak
PEAK_SEPARATION = MODEL_RATE_HZ  # a candidate is the highest peak within ±1 s
ORIENTATION_DEG = 30.0
POST_SD_G = 0.75  # magnitude SD over the last 0.5 s of the window
MAX_MISSING_FRACTION = 0.1
PROBABILITY = 0.5

# After a fall: per-second blocks, "up" when the trunk is back near its earlier direction.
UPRIGHT_DEG = 35.0
RECOVERY_S = 3
LONG_LIE_S = 60.0


# -- results --------------------------------------------------------------------------


@dataclass(frozen=True)
class Fall:
    t_s: float  # seconds from the start of the array to the impact
    probability: float
    impact_g: float
    orientation_change_deg: float
    still_after_s: float  # time down after the impact, up to recovery or the end of the data
    long_lie: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FallEvent:
    kind: Literal["fall", "long_lie", "recovered"]
    ts_ms: int
    evidence: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "ts_ms": self.ts_ms, "evidence": dict(self.evidence)}


# -- the model ------------------------------------------------------------------------


def _interpreter(path: Path) -> Any:
    try:
        from ai_edge_litert import interpreter as runtime
    except ImportError:  # a device with only the older runtime
        from tflite_runtime import interpreter as runtime  # type: ignore[no-redef]
    # A 65 KB model needs no XNNPACK delegate: the plain kernels on one thread, with no
    # thread pool of the delegate's and no banner of its on stderr.
    return runtime.Interpreter(
        model_path=str(path),
        num_threads=1,
        experimental_op_resolver_type=runtime.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )


class FallModel:
    """The shipped TFLite model on one thread; counts its calls and their time."""

    def __init__(self, path: Path = MODEL_PATH) -> None:
        if not path.is_file():
            raise FileNotFoundError(f"fall model not found at {path}")
        self.path = path
        self._interpreter = _interpreter(path)
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]
        self._output = self._interpreter.get_output_details()[0]
        expected = (1, WINDOW, 3)
        if tuple(self._input["shape"]) != expected:
            raise ValueError(f"{path}: model input {tuple(self._input['shape'])}, need {expected}")
        self.calls = 0
        self.seconds = 0.0

    @property
    def ms_per_call(self) -> float:
        return 1000 * self.seconds / self.calls if self.calls else math.nan

    def probability(self, window: np.ndarray) -> float:
        start = time.perf_counter()  # measures cost only; never a timestamp
        self._interpreter.set_tensor(self._input["index"], window[None].astype(np.float32))
        self._interpreter.invoke()
        value = float(self._interpreter.get_tensor(self._output["index"]).reshape(-1)[0])
        self.seconds += time.perf_counter() - start
        self.calls += 1
        return value


_shared_model: FallModel | None = None


def shared_model() -> FallModel:
    global _shared_model
    if _shared_model is None:
        _shared_model = FallModel()
    return _shared_model


# -- signal preparation ---------------------------------------------------------------


def _check_array(acc_g: Any) -> np.ndarray:
    try:
        acc = np.asarray(acc_g, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"acc_g must be numeric, (n, 3) in g: {exc}") from None
    if acc.ndim != 2 or acc.shape[1] != 3:
        raise ValueError(f"acc_g must be an (n, 3) array in g, got shape {acc.shape}")
    return acc


def _check_rate(rate_hz: float) -> float:
    rate = float(rate_hz)
    if not math.isfinite(rate) or rate <= 0:
        raise ValueError(f"rate_hz must be a positive number, got {rate_hz!r}")
    return rate


def valid_rows(acc: np.ndarray) -> np.ndarray:
    """Rows a sensor could have produced: finite and within its ±16 g."""
    return np.isfinite(acc).all(axis=1) & (np.abs(np.nan_to_num(acc)) <= SENSOR_RANGE_G).all(axis=1)


def _fill_missing(acc: np.ndarray, valid: np.ndarray) -> np.ndarray:
    if valid.all() or not valid.any():
        return acc if valid.any() else np.zeros_like(acc)
    index = np.arange(len(acc))
    return np.column_stack([np.interp(index, index[valid], acc[valid, k]) for k in range(3)])


def _resampling(rate_hz: float) -> Fraction:
    return Fraction(MODEL_RATE_HZ / rate_hz).limit_denominator(1000)


def to_model_rate(acc: np.ndarray, rate_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Samples at the model's rate, band-limited, and which of them rest on valid input."""
    valid = valid_rows(acc)
    filled = _fill_missing(acc, valid)
    ratio = _resampling(rate_hz)
    if ratio != 1:  # recordings at other rates (training data); wearables send 50 Hz
        from scipy.signal import resample_poly

        filled = resample_poly(filled, ratio.numerator, ratio.denominator, axis=0)
        n = len(filled)
        source = np.minimum((np.arange(n) / float(ratio)).astype(int), len(valid) - 1)
        # a resampled row is valid only if the input rows around it were
        reach = max(1, math.ceil(1 / float(ratio)))
        bad = np.convolve(~valid, np.ones(2 * reach + 1), mode="same") > 0
        valid = ~bad[source]
    x = np.column_stack([np.convolve(filled[:, k], _LOW_PASS, mode="same") for k in range(3)])
    return x, valid


# -- physics and the model's input ----------------------------------------------------


def _direction(rows: np.ndarray) -> np.ndarray:
    mean = rows.mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return mean / norm if norm > 1e-6 else np.array([0.0, 0.0, 1.0])


def _angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    return math.degrees(math.acos(float(np.clip(a @ b, -1.0, 1.0))))


def model_input(window: np.ndarray) -> np.ndarray:
    """(WINDOW, 3) samples -> orientation-free channels: along the earlier gravity
    direction, across it, and the magnitude; the sensor's own axes never enter."""
    up = _direction(window[slice(*GRAVITY_BEFORE)])
    along = window @ up
    across = np.linalg.norm(window - np.outer(along, up), axis=1)
    magnitude = np.linalg.norm(window, axis=1)
    return np.column_stack([along, across, magnitude]).astype(np.float32)


@dataclass(frozen=True)
class Physics:
    impact_g: float
    orientation_change_deg: float
    post_sd_g: float

    @property
    def plausible(self) -> bool:
        return (
            self.impact_g >= IMPACT_G
            and self.orientation_change_deg >= ORIENTATION_DEG
            and self.post_sd_g <= POST_SD_G
        )


def physics(window: np.ndarray) -> Physics:
    magnitude = np.linalg.norm(window, axis=1)
    before = _direction(window[slice(*GRAVITY_BEFORE)])
    after = _direction(window[slice(*GRAVITY_AFTER)])
    return Physics(
        impact_g=float(magnitude[PRE]),
        orientation_change_deg=_angle_deg(before, after),
        post_sd_g=float(magnitude[slice(*GRAVITY_AFTER)].std()),
    )


def candidate_impacts(
    x: np.ndarray, valid: np.ndarray, start: int, stop: int, threshold_g: float = IMPACT_G
) -> list[int]:
    """Indices in [start, stop) that are the highest magnitude peak within ±1 s, above
    ``threshold_g``, with a whole window of mostly valid samples around them."""
    magnitude = np.linalg.norm(x, axis=1)
    lo = max(start, PRE, PEAK_SEPARATION)
    hi = min(stop, len(x) - max(POST, PEAK_SEPARATION + 1) + 1)
    found = []
    for i in np.flatnonzero(magnitude[lo:hi] >= threshold_g) + lo:
        around = magnitude[i - PEAK_SEPARATION : i + PEAK_SEPARATION + 1]
        if int(np.argmax(around)) != PEAK_SEPARATION or not valid[i - 1 : i + 2].all():
            continue
        if 1 - valid[i - PRE : i + POST].mean() > MAX_MISSING_FRACTION:
            continue
        found.append(int(i))
    return found


def judge(x: np.ndarray, i: int, model: FallModel) -> tuple[Physics, float]:
    """Physics of the candidate at ``i`` and, when plausible, the model's probability."""
    window = x[i - PRE : i + POST]
    checked = physics(window)
    if not checked.plausible:
        return checked, 0.0
    return checked, model.probability(model_input(window))


def down_blocks(x: np.ndarray, valid: np.ndarray, i: int) -> np.ndarray:
    """Per whole second after the impact (from i + POST): True while the trunk stays
    away from its direction before the fall, False when back near it, None unknown."""
    before = _direction(x[i - PRE : i - PRE + GRAVITY_BEFORE[1]])
    n = (len(x) - (i + POST)) // MODEL_RATE_HZ
    if n <= 0:
        return np.empty(0, dtype=object)
    blocks = x[i + POST : i + POST + n * MODEL_RATE_HZ].reshape(n, MODEL_RATE_HZ, 3)
    ok = valid[i + POST : i + POST + n * MODEL_RATE_HZ].reshape(n, MODEL_RATE_HZ).mean(axis=1)
    means = blocks.mean(axis=1)
    norms = np.maximum(np.linalg.norm(means, axis=1), 1e-6)
    angles = np.degrees(np.arccos(np.clip(means @ before / norms, -1.0, 1.0)))
    out = np.where(angles > UPRIGHT_DEG, True, False).astype(object)
    out[ok < 1 - MAX_MISSING_FRACTION] = None
    return out


def seconds_down(blocks: np.ndarray) -> tuple[float, int | None]:
    """Seconds after the impact before RECOVERY_S upright blocks in a row (or to the end of
    the blocks), and the block where that recovery starts (None: not recovered)."""
    run = 0
    for k, down in enumerate(blocks):
        run = run + 1 if down is False else 0
        if run == RECOVERY_S:
            first = k - RECOVERY_S + 1
            return POST_S + first, first
    return POST_S + len(blocks), None


# -- whole recordings -----------------------------------------------------------------


def detect(acc_g: np.ndarray, rate_hz: float, *, long_lie_s: float = LONG_LIE_S) -> list[Fall]:
    """Falls in an (n, 3) recording in g at ``rate_hz``, in time order.

    An impact is judged only with PRE_S of samples before it and POST_S after it in the
    array. ``still_after_s`` runs to the wearer's recovery or the end of the array.
    """
    acc = _check_array(acc_g)
    rate = _check_rate(rate_hz)
    if len(acc) == 0:
        return []
    x, valid = to_model_rate(acc, rate)
    model = shared_model()
    falls: list[Fall] = []
    resume = 0
    for i in candidate_impacts(x, valid, 0, len(x)):
        if i < resume:  # still down after the previous fall
            continue
        checked, probability = judge(x, i, model)
        if not probability >= PROBABILITY:  # NaN from a broken model is no fall
            continue
        down_s, recovered_at = seconds_down(down_blocks(x, valid, i))
        falls.append(
            Fall(
                t_s=i / MODEL_RATE_HZ,
                probability=probability,
                impact_g=checked.impact_g,
                orientation_change_deg=checked.orientation_change_deg,
                still_after_s=down_s,
                long_lie=down_s >= long_lie_s,
            )
        )
        resume = len(x) if recovered_at is None else i + round(down_s * MODEL_RATE_HZ)
    return falls


# -- streaming, on the gateway --------------------------------------------------------

BUFFER_S = 8.0  # samples kept: a whole window, ±1 s for the peak, and filter edges
GAP_TOLERANCE_S = 0.5  # later than this beyond the samples' own duration is a gap
MAX_GAP_S = 10.0  # longer gaps are not filled: the buffer starts again


@dataclass
class _Tracked:
    """A reported fall whose outcome (recovery or long lie) is still open."""

    impact: int  # absolute index at the model's rate
    impact_ts_ms: int
    before: np.ndarray  # gravity direction before the fall
    next_block: int  # absolute index where the next one-second block starts
    down_blocks: int = 0  # blocks before the current upright run
    upright_run: int = 0
    long_lie_sent: bool = False


class FallMonitor:
    """Falls in a live stream of (n, 3) batches in g, timed by the caller.

    ``add`` returns at most one "fall" per fall (about POST_S + 0.15 s of samples after
    the impact), then "long_lie" once if the wearer is still down ``long_lie_s`` after
    the impact, or "recovered" once they are back up. Batches older than the last one,
    or repeating it sooner than its samples took, are dropped; a gap in ``end_ts_ms`` becomes missing samples (never
    a fall); rows with NaN or beyond ±16 g are missing samples too.
    """

    def __init__(
        self, rate_hz: float = 50.0, long_lie_s: float = LONG_LIE_S, model: FallModel | None = None
    ) -> None:
        self.rate_hz = _check_rate(rate_hz)
        if not long_lie_s > 0:
            raise ValueError(f"long_lie_s must be positive, got {long_lie_s!r}")
        self.long_lie_s = float(long_lie_s)
        self.model = model or shared_model()
        ratio = _resampling(self.rate_hz)
        self._up, self._down = ratio.numerator, ratio.denominator
        resample_edge = 0 if ratio == 1 else math.ceil(10 * max(self._up, self._down) / self._down)
        self._edge = _FILTER_MARGIN + resample_edge + 1
        self._keep = max(self._down, round(BUFFER_S * self.rate_hz) // self._down * self._down)
        self._raw = np.empty((0, 3))
        self._raw_start = 0  # absolute input index of _raw[0], a multiple of _down
        self._last_end_ts: int | None = None
        self._last_batch: np.ndarray | None = None
        self._examined = 0  # absolute model-rate index: candidates before it were judged
        self._resume = 0  # no new fall before this absolute index
        self._tracked: _Tracked | None = None
        self.dropped_batches = 0
        self.missing_samples = 0

    # -- input ------------------------------------------------------------------------

    def add(self, samples: np.ndarray, end_ts_ms: int) -> list[FallEvent]:
        """Take a batch whose last sample was taken at ``end_ts_ms``; return new events."""
        batch = _check_array(samples)
        end_ts = int(end_ts_ms)
        if len(batch) == 0:
            return []
        if self._last_end_ts is not None:
            # a repeat arrives sooner than its samples took; a still sensor's identical
            # readings come at the normal pace and are kept
            repeat = (
                self._last_batch is not None
                and end_ts - self._last_end_ts < 500 * len(batch) / self.rate_hz
                and np.array_equal(batch, self._last_batch, equal_nan=True)
            )
            if end_ts < self._last_end_ts or repeat:
                self.dropped_batches += 1
                return []
            missing = round((end_ts - self._last_end_ts) * self.rate_hz / 1000) - len(batch)
            if missing > MAX_GAP_S * self.rate_hz:
                self._restart(self._raw_start + len(self._raw) + missing)
            elif missing > GAP_TOLERANCE_S * self.rate_hz:
                self._append(np.full((missing, 3), np.nan))
                self.missing_samples += missing
        self._last_end_ts, self._last_batch = end_ts, batch.copy()
        self._append(batch)
        return self._process(end_ts)

    def _append(self, rows: np.ndarray) -> None:
        self._raw = np.vstack([self._raw, rows])
        excess = (len(self._raw) - self._keep) // self._down * self._down
        if excess > 0:
            self._raw = self._raw[excess:]
            self._raw_start += excess

    def _restart(self, next_index: int) -> None:
        """After a long gap: a new buffer whose next row is input sample ``next_index``."""
        pad = next_index % self._down  # the buffer starts on a multiple of _down
        self._raw = np.full((pad, 3), np.nan)
        self._raw_start = next_index - pad

    # -- analysis ---------------------------------------------------------------------

    def _ts_ms(self, index: int, end_ts: int) -> int:
        """Time of absolute model-rate ``index``, from the last sample's time."""
        last = (self._raw_start + len(self._raw) - 1) / self.rate_hz
        return end_ts - round(1000 * (last - index / MODEL_RATE_HZ))

    def _process(self, end_ts: int) -> list[FallEvent]:
        x, valid = to_model_rate(self._raw, self.rate_hz)
        offset = self._raw_start * self._up // self._down  # absolute index of x[0]
        usable = len(x) - self._edge
        x, valid = x[:usable], valid[:usable]
        events: list[FallEvent] = []
        if self._tracked is not None:
            events += self._follow(x, valid, offset, end_ts)
        start = max(self._examined - offset, self._edge, self._resume - offset)
        for i in candidate_impacts(x, valid, start, usable):
            if self._tracked is not None or offset + i < self._resume:
                break
            checked, probability = judge(x, i, self.model)
            if not probability >= PROBABILITY:
                continue
            impact = offset + i
            self._tracked = _Tracked(
                impact=impact,
                impact_ts_ms=self._ts_ms(impact, end_ts),
                before=_direction(x[i - PRE : i - PRE + GRAVITY_BEFORE[1]]),
                next_block=impact + POST,
            )
            evidence = {
                "probability": probability,
                "impact_g": checked.impact_g,
                "orientation_change_deg": checked.orientation_change_deg,
                "post_impact_sd_g": checked.post_sd_g,
                "detected_at_ts_ms": end_ts,
                "model_ms_per_call": self.model.ms_per_call,
            }
            events.append(FallEvent("fall", self._tracked.impact_ts_ms, evidence))
            events += self._follow(x, valid, offset, end_ts)
        self._examined = max(self._examined, offset + usable - max(POST, PEAK_SEPARATION + 1) + 1)
        return events

    def _follow(
        self, x: np.ndarray, valid: np.ndarray, offset: int, end_ts: int
    ) -> list[FallEvent]:
        """Classify the whole seconds after a reported fall that are now available."""
        fall = self._tracked
        assert fall is not None
        events: list[FallEvent] = []
        while fall.next_block + MODEL_RATE_HZ <= offset + len(x):
            b = fall.next_block - offset
            if b < 0:  # lost in a long gap: unknown
                down: bool | None = None
            else:
                rows = x[b : b + MODEL_RATE_HZ]
                if valid[b : b + MODEL_RATE_HZ].mean() < 1 - MAX_MISSING_FRACTION:
                    down = None
                else:
                    down = _angle_deg(_direction(rows), fall.before) > UPRIGHT_DEG
            fall.next_block += MODEL_RATE_HZ
            if down is False:
                fall.upright_run += 1
            else:
                fall.down_blocks += fall.upright_run + 1
                fall.upright_run = 0
            down_s = POST_S + fall.down_blocks
            if fall.upright_run == RECOVERY_S:
                ts = fall.impact_ts_ms + round(1000 * down_s)
                events.append(FallEvent("recovered", ts, self._outcome(fall, down_s)))
                self._resume = fall.impact + round(down_s * MODEL_RATE_HZ)
                self._tracked = None
                break
            if not fall.long_lie_sent and down_s >= self.long_lie_s:
                fall.long_lie_sent = True
                ts = fall.impact_ts_ms + round(1000 * down_s)
                events.append(FallEvent("long_lie", ts, self._outcome(fall, down_s)))
        return events

    @staticmethod
    def _outcome(fall: _Tracked, down_s: float) -> dict[str, Any]:
        return {"impact_ts_ms": fall.impact_ts_ms, "down_s": down_s}
