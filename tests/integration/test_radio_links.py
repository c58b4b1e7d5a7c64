"""The gateway's radio managing its links over bumble's virtual radio: scan modes, only
bound devices, bounded retries, exactly-once notifications across reconnects, and GATT
tables cached between connections (and across a gateway restart)."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest
from bumble.device import Device
from bumble.gatt import Characteristic, Service

from anxin.config import DeviceBindingConfig, EdgeConfig, GatewayConfig, MqttConfig
from anxin.devices.catalogue import BATTERY_SERVICE, DEVICE_INFORMATION_SERVICE
from anxin.devices.gatt import (
    BATTERY_LEVEL,
    HEART_RATE_MEASUREMENT,
    HeartRateMeasurement,
    SensorContact,
    decode_heart_rate_measurement,
    encode_battery_level,
    encode_heart_rate_measurement,
)
from anxin.edge.gateway import Gateway
from anxin.edge.gatt_cache import GattCache
from anxin.edge.radio import Backoff, BoundDevice, BumbleRadio, Notification
from anxin.firmware_sim import ScaledClock, SimulatedPerson, VirtualHome
from anxin.firmware_sim.simulated import HeartRateStrap, _uuid
from tests.support.waiting import eventually

DISCOVERY_PDUS = {
    "att_read_by_group_type_request",
    "att_find_by_type_value_request",
    "att_read_by_type_request",
    "att_find_information_request",
}


class CountingStrap(HeartRateStrap):
    """A strap whose every notification is unique (a sequence number in its RR interval)
    and which records what it sent to a subscribed gateway; ``paused`` stops sending."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.seq = 0
        self.delivered: list[int] = []
        self.paused = False
        self.att_requests: Counter[str] = Counter()

    def _setup_gatt(self, device: Device) -> None:
        super()._setup_gatt(device)
        server = device.gatt_server
        original = server.on_gatt_pdu

        def counting(bearer, pdu) -> None:
            self.att_requests[pdu.name.lower()] += 1
            original(bearer, pdu)

        server.on_gatt_pdu = counting  # type: ignore[method-assign]

    def discoveries(self) -> int:
        return sum(n for name, n in self.att_requests.items() if name in DISCOVERY_PDUS)

    def subscribed_links(self) -> int:
        assert self.device is not None
        handle = self.hr_char.handle
        return sum(
            1
            for cccds in self.device.gatt_server.subscribers.values()
            if cccds.get(handle, b"\0\0")[0] & 1
        )

    async def _tick(self, t_s: float) -> None:
        if self.paused or self.device is None or not self.device.connections:
            return
        self.seq += 1
        frame = encode_heart_rate_measurement(
            HeartRateMeasurement(
                heart_rate=70, sensor_contact=SensorContact.DETECTED, rr_intervals_1024=(self.seq,)
            )
        )
        self.delivered.extend([self.seq] * self.subscribed_links())
        await self.device.notify_subscribers(self.hr_char, frame)


class UpdatedStrap(CountingStrap):
    """The same strap after a firmware update that added a service in front: every
    handle of the heart-rate characteristic moved."""

    def _setup_gatt(self, device: Device) -> None:
        device.add_services(
            [
                Service(
                    _uuid(DEVICE_INFORMATION_SERVICE),
                    [
                        Characteristic(
                            _uuid(0x2A26),
                            Characteristic.Properties.READ,
                            Characteristic.READABLE,
                            b"2.0.0",
                        )
                    ],
                )
            ]
        )
        super()._setup_gatt(device)


class StrapWithoutHeartRate(HeartRateStrap):
    """Advertises as a strap but its table lacks the Heart Rate service: set-up fails."""

    def _setup_gatt(self, device: Device) -> None:
        self.hr_char = Characteristic(
            _uuid(BATTERY_LEVEL),
            Characteristic.Properties.READ,
            Characteristic.READABLE,
            encode_battery_level(50),
        )
        device.add_services([Service(_uuid(BATTERY_SERVICE), [self.hr_char])])

    async def _tick(self, t_s: float) -> None:
        pass


def counting_home(speed: float = 20.0) -> tuple[VirtualHome, CountingStrap]:
    home = VirtualHome(clock=ScaledClock(speed=speed), home_number=7)
    strap = CountingStrap(
        home.link, "C0:A1:07:00:00:01", SimulatedPerson(seed=3), device_id="strap", clock=home.clock
    )
    home._add(strap)
    return home, strap


def bound(*devices) -> list[BoundDevice]:
    return [BoundDevice(d.device_id, d.address, d.kind) for d in devices]


def sequences(notifications: list[Notification]) -> list[int]:
    return [
        decode_heart_rate_measurement(n.payload).rr_intervals_1024[0]
        for n in notifications
        if n.characteristic == HEART_RATE_MEASUREMENT
    ]


