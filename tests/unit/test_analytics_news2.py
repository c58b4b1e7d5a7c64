"""NEWS2 against the RCP 2017 chart: every cell on both sides of every boundary, worked by hand.

Each table row is (value, points) read straight off Chart 1 of the RCP NEWS2 report.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from anxin.analytics.news2 import PARAMETERS, News2Score, score

# A set of observations that scores 0 everywhere, to vary one parameter at a time.
NORMAL = {
    "respiration_rate": 16,
    "spo2": 97,
    "on_oxygen": False,
    "systolic_bp": 130,
    "pulse": 70,
    "consciousness": "A",
    "temperature": 37.0,
}


def points(**changes: object) -> dict[str, int]:
    return score(**{**NORMAL, **changes}).parameters  # type: ignore[arg-type]


# --- respiration rate: <=8 -> 3 | 9-11 -> 1 | 12-20 -> 0 | 21-24 -> 2 | >=25 -> 3
@pytest.mark.parametrize(
    ("rate", "expected"),
    [(0, 3), (8, 3), (9, 1), (11, 1), (12, 0), (20, 0), (21, 2), (24, 2), (25, 3), (60, 3)],
)
def test_respiration_rate(rate: float, expected: int) -> None:
    assert points(respiration_rate=rate)["respiration_rate"] == expected


# --- SpO2 scale 1: <=91 -> 3 | 92-93 -> 2 | 94-95 -> 1 | >=96 -> 0 (same on air or oxygen)
@pytest.mark.parametrize(
    ("spo2", "expected"),
    [(70, 3), (91, 3), (92, 2), (93, 2), (94, 1), (95, 1), (96, 0), (100, 0)],
)
@pytest.mark.parametrize("on_oxygen", [False, True])
def test_spo2_scale_1(spo2: float, expected: int, on_oxygen: bool) -> None:
    assert points(spo2=spo2, on_oxygen=on_oxygen)["spo2"] == expected


# --- SpO2 scale 2: <=83 -> 3 | 84-85 -> 2 | 86-87 -> 1 | 88-92 -> 0 | >=93 on air -> 0
#     | 93-94 on oxygen -> 1 | 95-96 on oxygen -> 2 | >=97 on oxygen -> 3
@pytest.mark.parametrize(
    ("spo2", "on_oxygen", "expected"),
    [
        (83, False, 3),
        (84, False, 2),
        (85, False, 2),
        (86, False, 1),
        (87, False, 1),
        (88, False, 0),
        (92, False, 0),
        (93, False, 0),
        (100, False, 0),
        (83, True, 3),
        (84, True, 2),
        (87, True, 1),
        (88, True, 0),
        (92, True, 0),
        (93, True, 1),
        (94, True, 1),
        (95, True, 2),
        (96, True, 2),
        (97, True, 3),
        (100, True, 3),
    ],
)
def test_spo2_scale_2(spo2: float, on_oxygen: bool, expected: int) -> None:
    assert points(spo2=spo2, spo2_scale=2, on_oxygen=on_oxygen)["spo2"] == expected


# --- air or oxygen: oxygen -> 2, air -> 0
@pytest.mark.parametrize(("on_oxygen", "expected"), [(False, 0), (True, 2)])
def test_air_or_oxygen(on_oxygen: bool, expected: int) -> None:
    assert points(on_oxygen=on_oxygen)["air_or_oxygen"] == expected


# --- systolic BP: <=90 -> 3 | 91-100 -> 2 | 101-110 -> 1 | 111-219 -> 0 | >=220 -> 3
@pytest.mark.parametrize(
    ("systolic", "expected"),
    [(60, 3), (90, 3), (91, 2), (100, 2), (101, 1), (110, 1), (111, 0), (219, 0), (220, 3)],
)
def test_systolic_bp(systolic: float, expected: int) -> None:
    assert points(systolic_bp=systolic)["systolic_bp"] == expected


# --- pulse: <=40 -> 3 | 41-50 -> 1 | 51-90 -> 0 | 91-110 -> 1 | 111-130 -> 2 | >=131 -> 3
@pytest.mark.parametrize(
    ("pulse", "expected"),
    [
        (30, 3),
        (40, 3),
        (41, 1),
        (50, 1),
        (51, 0),
        (90, 0),
        (91, 1),
        (110, 1),
        (111, 2),
        (130, 2),
        (131, 3),
        (180, 3),
    ],
)
def test_pulse(pulse: float, expected: int) -> None:
    assert points(pulse=pulse)["pulse"] == expected


# --- consciousness (ACVPU): Alert -> 0, new Confusion / Voice / Pain / Unresponsive -> 3
@pytest.mark.parametrize(
    ("level", "expected"),
    [("A", 0), ("a", 0), (" A ", 0), ("C", 3), ("c", 3), ("V", 3), ("P", 3), ("U", 3)],
)
def test_consciousness(level: str, expected: int) -> None:
    assert points(consciousness=level)["consciousness"] == expected


# --- temperature: <=35.0 -> 3 | 35.1-36.0 -> 1 | 36.1-38.0 -> 0 | 38.1-39.0 -> 1 | >=39.1 -> 2
@pytest.mark.parametrize(
    ("temperature", "expected"),
    [
        (33.0, 3),
        (35.0, 3),
        (35.1, 1),
        (36.0, 1),
        (36.1, 0),
        (38.0, 0),
        (38.1, 1),
        (39.0, 1),
        (39.1, 2),
        (41.0, 2),
    ],
)
def test_temperature(temperature: float, expected: int) -> None:
    assert points(temperature=temperature)["temperature"] == expected


# Values finer than the chart's resolution are rounded half-up before scoring.
@pytest.mark.parametrize(
    ("changes", "name", "expected"),
    [
        ({"respiration_rate": 20.4}, "respiration_rate", 0),  # 20
        ({"respiration_rate": 20.5}, "respiration_rate", 2),  # 21
        ({"pulse": 90.49}, "pulse", 0),  # 90
        ({"pulse": 90.5}, "pulse", 1),  # 91
        ({"spo2": 95.5}, "spo2", 0),  # 96
        ({"temperature": 38.04}, "temperature", 0),  # 38.0
        ({"temperature": 38.05}, "temperature", 1),  # 38.1
        ({"temperature": 35.05}, "temperature", 1),  # 35.1
    ],
)
def test_finer_values_round_half_up_to_chart_resolution(
    changes: dict[str, float], name: str, expected: int
) -> None:
    assert points(**changes)[name] == expected


def test_numpy_scalars_are_accepted() -> None:
    result = score(
        respiration_rate=np.int64(25),
        spo2=np.float32(95.0),
        on_oxygen=np.bool_(True),
        systolic_bp=np.float64(120.0),
        pulse=np.int32(70),
        temperature=np.float32(36.5),
    )
    # 3 (RR 25) + 1 (SpO2 95) + 2 (oxygen) = 6
    assert result.total == 6


# --- aggregate and clinical-response bands -----------------------------------------------------


def test_all_normal_is_zero_and_its_own_response_row() -> None:
    result = score(**NORMAL)  # type: ignore[arg-type]
    assert result.total == 0
    assert result.band == "none"
    assert result.clinical_risk == "low"  # the risk chart counts 0 within 0-4 "low"
    assert result.monitoring == "minimum 12-hourly"
    assert result.complete
    assert result.missing == ()
    assert not result.single_parameter_3


@pytest.mark.parametrize(
    ("changes", "total", "band", "single_3"),
    [
        # pulse 91-110 -> 1
        ({"pulse": 95}, 1, "low", False),
        # RR 21-24 -> 2, temperature 38.1-39.0 -> 1, pulse 91-110 -> 1: 4, top of low
        ({"respiration_rate": 22, "temperature": 38.5, "pulse": 95}, 4, "low", False),
        # a single 3 with a total below 5: low-medium
        ({"respiration_rate": 25}, 3, "low_medium", True),
        ({"consciousness": "C"}, 3, "low_medium", True),
        # 3 (SBP 90) + 1 (pulse 95) = 4, still low-medium
        ({"systolic_bp": 90, "pulse": 95}, 4, "low_medium", True),
        # RR 22 -> 2, oxygen -> 2, pulse 95 -> 1: 5, bottom of medium without a 3
        ({"respiration_rate": 22, "on_oxygen": True, "pulse": 95}, 5, "medium", False),
        # 3 (RR 25) + 2 (oxygen) = 5: a 3 does not lower a medium score
        ({"respiration_rate": 25, "on_oxygen": True}, 5, "medium", True),
        # RR 22 -> 2, oxygen -> 2, pulse 115 -> 2: 6, top of medium
        ({"respiration_rate": 22, "on_oxygen": True, "pulse": 115}, 6, "medium", False),
        # 6 + temperature 38.5 -> 1 = 7: high
        (
            {"respiration_rate": 22, "on_oxygen": True, "pulse": 115, "temperature": 38.5},
            7,
            "high",
            False,
        ),
        # 3 (RR 5) + 3 (SpO2 88) + 2 (oxygen) + 3 (SBP 80) + 3 (pulse 140) + 3 (V) + 3 (34.0)
        (
            {
                "respiration_rate": 5,
                "spo2": 88,
                "on_oxygen": True,
                "systolic_bp": 80,
                "pulse": 140,
                "consciousness": "V",
                "temperature": 34.0,
            },
            20,
            "high",
            True,
        ),
    ],
)
def test_aggregate_and_band(
    changes: dict[str, object], total: int, band: str, single_3: bool
) -> None:
    result = score(**{**NORMAL, **changes})  # type: ignore[arg-type]
    assert result.total == total
    assert result.band == band
    assert result.single_parameter_3 is single_3
    assert result.total == sum(result.parameters.values())


def test_clinical_risk_and_monitoring_follow_the_band() -> None:
    assert score(**{**NORMAL, "pulse": 95}).monitoring == "minimum 4-6-hourly"  # type: ignore[arg-type]
    low_medium = score(**{**NORMAL, "pulse": 35})  # type: ignore[arg-type]
    assert (low_medium.clinical_risk, low_medium.monitoring) == ("low-medium", "minimum 1-hourly")
    high = score(**{**NORMAL, "pulse": 140, "systolic_bp": 85, "on_oxygen": True})  # type: ignore[arg-type]
    assert high.total == 8
    assert (high.clinical_risk, high.monitoring) == ("high", "continuous monitoring of vital signs")


def test_oxygen_adds_its_two_points_once() -> None:
    on_air = score(**NORMAL)  # type: ignore[arg-type]
    on_oxygen = score(**{**NORMAL, "on_oxygen": True})  # type: ignore[arg-type]
    assert on_oxygen.total - on_air.total == 2
    # On scale 2 oxygen also moves SpO2 97 into the ">=97 on oxygen" cell (3): that is the chart's
    # own SpO2 row, not a second oxygen score.
    scale_2 = score(**{**NORMAL, "spo2_scale": 2, "on_oxygen": True})  # type: ignore[arg-type]
    assert scale_2.parameters["air_or_oxygen"] == 2
    assert scale_2.parameters["spo2"] == 3
    assert scale_2.total == 5


def test_scale_2_must_be_asked_for() -> None:
    # 88 % is on target for a hypercapnic patient (scale 2: 0) but scores 3 on scale 1.
    assert score(spo2=88).parameters["spo2"] == 3
    assert score(spo2=88, spo2_scale=2).parameters["spo2"] == 0
    assert score(spo2=88).spo2_scale == 1


# --- partial scores ------------------------------------------------------------------------


def test_only_a_wearable_gives_a_partial_score_that_names_what_is_missing() -> None:
    result = score(spo2=93, pulse=115)  # 2 + 2, on air and alert by default
    assert result.total == 4
    assert result.parameters == {"spo2": 2, "air_or_oxygen": 0, "pulse": 2, "consciousness": 0}
    assert result.missing == ("respiration_rate", "systolic_bp", "temperature")
    assert not result.complete
    assert result.band == "low"
    as_dict = result.as_dict()
    assert as_dict["partial"] is True
    assert as_dict["missing"] == ["respiration_rate", "systolic_bp", "temperature"]


def test_nothing_measured_is_not_reported_as_normal() -> None:
    result = score(on_oxygen=None, consciousness=None)
    assert result.total == 0
    assert result.parameters == {}
    assert result.missing == PARAMETERS
    assert not result.complete
    assert result.as_dict()["partial"] is True


def test_missing_parameters_are_listed_in_chart_order() -> None:
    result = score(temperature=37.0, on_oxygen=None, respiration_rate=16)
    assert result.missing == ("spo2", "air_or_oxygen", "systolic_bp", "pulse")


def test_band_of_a_partial_score_uses_what_is_known() -> None:
    result = score(pulse=135)  # 3 in a single parameter
    assert result.band == "low_medium"
    assert result.single_parameter_3
    assert not result.complete


def test_as_dict_round_trips_the_fields() -> None:
    result = score(**NORMAL)  # type: ignore[arg-type]
    as_dict = result.as_dict()
    assert as_dict["total"] == 0
    assert as_dict["parameters"] == dict.fromkeys(PARAMETERS, 0)
    assert as_dict["partial"] is False
    assert as_dict["band"] == "none"
    as_dict["parameters"]["pulse"] = 3  # a copy: the result itself does not change
    assert result.parameters["pulse"] == 0
    assert isinstance(result, News2Score)


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"spo2": 101}, "spo2"),
        ({"spo2": -1}, "spo2"),
        ({"spo2": math.nan}, "spo2"),
        ({"respiration_rate": -2}, "respiration_rate"),
        ({"respiration_rate": 400}, "respiration_rate"),
        ({"pulse": -10}, "pulse"),
        ({"pulse": 1000}, "pulse"),
        ({"pulse": math.inf}, "pulse"),
        ({"systolic_bp": -5}, "systolic_bp"),
        ({"systolic_bp": 900}, "systolic_bp"),
        ({"temperature": 24.9}, "temperature"),
        ({"temperature": 45.1}, "temperature"),
        ({"temperature": 98.6}, "temperature"),  # Fahrenheit by mistake
        ({"temperature": math.nan}, "temperature"),
        ({"pulse": "70"}, "pulse"),
        ({"pulse": True}, "pulse"),
        ({"consciousness": "X"}, "consciousness"),
        ({"consciousness": "alert"}, "consciousness"),
        ({"consciousness": 0}, "consciousness"),
        ({"on_oxygen": "yes"}, "on_oxygen"),
        ({"on_oxygen": 1}, "on_oxygen"),
        ({"spo2_scale": 3}, "spo2_scale"),
        ({"spo2_scale": True}, "spo2_scale"),
    ],
)
def test_impossible_values_are_rejected_naming_parameter_and_value(
    changes: dict[str, object], named: str
) -> None:
    with pytest.raises(ValueError, match=named) as raised:
        score(**{**NORMAL, **changes})  # type: ignore[arg-type]
    assert repr(next(iter(changes.values()))) in str(raised.value)


def test_scale_2_high_saturation_needs_to_know_about_oxygen() -> None:
    with pytest.raises(ValueError, match="on_oxygen"):
        score(spo2=95, spo2_scale=2, on_oxygen=None)
    # Below 93 % the air/oxygen column does not matter on scale 2.
    assert score(spo2=86, spo2_scale=2, on_oxygen=None).parameters["spo2"] == 1
