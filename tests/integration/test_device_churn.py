"""Wearables wander out of range and back, and drop their links, again and again while
streaming; one sends every notification twice for a while. The gateway reconnects and
subscribes afresh each time: every observation a device sent while the gateway was
subscribed is stored exactly once and in order, none doubled by a stale subscription."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from anxin.config import MqttConfig
from anxin.edge.gateway import Gateway
from anxin.edge.simulation import gateway_radio, simulated_home
from anxin.firmware_sim import PersonProfile, SimulatedDevice
from anxin.firmware_sim.faults import Disconnect, DuplicateNotifications
from tests.support.cloud import seeded_stores
from tests.support.sent_and_stored import (
    assert_stored_exactly_once,
    drained,
    go_quiet,
    plain_ingest,
    record_air,
    sent_readings,
    settled_stored,
    streaming_home_config,
)
from tests.support.waiting import eventually

pytestmark = [pytest.mark.services, pytest.mark.slow]
ROUNDS = 4
AWAY_S = 3.0
BACK_S = 4.0


async def wander(device: SimulatedDevice, gateway: Gateway, offset_s: float) -> int:
    """Out of range and back ``ROUNDS`` times, and one dropped link; returns how many
    times the gateway had the device connected again afterwards."""
    states = gateway.radio.device_states
    await asyncio.sleep(offset_s)
    reconnected = 0
    for round_number in range(ROUNDS):
        await device.set_in_range(False)
        await asyncio.sleep(AWAY_S)
        await device.set_in_range(True)
        await eventually(
            lambda: states()[device.device_id] == "connected" and device.is_connected,
            30,
            what=f"{device.device_id} back after round {round_number}",
        )
        reconnected += 1
        await asyncio.sleep(BACK_S)
    await Disconnect().begin(device)  # a supervision timeout mid-stream
    await eventually(
        lambda: states()[device.device_id] == "connected" and device.is_connected,
        30,
        what=f"{device.device_id} back after a dropped link",
    )
    return reconnected + 1


async def test_devices_coming_and_going_lose_and_double_nothing(
    mosquitto: tuple[str, int], postgres_url: str, topic_root: str, tmp_path: Path
) -> None:
    mqtt_config = MqttConfig(host=mosquitto[0], port=mosquitto[1])
    config = streaming_home_config(topic_root, tmp_path / "queue.sqlite", mqtt_config)
    with seeded_stores(postgres_url, homes=1) as stores:
        async with plain_ingest(stores, mqtt_config, topic_root, "churn"):
            home = simulated_home(config.devices, PersonProfile(), home_number=1)
            record_air(home)
            await home.start()
            gateway = Gateway(config, gateway_radio(home, "F0:A1:00:00:00:01"))
            try:
                await gateway.start()
                await eventually(
                    lambda: set(gateway.radio.device_states().values()) == {"connected"},
                    30,
                    what="every wearable connected",
                )
                repeats = DuplicateNotifications()
                oximeter = next(d for d in home.devices if d.kind == "pulse_oximeter")
                await repeats.begin(oximeter)
                reconnections = await asyncio.gather(
                    *(wander(d, gateway, 1.3 * i) for i, d in enumerate(home.devices))
                )
                await repeats.end(oximeter)
                await asyncio.sleep(2)
                await go_quiet(home)
                await drained(gateway)
                sent = sent_readings(home)
                repeated = gateway.counters["repeated_notifications"]
            finally:
                await gateway.stop()
                await home.stop()
            stored = await settled_stored(stores, config.gateway.gateway_id, sent)
    assert reconnections == [ROUNDS + 1] * len(home.devices)
    assert oximeter.resent > 0 and repeated > 0  # repeats went out, and the gateway saw them
    assert_stored_exactly_once(sent, stored)
