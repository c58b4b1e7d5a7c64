"""Simulated waist-worn accelerometer: a GATT server on Anxin's 128-bit custom service
notifying 10 samples (50 Hz) five times per simulated second."""

from __future__ import annotations

import numpy as np
from bumble.core import UUID
from bumble.device import Device
from bumble.gatt import Characteristic, Service
from bumble.link import LocalLink

from anxin.devices.accelerometer import (
    ACCELERATION_SAMPLES,
    ACCELEROMETER_SERVICE,
    ATT_MTU,
    SAMPLE_RATE_HZ,
    SAMPLES_PER_FRAME,
    AccelerometerFrame,
    encode_accelerometer_frame,
    frame_from_g,
)
from anxin.devices.advertising import (
    AD_COMPLETE_LOCAL_NAME,
    AD_FLAGS,
    FLAGS_LE_GENERAL_DISCOVERABLE_BR_EDR_NOT_SUPPORTED,
    build_ad,
)
from anxin.devices.catalogue import BATTERY_SERVICE
from anxin.devices.gatt import BATTERY_LEVEL, encode_battery_level
from anxin.devices.uuids import uuid_string

from .motion_model import WaistMotionModel
from .simulated import _GattPeripheral

AD_COMPLETE_128_BIT_UUIDS = 0x07
MAX_FRAMES_PER_TICK = 5  # after a stall, catch up at most this much; older samples are lost


def bumble_uuid(value: int) -> UUID:
    return UUID.from_16_bits(value) if value <= 0xFFFF else UUID(uuid_string(value))


class AccelerometerWearable(_GattPeripheral):
    """Anxin Motion service notifying Acceleration Samples frames.

    The motion model runs on simulated time: each tick takes the samples that fell due
    since the last one, so the sample rate holds whatever the tick jitter.
    """

    kind = "accelerometer_wearable"
    battery_drain_pct_per_day = 30.0  # rechargeable, streaming all day
    range_g = 16

    def __init__(
        self,
        link: LocalLink,
        address: str,
        motion: WaistMotionModel | None = None,
        **kw,
    ) -> None:
        kw.setdefault("name", "Anxin Motion")
        kw.setdefault("interval_s", SAMPLES_PER_FRAME / SAMPLE_RATE_HZ)
        super().__init__(link, address, **kw)
        self.motion = motion or WaistMotionModel()
        self.sequence = 0
        self.last_frame: AccelerometerFrame | None = None
        self._t0: float | None = None
        self._pending = np.empty((0, 3))

    def trigger_fall(self) -> None:
        self.motion.trigger_fall()

    def _setup_gatt(self, device: Device) -> None:
        device.gatt_server.max_mtu = ATT_MTU
        self.samples_char = Characteristic(
            bumble_uuid(ACCELERATION_SAMPLES),
            Characteristic.Properties.NOTIFY,
            Characteristic.READABLE,
            bytes(4),
        )
        self.battery_char = Characteristic(
            bumble_uuid(BATTERY_LEVEL),
            Characteristic.Properties.READ,
            Characteristic.READABLE,
            encode_battery_level(self.battery_pct),
        )
        device.add_services(
            [
                Service(bumble_uuid(ACCELEROMETER_SERVICE), [self.samples_char]),
                Service(bumble_uuid(BATTERY_SERVICE), [self.battery_char]),
            ]
        )

    async def _advertise(self) -> None:
        assert self.device is not None
        if not self.in_range or self.device.connections:
            return
        # Flags + a 128-bit UUID fill 21 of the 31 bytes: the name goes in the scan response.
        await self.device.start_advertising(
            advertising_data=build_ad(
                [
                    (AD_FLAGS, bytes([FLAGS_LE_GENERAL_DISCOVERABLE_BR_EDR_NOT_SUPPORTED])),
                    (
                        AD_COMPLETE_128_BIT_UUIDS,
                        ACCELEROMETER_SERVICE.to_bytes(16, "little"),
                    ),
                ]
            ),
            scan_response_data=build_ad([(AD_COMPLETE_LOCAL_NAME, self.name.encode())]),
            advertising_interval_min=self.advertising_interval_ms,
            advertising_interval_max=self.advertising_interval_ms,
        )

    def take_frames(self, t_s: float) -> list[AccelerometerFrame]:
        """Frames of samples due by ``t_s`` (simulated), advancing the motion model."""
        if self._t0 is None:
            self._t0 = t_s - self.interval_s
        due = round((t_s - self._t0) * SAMPLE_RATE_HZ) - self.motion.sample_index
        if due > 0:
            self._pending = np.vstack([self._pending, self.motion.advance(due)])
        keep = MAX_FRAMES_PER_TICK * SAMPLES_PER_FRAME
        if len(self._pending) > keep:
            self._pending = self._pending[-keep:]
        frames = []
        while len(self._pending) >= SAMPLES_PER_FRAME:
            chunk, self._pending = (
                self._pending[:SAMPLES_PER_FRAME],
                self._pending[SAMPLES_PER_FRAME:],
            )
            frames.append(frame_from_g(self.sequence, chunk.tolist(), self.range_g))
            self.sequence = (self.sequence + 1) & 0xFFFF
        return frames

    async def _tick(self, t_s: float) -> None:
        assert self.device is not None
        frames = self.take_frames(t_s)
        if not self.device.connections:
            return
        for frame in frames:
            self.last_frame = frame
            await self._notify(self.samples_char, encode_accelerometer_frame(frame))
