"""SisFall trials as arrays in g, and the fixed split by subject.

SisFall (Sucerquia A, López JD, Vargas-Bonilla JF. "SisFall: A Fall and Movement
Dataset", Sensors 2017;17(1):198, doi:10.3390/s17010198): a waist-worn ADXL345 at
200 Hz, ±16 g, 13 bit, so g = count × 32/8192 (columns 1-3). A file
``<CODE>_<SUBJECT>_<TRIAL>.txt`` holds one trial; ``Fxx`` is a fall, ``Dxx`` a daily
activity (D18, a stumble while walking, is the hard negative). The label covers the
whole trial: there is no onset annotation.

The split is fixed here, before any tuning: the held-out subjects are never trained on
or tuned on, and only the evaluation reads them. Parsed trials are cached under the
system temporary folder (never in the repository).
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..reference_data import dataset

SISFALL_RATE_HZ = 200
ADXL345_G_PER_COUNT = 32 / 8192
HARD_NEGATIVE_CODE = "D18"

# Held-out subjects, fixed before any training or tuning: 3 young (who also fell) and
# 3 elderly (daily activities only). Everyone else is for development.
HELD_OUT_SUBJECTS: tuple[str, ...] = ("SA04", "SA09", "SA13", "SE05", "SE11", "SE15")


@dataclass(frozen=True)
class Trial:
    code: str  # F01..F15 or D01..D19
    subject: str  # SA.. young, SE.. elderly
    trial: str  # R01..
    acc_g: np.ndarray  # (n, 3) ADXL345 in g at 200 Hz, sensor frame

    @property
    def name(self) -> str:
        return f"{self.code}_{self.subject}_{self.trial}"

    @property
    def is_fall(self) -> bool:
        return self.code.startswith("F")

    @property
    def elderly(self) -> bool:
        return self.subject.startswith("SE")

    @property
    def held_out(self) -> bool:
        return self.subject in HELD_OUT_SUBJECTS


def parse_trial_text(text: str) -> np.ndarray:
    """The ADXL345 columns of one SisFall file, in g: rows ``a,b,c,d,e,f,g,h,i;``."""
    values = np.array(text.replace(";", ",").split(",")[:-1], dtype=float)
    if values.size % 9:
        raise ValueError(f"SisFall rows have 9 values; got {values.size} values in all")
    return values.reshape(-1, 9)[:, :3] * ADXL345_G_PER_COUNT


def _cache_path(folder: Path) -> Path:
    key = hashlib.sha1(str(folder.resolve()).encode()).hexdigest()[:10]
    return Path(tempfile.gettempdir()) / f"anxin-sisfall-{key}.npz"


def load_trials(folder: Path | None = None) -> list[Trial]:
    """Every trial in the SisFall folder (the reference copy by default), sorted by name."""
    folder = folder or dataset("sisfall")
    if folder is None:
        raise FileNotFoundError(
            "SisFall reference data not found (see anxin.analytics.reference_data)"
        )
    cache = _cache_path(folder)
    if cache.exists():
        with np.load(cache) as stored:
            arrays = {name: stored[name] for name in stored.files}
    else:
        arrays = {
            path.stem: parse_trial_text(path.read_text(encoding="latin-1")).astype(np.float32)
            for path in sorted(folder.glob("S*/*.txt"))
        }
        tmp = cache.with_suffix(".tmp.npz")
        np.savez(tmp, **arrays)
        tmp.replace(cache)
    trials = []
    for name in sorted(arrays):
        code, subject, trial = name.split("_")
        trials.append(Trial(code, subject, trial, arrays[name].astype(float)))
    return trials


def development(trials: Iterable[Trial]) -> list[Trial]:
    return [t for t in trials if not t.held_out]


def held_out(trials: Iterable[Trial]) -> list[Trial]:
    return [t for t in trials if t.held_out]
