"""The fall detector on the held-out SisFall subjects (never trained or tuned on) meets
its targets per trial: sensitivity >= 95 %, specificity >= 98 % over all daily
activities and over D18 stumbles, young and elderly alike."""

import pytest

from anxin.analytics.evaluation.falls import (
    TARGET_SENSITIVITY,
    TARGET_SPECIFICITY,
    evaluate,
)
from anxin.analytics.reference_data import dataset

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        dataset("sisfall") is None,
        reason="SisFall reference data not found (anxin.analytics.reference_data)",
    ),
]


@pytest.fixture(scope="module")
def report():
    return evaluate()


def test_the_split_holds_young_and_elderly_subjects(report):
    h = report.held_out
    assert h.fall_trials >= 60 and h.young_adl_trials >= 40 and h.elderly_adl_trials >= 30
    assert h.d18_trials >= 3


def test_held_out_sensitivity(report):
    assert report.sensitivity >= TARGET_SENSITIVITY, report.held_out.missed


def test_held_out_specificity_all_daily_activities(report):
    assert report.specificity >= TARGET_SPECIFICITY, report.held_out.false_alarms
    assert report.young_specificity >= TARGET_SPECIFICITY
    assert report.elderly_specificity >= TARGET_SPECIFICITY


def test_held_out_specificity_on_stumbles(report):
    assert report.d18_specificity >= TARGET_SPECIFICITY, report.held_out.false_alarms


def test_report_prints_every_figure(report):
    labels = [label for label, _ in report.rows()]
    for needed in ("sensitivity", "D18", "young", "elderly", "model size", "per model call"):
        assert any(needed in label for label in labels), needed
    assert report.model_size_bytes <= 100 * 1024
