"""Every kind of scenario event raises the right alert on the real gateway, and no other.

Each case plays a short scenario with the simulated devices on the virtual radio, through
the gateway's live detectors and alert policy to the broker, on simulated time.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from anxin.config import AnalyticsConfig
from tests.support.scenario_play import play, scenario

pytestmark = [pytest.mark.services, pytest.mark.slow]

PERSON = """
[person]
name = "Zhao Min"
age = 81
sex = "female"
resting_hr = 70
wake = "07:00"
bedtime = "22:00"
"""
WEARABLES = """
[[devices]]
kind = "heart_rate_strap"
id = "strap"

[[devices]]
kind = "pulse_oximeter"
id = "oximeter"
"""


def home(header: str, devices: str, timeline: str) -> str:
    return f'name = "case"\nseed = 5\n{header}\n{PERSON}\n{devices}\n{timeline}'


CASES: dict[str, tuple[str, list[str]]] = {
    "tachycardia": (
        home(
            'start = "09:00"\nduration = "00:06"\nspeed = 30',
            WEARABLES,
            '[[timeline]]\nevent = "tachycardia"\nat = "09:01"\nuntil = "09:04"\nbpm = 140',
        ),
        ["heart_rate_high"],
    ),
    "bradycardia": (
        home(
            'start = "09:00"\nduration = "00:06"\nspeed = 30',
            WEARABLES,
            '[[timeline]]\nevent = "bradycardia"\nat = "09:01"\nuntil = "09:04"\nbpm = 36',
        ),
        ["heart_rate_low"],
    ),
    "desaturation": (
        home(
            'start = "09:00"\nduration = "00:06"\nspeed = 30',
            WEARABLES,
            '[[timeline]]\nevent = "desaturation"\nat = "09:01"\nuntil = "09:04"\nspo2 = 85',
        ),
        ["spo2_low"],
    ),
    "low_perfusion": (
        home(
            'start = "09:00"\nduration = "00:06"\nspeed = 30',
            WEARABLES,
            '[[timeline]]\nevent = "low_perfusion"\nat = "09:01"\nuntil = "09:04"',
        ),
        [],
    ),
    "af": (
        home(
            'start = "09:00"\nduration = "00:20"\nspeed = 30',
            WEARABLES,
            '[[timeline]]\nevent = "af"\nat = "09:02"\nuntil = "09:15"\nrate = 105',
        ),
        ["atrial_fibrillation"],
    ),
    "not_worn": (
        home(
            'start = "09:00"\nduration = "00:06"\nspeed = 30',
            WEARABLES,
            '[[timeline]]\nevent = "not_worn"\nat = "09:01"\nuntil = "09:04"',
        ),
        ["not_worn"],
    ),
    "out_of_range": (
        home(
            'start = "09:00"\nduration = "00:20"\nspeed = 30',
            WEARABLES,
            '[[timeline]]\nevent = "fault"\nfault = "out_of_range"\ndevice = "oximeter"\n'
            'at = "09:02"\nuntil = "09:15"',
        ),
        ["no_data"],
    ),
    "contact_lost": (
        home(
            'start = "09:00"\nduration = "00:06"\nspeed = 30',
            WEARABLES,
            '[[timeline]]\nevent = "fault"\nfault = "contact_lost"\ndevice = "strap"\n'
            'at = "09:01"\nuntil = "09:04"',
        ),
        ["not_worn"],
    ),
    "nan_readings": (
        home(
            'start = "09:00"\nduration = "00:06"\nspeed = 30',
            WEARABLES,
            '[[timeline]]\nevent = "fault"\nfault = "nan_readings"\ndevice = "oximeter"\n'
            'at = "09:01"\nuntil = "09:04"',
        ),
        [],
    ),
    # At a low speed: a resent frame follows its original within milliseconds of wall
    # time, and the gateway's repeat window is 250 ms of the (simulated) clock.
    "duplicate_notifications": (
        home(
            'start = "09:00"\nduration = "00:03"\nspeed = 4',
            WEARABLES,
            '[[timeline]]\nevent = "fault"\nfault = "duplicate_notifications"\ndevice = "strap"\n'
            'at = "09:00:30"\nuntil = "09:02:30"',
        ),
        [],
    ),
    "sos": (
        home(
            'start = "09:00"\nduration = "00:04"\nspeed = 30',
            WEARABLES + '\n[[devices]]\nkind = "bthome_button"\nid = "sos"\n'
            'bind_key = "00112233445566778899aabbccddeeff"',
            '[[timeline]]\nevent = "sos"\nat = "09:01"\npress = "long_press"',
        ),
        ["sos"],
    ),
    "fall": (
        home(
            'start = "10:40"\nduration = "00:06"\nspeed = 5',
            '[[devices]]\nkind = "accelerometer_wearable"\nid = "waist"',
            '[[timeline]]\nevent = "fall"\nat = "10:41"\nlie_minutes = 3',
        ),
        ["fall", "long_lie"],
    ),
    "no_rising": (
        home(
            'start = "06:00"\nduration = "03:45"\nspeed = 300',
            '[[devices]]\nkind = "bthome_bed"\nid = "bed"\n\n'
            '[[devices]]\nkind = "bthome_motion"\nid = "bedroom-motion"',
            '[[timeline]]\nevent = "no_rising"\nuntil = "09:30"',
        ),
        ["late_rising"],
    ),
    "wandering": (
        home(
            'start = "01:30"\nduration = "02:00"\nspeed = 120',
            '[[devices]]\nkind = "bthome_bed"\nid = "bed"\n\n'
            '[[devices]]\nkind = "bthome_motion"\nid = "hall-motion"\n\n'
            '[[devices]]\nkind = "bthome_door"\nid = "front-door"',
            '[[timeline]]\nevent = "wandering"\nat = "02:10"\nuntil = "02:40"',
        ),
        ["night_wandering"],
    ),
    "an ordinary morning": (
        home(
            'start = "09:00"\nduration = "00:20"\nspeed = 20',
            WEARABLES + '\n[[devices]]\nkind = "accelerometer_wearable"\nid = "waist"\n\n'
            '[[devices]]\nkind = "bthome_motion"\nid = "kitchen-motion"\n\n'
            '[[devices]]\nkind = "bthome_bed"\nid = "bed"\n\n'
            '[[devices]]\nkind = "bthome_door"\nid = "front-door"',
            "",
        ),
        [],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_the_scenario_raises_its_alert_and_no_other(
    case: str, mosquitto: tuple[str, int], topic_root: str, tmp_path: Path
) -> None:
    text, expected = CASES[case]
    played = await play(
        scenario(text),
        mosquitto,
        topic_root,
        tmp_path,
        analytics=AnalyticsConfig(long_lie_s=60) if case == "fall" else None,
    )
    raised = [(a.kind, played.clock_of(a), a.message) for a in played.alerts]
    assert played.kinds == expected, raised
    for alert in played.alerts:
        assert alert.evidence is not None, alert
        assert alert.evidence["window_start_ms"] <= alert.evidence["window_end_ms"]
    assert played.gateway.counters["rejected_frames"] == 0
    if case == "duplicate_notifications":  # the repeats were there, and recorded once
        resent = played.runner.devices["strap"].resent
        assert resent > 100
        assert played.gateway.counters["repeated_notifications"] == resent
