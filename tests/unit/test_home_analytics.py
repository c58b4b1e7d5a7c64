"""The gateway's live analytics on decoded frames: which detector sees what, and when it ends."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from anxin.analytics.alerts import Detection
from anxin.config import AnalyticsConfig, DeviceBindingConfig, EdgeConfig, GatewayConfig
from anxin.edge.home_analytics import Ended, Finding, HomeAnalytics

MINUTE = 60_000
T0 = 1_767_571_200_000  # 2026-01-05 08:00 in Beijing


def analytics(tmp_path: Path, **settings: object) -> HomeAnalytics:
    devices = (
        DeviceBindingConfig(
            device_id="strap", address="C0:00:00:00:00:01", kind="heart_rate_strap"
        ),
        DeviceBindingConfig(device_id="ox", address="C0:00:00:00:00:02", kind="pulse_oximeter"),
        DeviceBindingConfig(device_id="scale", address="C0:00:00:00:00:03", kind="weight_scale"),
        DeviceBindingConfig(
            device_id="motion-2", address="C0:00:00:00:00:04", kind="bthome_motion", room="bathroom"
        ),
        DeviceBindingConfig(
            device_id="other", address="C0:00:00:00:00:05", kind="heart_rate_strap", person_id="p9"
        ),
    )
    return HomeAnalytics(
        EdgeConfig(
            gateway=GatewayConfig(site_id="home-1", gateway_id="gw-1", queue_path=tmp_path / "q"),
            analytics=AnalyticsConfig(person_id="p1", **settings),  # type: ignore[arg-type]
            devices=devices,
        )
    )


def kinds(found: list[Finding]) -> list[str]:
    return [f"{'ended ' if isinstance(f, Ended) else ''}{f.kind}" for f in found]


def test_devices_belong_to_the_home_s_person_unless_bound_to_another(tmp_path: Path) -> None:
    home = analytics(tmp_path)
    assert home.subject_of("strap") == "p1"
    assert home.subject_of("other") == "p9"
    assert home.subject_of("unbound") == "p1"


def test_a_partial_news2_from_two_wearables_pages_at_five_and_names_what_was_not_measured(
    tmp_path: Path,
) -> None:
    home = analytics(tmp_path)
    assert home.on_frame("ox", {}, [("spo2", 85.0)], T0) == []  # SpO2 85 alone scores 3
    found = home.on_frame("strap", {}, [("heart_rate", 118.0)], T0 + 1000)  # pulse 118: 2
    news2 = [f for f in found if isinstance(f, Detection) and f.kind.startswith("news2")]
    assert [f.kind for f in news2] == ["news2_medium"]
    evidence = news2[0].evidence.values
    assert evidence["news2_total"] == 5
    assert "consciousness" in str(evidence["missing"]) and "respiration_rate" in str(
        evidence["missing"]
    )
    # Back to normal: the condition ends, so a later rise pages again.
    found = home.on_frame("ox", {}, [("spo2", 97.0)], T0 + 2000)
    assert "ended news2_medium" in kinds(found)


def test_vitals_older_than_fifteen_minutes_do_not_add_up(tmp_path: Path) -> None:
    home = analytics(tmp_path)
    home.on_frame("ox", {}, [("spo2", 85.0)], T0)
    found = home.on_frame("strap", {}, [("heart_rate", 118.0)], T0 + 16 * MINUTE)
    assert not any(f.kind.startswith("news2") for f in found)


def test_a_strap_off_the_skin_is_not_worn_after_a_minute_and_worn_again_ends_it(
    tmp_path: Path,
) -> None:
    home = analytics(tmp_path)
    off = {"sensor_contact": "not_detected", "heart_rate": 0, "rr_intervals": []}
    assert home.on_frame("strap", off, [], T0) == []
    assert home.on_frame("strap", off, [], T0 + 30_000) == []
    assert kinds(home.on_frame("strap", off, [], T0 + 61_000)) == ["not_worn"]
    assert home.on_frame("strap", off, [], T0 + 62_000) == []  # raised once
    on = {"sensor_contact": "detected", "heart_rate": 70, "rr_intervals": []}
    assert kinds(home.on_frame("strap", on, [("heart_rate", 70.0)], T0 + 63_000)) == [
        "ended not_worn"
    ]


def test_a_silent_device_is_no_data_after_ten_of_its_intervals_and_ends_when_heard(
    tmp_path: Path,
) -> None:
    home = analytics(tmp_path)
    home.on_frame("ox", {}, [("spo2", 97.0)], T0)
    assert home.tick(T0 + 4 * MINUTE, {"ox": "reconnecting"}) == []  # floor: 5 minutes
    found = home.tick(T0 + 5 * MINUTE, {"ox": "out_of_range"})
    assert kinds(found) == ["no_data"]
    assert home.tick(T0 + 6 * MINUTE, {"ox": "out_of_range"}) == []
    assert kinds(home.on_frame("ox", {}, [("spo2", 97.0)], T0 + 7 * MINUTE)) == ["ended no_data"]


def test_weight_up_two_kilograms_in_three_days_is_a_weight_gain(tmp_path: Path) -> None:
    home = analytics(tmp_path)
    day = 24 * 60 * MINUTE
    assert home.on_frame("scale", {}, [("body_weight", 62.0)], T0) == []
    assert home.on_frame("scale", {}, [("body_weight", 62.9)], T0 + day) == []
    found = home.on_frame("scale", {}, [("body_weight", 64.2)], T0 + 2 * day)
    assert kinds(found) == ["weight_gain"]


def test_an_irregularly_irregular_rhythm_from_the_strap_is_atrial_fibrillation(
    tmp_path: Path,
) -> None:
    home = analytics(tmp_path)
    rng = np.random.default_rng(4)
    found: list[Finding] = []
    t = T0
    for _ in range(400):  # one notification a second, as a strap sends them
        rr = list(np.clip(rng.lognormal(np.log(0.6), 0.25, size=2), 0.3, 1.5))
        t += 1000
        found += home.on_frame("strap", {"sensor_contact": "detected", "rr_intervals": rr}, [], t)
    assert kinds(found) == ["atrial_fibrillation"]
    assert isinstance(found[0], Detection) and found[0].evidence.values["beats"] >= 64


@pytest.mark.parametrize(
    ("device_id", "observation", "role"),
    [
        ("motion-2", "motion", "bathroom"),
        ("kitchen-motion", "motion", "motion"),
        ("bathroom-pir", "motion", "bathroom"),
        ("front-door", "door_open", "front_door"),
        ("bed", "bed_occupied", "bed"),
        ("strap", "heart_rate", None),
    ],
)
def test_home_sensors_feed_the_routine_in_their_role(
    tmp_path: Path, device_id: str, observation: str, role: str | None
) -> None:
    assert analytics(tmp_path).routine_role(device_id, observation) == role


def _days_of_heart_rate(home: HomeAnalytics, device_id: str, centre: float, days: int) -> int:
    """One reading every 5 minutes around ``centre``; returns the time after the last."""
    rng = np.random.default_rng(7)
    t = T0
    for _ in range(days * 288):
        home.on_frame(device_id, {}, [("heart_rate", centre + rng.normal(0, 3))], t)
        t += 5 * MINUTE
    return t


@pytest.mark.parametrize(("usual", "unusual"), [(62.0, True), (92.0, False)])
def test_a_resting_heart_rate_of_95_is_judged_against_the_person_s_own_history(
    tmp_path: Path, usual: float, unusual: bool
) -> None:
    home = analytics(tmp_path)
    t = _days_of_heart_rate(home, "strap", usual, days=4)
    found = home.on_frame("strap", {}, [("heart_rate", 95.0)], t)
    found += home.on_frame("strap", {}, [("heart_rate", 95.0)], t + 5 * MINUTE)
    assert kinds(found) == (["heart_rate_unusual"] if unusual else [])
    if unusual:
        evidence = found[0].evidence.values  # type: ignore[union-attr]
        assert evidence["mean_heart_rate"] == 95.0 and abs(evidence["usual"] - usual) < 2
