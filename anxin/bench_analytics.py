"""``anxin bench analytics``: each detector's validation figures and its cost per window.

The figures come from the validation modules in ``anxin.analytics.evaluation``, which
score the detectors on the public recordings (``ANXIN_REFERENCE_DATA``, default
``../shared/data``) on records and subjects never used for tuning.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Validation:
    name: str
    module: str
    published: str


VALIDATIONS = (
    Validation(
        "af",
        "anxin.analytics.evaluation.af",
        "RR-only detectors on afdb: Tateno & Glass 2001 94.4 % / 97.2 %, "
        "Petrėnas 2015 97.1 % / 98.3 % (sensitivity / specificity)",
    ),
    Validation(
        "falls",
        "anxin.analytics.evaluation.falls",
        "SisFall paper (Sucerquia 2017): thresholds reach about 96 % accuracy on young subjects",
    ),
    Validation(
        "routine",
        "anxin.analytics.evaluation.routine",
        "no public recording here: simulated days of the project's daily-life model",
    ),
)


def _per_call_us(call: Callable[[], object], repeat: int = 2000) -> float:
    call()
    start = time.perf_counter()
    for _ in range(repeat):
        call()
    return (time.perf_counter() - start) / repeat * 1e6


def index_costs() -> list[tuple[str, str]]:
    """Time per call of the plain indices on a typical input."""
    from anxin.analytics.hrv import hrv_summary
    from anxin.analytics.news2 import score

    rng = np.random.default_rng(0)
    five_minutes_rr = 0.85 + 0.05 * rng.standard_normal(350)
    return [
        (
            "NEWS2 score, per call",
            f"{_per_call_us(lambda: score(spo2=95, pulse=88, systolic_bp=132, temperature=36.8)):.1f} µs",
        ),
        (
            "HRV summary of 5 min of RR (350 beats), per call",
            f"{_per_call_us(lambda: hrv_summary(five_minutes_rr), repeat=50) / 1000:.2f} ms",
        ),
    ]


def run_analytics_bench(only: list[str] | None = None) -> None:
    chosen = [v for v in VALIDATIONS if not only or v.name in only]
    for validation in chosen:
        print(f"\n== {validation.name}  (published: {validation.published})")
        started = time.perf_counter()
        report = importlib.import_module(validation.module).evaluate()
        for figure, value in report.rows():
            print(f"  {figure:<58} {value}")
        print(f"  {'(evaluation took)':<58} {time.perf_counter() - started:.1f} s")
    if not only or "indices" in only:
        print("\n== indices")
        for figure, value in index_costs():
            print(f"  {figure:<58} {value}")