async def drop_link_from_device(strap: CountingStrap, radio: BumbleRadio) -> None:
    """The device ends the link (as a wearable does walking away or rebooting), with no
    notification in flight, and waits for the gateway to reconnect and subscribe."""
    strap.paused = True
    await asyncio.sleep(0.2)
    assert strap.device is not None
    for connection in list(strap.device.connections.values()):
        await connection.disconnect()
    await eventually(lambda: radio.device_states()["strap"] == "reconnecting", what="link lost")
    await eventually(lambda: strap.subscribed_links() == 1, what="resubscribed")
    strap.paused = False


# -- scanning ----------------------------------------------------------------------------


@pytest.fixture
def scan_types(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The scan type (0 passive, 1 active) the gateway's host asks its controller for."""
    from bumble.controller import Controller

    seen: list[int] = []
    original = Controller.on_hci_le_set_extended_scan_parameters_command

    def recording(self, command):
        if self.name == "anxin-gateway":
            seen.extend(command.scan_types)
        return original(self, command)

    monkeypatch.setattr(Controller, "on_hci_le_set_extended_scan_parameters_command", recording)
    return seen


@pytest.mark.parametrize(
    ("mode", "expected", "scan_type"), [("auto", "passive", 0), ("active", "active", 1)]
)
async def test_scanning_passively_still_hears_sensors_and_connects_wearables(
    mode: str, expected: str, scan_type: int, scan_types: list[int]
) -> None:
    home = VirtualHome(clock=ScaledClock(speed=20))
    strap = home.add_heart_rate_strap(SimulatedPerson(seed=1), device_id="strap")
    motion = home.add_motion_sensor(device_id="motion")
    await home.start()
    radio = BumbleRadio(home.link, scan_mode=mode)  # type: ignore[arg-type]
    notes: list[Notification] = []
    adverts: list = []
    try:
        await radio.start(bound(strap, motion), notes.append, adverts.append)
        assert radio.scan_mode_in_effect == expected
        assert scan_types and set(scan_types) == {scan_type}
        await eventually(lambda: len(adverts) >= 3 and len(notes) >= 3, what="data")
        assert radio.device_states() == {"strap": "connected", "motion": "advertising"}
    finally:
        await radio.stop()
        await home.stop()
    assert radio.scan_mode_in_effect is None


def test_an_unknown_scan_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="scan_mode"):
        BumbleRadio(object(), scan_mode="sometimes")  # type: ignore[arg-type]


# -- only bound devices, bounded retries -------------------------------------------------


async def test_an_unbound_device_is_neither_reported_nor_connected_to() -> None:
    home = VirtualHome(clock=ScaledClock(speed=20))
    person = SimulatedPerson(seed=2)
    mine = home.add_heart_rate_strap(person, device_id="strap")
    neighbours_strap = home.add_heart_rate_strap(person, device_id="neighbour-strap")
    neighbours_sensor = home.add_motion_sensor(device_id="neighbour-motion")
    await home.start()
    assert neighbours_strap.device is not None
    links_to_neighbour: list[object] = []
    neighbours_strap.device.on("connection", links_to_neighbour.append)
    radio = BumbleRadio(home.link)
    notes: list[Notification] = []
    adverts: list = []
    try:
        await radio.start(bound(mine), notes.append, adverts.append)
        await eventually(lambda: len(notes) >= 10, what="the bound strap's data")
        # The neighbour's devices advertised all along (several times a second).
        assert neighbours_strap.device.is_advertising
        assert neighbours_sensor.sent > 0
    finally:
        await radio.stop()
        await home.stop()
    assert links_to_neighbour == []
    assert set(radio.connect_attempts) == {mine.address}
    assert {n.device_id for n in notes} == {"strap"} and adverts == []
    assert set(radio.device_states()) == {"strap"}


@pytest.mark.slow
async def test_failed_connections_stop_after_a_burst_until_the_device_is_heard_again() -> None:
    home = VirtualHome(clock=ScaledClock(speed=20))
    broken = StrapWithoutHeartRate(
        home.link, "C0:A1:01:00:00:05", SimulatedPerson(), device_id="strap", clock=home.clock
    )
    home._add(broken)
    await home.start()
    radio = BumbleRadio(
        home.link,
        backoff=Backoff(initial_s=0.05, maximum_s=0.2, max_attempts=3),
        connect_timeout_s=0.5,
    )
    try:
        await radio.start(bound(broken), lambda n: None, lambda a: None)
        await eventually(lambda: radio.counters["connect_failures"] >= 3, what="a failed burst")
        await broken.set_in_range(False)
        # The burst under way ends (its attempts time out on a silent device) ...
        await asyncio.sleep(3.0)
        attempts = radio.connect_attempts[broken.address]
        assert attempts % 3 == 0, attempts  # whole bursts of max_attempts, never more
        # ... and nothing more is tried while the device is not heard.
        await asyncio.sleep(2.0)
        assert radio.connect_attempts[broken.address] == attempts
        assert radio.device_states()["strap"] == "connecting"
        await broken.set_in_range(True)
        await eventually(
            lambda: radio.connect_attempts[broken.address] > attempts, what="a new burst"
        )
    finally:
        await radio.stop()
        await home.stop()
    assert radio.counters["gatt_discoveries"] == 0  # set-up failed every time


