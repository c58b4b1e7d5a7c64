"""``anxin bench edge`` measures what it says, on a small home against a real Mosquitto."""

from __future__ import annotations

import pytest

from anxin.bench_edge import measure_drain, measure_live

pytestmark = [pytest.mark.services]


async def test_the_live_measure_times_every_acknowledged_message(
    mosquitto: tuple[str, int],
) -> None:
    live = await measure_live(6, 3.0, mosquitto)
    assert live["devices"] == 6
    assert live["kinds"] == {
        "heart_rate_strap": 1,
        "pulse_oximeter": 1,
        "accelerometer_wearable": 1,
        "bthome_button": 1,
        "bthome_motion": 1,
        "bthome_door": 1,
    }
    assert live["states"].get("connected") == 3
    assert live["observations_per_s"] > 0
    assert len(live["delays"]) > 0 and all(d >= 0 for d in live["delays"])
    # Every SOS press during the run raised its alert on the gateway.
    assert live["sos_presses"] >= 1 and len(live["sos_delays"]) == live["sos_presses"]
    assert live["rss_mib"] > 0 and live["total_share"] > 0


async def test_the_drain_measure_empties_the_queue_into_the_broker(
    mosquitto: tuple[str, int],
) -> None:
    drained = await measure_drain(1200, mosquitto)
    assert drained["messages"] == 1200
    assert drained["seconds"] > 0