# -- re-subscription and cached GATT tables ----------------------------------------------


@pytest.mark.services
async def test_each_notification_reaches_the_gateway_once_across_reconnects(
    mosquitto: tuple[str, int], topic_root: str, tmp_path: Path
) -> None:
    home, strap = counting_home()
    await home.start()
    config = EdgeConfig(
        gateway=GatewayConfig(
            site_id="home-7", gateway_id="gw-7", topic_root=topic_root, queue_path=tmp_path / "q"
        ),
        mqtt=MqttConfig(host=mosquitto[0], port=mosquitto[1]),
        devices=(DeviceBindingConfig(device_id="strap", address=strap.address, kind=strap.kind),),
    )
    radio = BumbleRadio(home.link, backoff=Backoff(initial_s=0.05, maximum_s=0.5))
    gateway = Gateway(config, radio)
    received: list[Notification] = []
    original = gateway.on_notification

    def counting(notification: Notification) -> None:
        received.append(notification)
        original(notification)

    gateway.on_notification = counting  # type: ignore[method-assign]
    await gateway.start()
    try:
        await eventually(lambda: len(received) >= 5, what="first notifications")
        for drop in range(3):
            await drop_link_from_device(strap, radio)
            await eventually(
                lambda drop=drop: len(received) >= 5 * (drop + 2),
                what=f"notifications after drop {drop}",
            )
        strap.paused = True
        await asyncio.sleep(0.3)
    finally:
        await gateway.stop()
        await home.stop()
    got = sequences(received)
    assert got == strap.delivered  # every one, once, in order
    assert len(set(got)) == len(got)
    assert gateway.counters["repeated_notifications"] == 0
    assert gateway.counters["observations"] >= len(got)


async def test_a_reconnect_subscribes_through_cached_handles_without_discovery() -> None:
    home, strap = counting_home()
    await home.start()
    radio = BumbleRadio(home.link, backoff=Backoff(initial_s=0.05, maximum_s=0.5))
    received: list[Notification] = []
    try:
        await radio.start(bound(strap), received.append, lambda a: None)
        await eventually(lambda: len(received) >= 3, what="first notifications")
        first_discovery = strap.discoveries()
        assert first_discovery > 0
        for _ in range(2):
            await drop_link_from_device(strap, radio)
        count = len(received)
        await eventually(lambda: len(received) >= count + 3, what="notifications again")
        assert strap.discoveries() == first_discovery  # no ATT discovery request since
        assert strap.att_requests["att_read_request"] >= 2  # one declaration check a link
        assert radio.counters["gatt_discoveries"] == 1
        assert radio.counters["gatt_cache_hits"] == 2
    finally:
        await radio.stop()
        await home.stop()


async def test_a_changed_gatt_table_is_rediscovered_and_subscribed_once() -> None:
    home, strap = counting_home()
    await home.start()
    radio = BumbleRadio(home.link, backoff=Backoff(initial_s=0.05, maximum_s=0.5))
    received: list[Notification] = []
    try:
        await radio.start(bound(strap), received.append, lambda a: None)
        await eventually(lambda: len(received) >= 3, what="first notifications")
        strap.paused = True
        await asyncio.sleep(0.2)
        before = len(received)
        await strap.stop()  # the firmware update
        updated = UpdatedStrap(
            home.link, strap.address, strap.person, device_id="strap", clock=home.clock
        )
        home.devices[0] = updated
        await updated.start()
        await eventually(lambda: len(received) >= before + 5, what="the updated strap's data")
        updated.paused = True
        await asyncio.sleep(0.3)
    finally:
        await radio.stop()
        await home.stop()
    assert updated.hr_char.handle != strap.hr_char.handle
    assert sequences(received[before:]) == updated.delivered
    assert updated.discoveries() > 0
    assert radio.counters["gatt_cache_stale"] == 1
    assert radio.counters["gatt_discoveries"] == 2


async def test_a_restarted_gateway_skips_discovery_with_the_saved_cache(tmp_path: Path) -> None:
    home, strap = counting_home()
    await home.start()
    path = tmp_path / "gatt-cache.json"
    try:
        for run in range(2):
            radio = BumbleRadio(home.link, gatt_cache=GattCache(path))
            received: list[Notification] = []
            await radio.start(bound(strap), received.append, lambda a: None)
            try:
                await eventually(
                    lambda got=received: len(got) >= 3, what=f"notifications in run {run}"
                )
            finally:
                await radio.stop()
            if run == 0:
                discovered = strap.discoveries()
                assert discovered > 0 and path.exists()
        assert strap.discoveries() == discovered
        assert radio.counters["gatt_cache_hits"] == 1
    finally:
        await home.stop()
