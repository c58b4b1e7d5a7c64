"""Simulated spot-measurement devices: BP cuff, thermometer, weight scale, glucose meter
and spot-check pulse oximeter, as real bumble GATT servers.

They take a reading now and then (``readings_per_day`` at jittered times of the
injectable clock) or when told to (``await device.measure_now()``), stamp it with
their own real-time clock (which may reset to 2000-01-01), store it, and deliver
stored readings oldest first whenever the gateway is subscribed: by indication
for the characteristics the profiles define as indicated, as real devices that
keep a memory of readings do. A reading taken while nobody listens is not lost.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from typing import Any, ClassVar

from bumble.device import Device
from bumble.gatt import Characteristic, Service
from bumble.link import LocalLink

from anxin.devices.blood_pressure import (
    BLOOD_PRESSURE_FEATURE,
    BLOOD_PRESSURE_MEASUREMENT,
    INTERMEDIATE_CUFF_PRESSURE,
    BloodPressureMeasurement,
    BloodPressureStatus,
    IntermediateCuffPressure,
    encode_blood_pressure_measurement,
    encode_intermediate_cuff_pressure,
)
from anxin.devices.catalogue import (
    BATTERY_SERVICE,
    BLOOD_PRESSURE_SERVICE,
    DEVICE_INFORMATION_SERVICE,
    GLUCOSE_SERVICE,
    HEALTH_THERMOMETER_SERVICE,
    PULSE_OXIMETER_SERVICE,
    WEIGHT_SCALE_SERVICE,
)
from anxin.devices.date_time import DateTime
from anxin.devices.gatt import BATTERY_LEVEL, PlxMeasurementStatus, encode_battery_level
from anxin.devices.glucose import (
    GLUCOSE_FEATURE,
    GLUCOSE_MEASUREMENT,
    GlucoseMeasurement,
    GlucoseSampleLocation,
    GlucoseSampleType,
    encode_glucose_measurement,
)
from anxin.devices.plx_spot import (
    PLX_SPOT_CHECK_MEASUREMENT,
    PlxSpotCheckMeasurement,
    encode_plx_spot_check_measurement,
)
from anxin.devices.thermometer import (
    TEMPERATURE_MEASUREMENT,
    TEMPERATURE_TYPE,
    TemperatureMeasurement,
    TemperatureType,
    encode_temperature_measurement,
    encode_temperature_type,
)
from anxin.devices.weight import (
    WEIGHT_MEASUREMENT,
    WEIGHT_SCALE_FEATURE,
    WeightMeasurement,
    encode_weight_measurement,
)

from .physiology import SimulatedPerson
from .simulated import _GattPeripheral, _uuid
from .spot_models import (
    DAY_S,
    BloodPressureModel,
    BodyTemperatureModel,
    DeviceClock,
    GlucoseModel,
    WeightModel,
)

logger = logging.getLogger(__name__)

PLX_FEATURES = 0x2A60
MAX_STORED_READINGS = 100


def _read_only(uuid: int, value: bytes) -> Characteristic:
    return Characteristic(
        _uuid(uuid), Characteristic.Properties.READ, Characteristic.READABLE, value
    )


def _streamed(uuid: int, indicate: bool) -> Characteristic:
    properties = (
        Characteristic.Properties.INDICATE if indicate else Characteristic.Properties.NOTIFY
    )
    return Characteristic(_uuid(uuid), properties, Characteristic.READABLE, b"")


class SpotMeasuringDevice(_GattPeripheral):
    """Base for devices that measure occasionally and keep unsent readings."""

    measurement_uuid: ClassVar[int]
    indicates: ClassVar[bool] = True
    battery_drain_pct_per_day = 0.1  # AA cells, months of use

    def __init__(
        self,
        link: LocalLink,
        address: str,
        *,
        readings_per_day: float = 1.0,
        seed: int = 0,
        device_clock: DeviceClock | None = None,
        clock_reset_probability: float = 0.0,
        **kw: Any,
    ) -> None:
        if readings_per_day <= 0:
            raise ValueError("readings_per_day must be positive")
        kw.setdefault("interval_s", DAY_S / readings_per_day)
        super().__init__(link, address, **kw)
        self.rng = random.Random(seed)
        self.device_clock = device_clock or DeviceClock()
        self.clock_reset_probability = clock_reset_probability
        self.stored: deque[bytes] = deque(maxlen=MAX_STORED_READINGS)
        self.readings: list[Any] = []  # every reading taken, typed
        self._flush_lock = asyncio.Lock()
        self.measurement_char: Characteristic | None = None
        self._radio_lock = asyncio.Lock()
        self._stopping = False

    # -- radio -------------------------------------------------------------------------
    # The gateway's disconnect makes us advertise again (from a spawned task) while
    # stop() may already be tearing advertising down; bumble's advertising set does not
    # survive the two interleaving, so they take turns, and nothing restarts on stop.

    async def stop(self) -> None:
        self._stopping = True
        try:
            await super().stop()
        finally:
            self._stopping = False

    async def _advertise(self) -> None:
        async with self._radio_lock:
            if not self._stopping:
                await super()._advertise()

    async def _quiet_radio(self) -> None:
        async with self._radio_lock:
            await super()._quiet_radio()

    # -- subclass hooks ----------------------------------------------------------------

    def _profile_characteristics(self) -> list[Characteristic]:
        """Characteristics of the profile's service after the measurement one."""
        return []

    def _extra_services(self) -> list[Service]:
        return []

    async def _measure(self, t_s: float, stamp: DateTime) -> Any:
        raise NotImplementedError

    def _encode(self, measurement: Any) -> bytes:
        raise NotImplementedError

    # -- GATT --------------------------------------------------------------------------

    def _setup_gatt(self, device: Device) -> None:
        self.measurement_char = _streamed(self.measurement_uuid, self.indicates)
        self.measurement_char.on(Characteristic.EVENT_SUBSCRIPTION, self._on_subscription)
        self.battery_char = _read_only(BATTERY_LEVEL, encode_battery_level(self.battery_pct))
        device.add_services(
            [
                Service(
                    _uuid(self.service_uuids[0]),
                    [self.measurement_char, *self._profile_characteristics()],
                ),
                *self._extra_services(),
                Service(_uuid(BATTERY_SERVICE), [self.battery_char]),
            ]
        )

    def _on_subscription(self, _bearer: object, notify: bool, indicate: bool) -> None:
        if notify or indicate:
            self._spawn(self._flush_logged())

    def _subscribed(self, characteristic: Characteristic) -> bool:
        if self.device is None or not self.device.connections or not self.in_range:
            return False
        for cccds in self.device.gatt_server.subscribers.values():
            cccd = cccds.get(characteristic.handle, b"\x00\x00")
            if cccd and cccd[0] & 0x03:
                return True
        return False

    async def _send(self, characteristic: Characteristic, payload: bytes, indicate: bool) -> None:
        assert self.device is not None
        for frame in self._filtered(characteristic.uuid, payload):
            heard = self._subscribed(characteristic)
            if indicate:
                await self.device.indicate_subscribers(characteristic, frame)
            else:
                await self.device.notify_subscribers(characteristic, frame)
            self.sent += 1
            if heard:
                self._on_air(characteristic.uuid, frame)

    async def _flush(self) -> None:
        assert self.measurement_char is not None
        async with self._flush_lock:
            while self.stored and self._subscribed(self.measurement_char):
                await self._send(self.measurement_char, self.stored[0], self.indicates)
                self.stored.popleft()  # only once sent: a dropped link keeps it for later

    async def _flush_logged(self) -> None:
        try:
            await self._flush()
        except Exception:
            logger.debug("%s: delivery failed; kept for later", self.device_id, exc_info=True)

    # -- measuring ---------------------------------------------------------------------

    async def measure_now(self) -> Any:
        """Take a reading now, store it and deliver what is stored if subscribed."""
        t_s = self.clock.now()
        self._drain_battery(t_s)
        if self.clock_reset_probability and self.rng.random() < self.clock_reset_probability:
            self.device_clock.reset(t_s)
        stamp = DateTime.from_datetime(self.device_clock.now(t_s))
        measurement = await self._measure(t_s, stamp)
        self.readings.append(measurement)
        self.stored.append(self._encode(measurement))
        await self._flush_logged()
        return measurement

    async def _run(self) -> None:
        while True:
            await self.clock.sleep(self.interval_s * self.rng.uniform(0.5, 1.5))
            if not self.in_range:
                continue
            try:
                await self.measure_now()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.debug("%s: measurement failed", self.device_id, exc_info=True)


class BloodPressureCuff(SpotMeasuringDevice):
    """Blood Pressure service (0x1810): indicates 0x2A35 with a device time stamp, pulse
    rate, user id and measurement status; notifies 0x2A36 while the cuff inflates and
    deflates. ``person`` supplies the pulse, ``model`` the pressures."""

    kind = "blood_pressure_cuff"
    service_uuids = (BLOOD_PRESSURE_SERVICE,)
    measurement_uuid = BLOOD_PRESSURE_MEASUREMENT
    INFLATION_STEP_S = 1.0

    def __init__(
        self,
        link: LocalLink,
        address: str,
        person: SimulatedPerson | None = None,
        *,
        model: BloodPressureModel | None = None,
        kpa: bool = False,
        user_id: int = 1,
        **kw: Any,
    ) -> None:
        kw.setdefault("name", "Anxin BP Cuff")
        kw.setdefault("readings_per_day", 3.0)
        kw.setdefault("clock_reset_probability", 0.05)
        super().__init__(link, address, **kw)
        self.person = person
        self.model = model or BloodPressureModel(seed=self.rng.randrange(1 << 30))
        self.kpa = kpa
        self.user_id = user_id
        self.cuff_char: Characteristic | None = None

    def _profile_characteristics(self) -> list[Characteristic]:
        self.cuff_char = _streamed(INTERMEDIATE_CUFF_PRESSURE, indicate=False)
        # feature bits: body movement, cuff fit, irregular pulse, pulse range, position
        features = (0x001F).to_bytes(2, "little")
        return [self.cuff_char, _read_only(BLOOD_PRESSURE_FEATURE, features)]

    def _extra_services(self) -> list[Service]:
        return [
            Service(
                _uuid(DEVICE_INFORMATION_SERVICE),
                [
                    _read_only(0x2A29, b"Anxin Simulated"),
                    _read_only(0x2A24, b"BP-1"),
                    _read_only(0x2A26, b"1.0.0"),
                ],
            )
        ]

    async def _measure(self, t_s: float, stamp: DateTime) -> BloodPressureMeasurement:
        reading = self.model.reading(t_s)
        pulse = 72.0
        if self.person is not None:
            pulse = float(round(self.person.sample(t_s, t_s).heart_rate_bpm))
        await self._inflate_and_deflate(reading.systolic_mmhg, reading.diastolic_mmhg)
        status = BloodPressureStatus(body_movement=self.rng.random() < 0.05)
        return BloodPressureMeasurement(
            systolic=reading.systolic_mmhg,
            diastolic=reading.diastolic_mmhg,
            mean_arterial_pressure=float(round(reading.mean_arterial_mmhg)),
            timestamp=stamp,
            pulse_rate=pulse,
            user_id=self.user_id,
            status=status,
            reported_in_kpa=self.kpa,
        )

    async def _inflate_and_deflate(self, systolic: float, diastolic: float) -> None:
        """Cuff pressure up to 30 mmHg above systolic, then down past diastolic."""
        assert self.cuff_char is not None or self.device is None
        top = systolic + 30.0
        pressures = [top * k / 4 for k in range(1, 5)]
        pressures += [top - (top - diastolic + 10.0) * k / 4 for k in range(1, 5)]
        for pressure in pressures:
            if self.cuff_char is not None and self._subscribed(self.cuff_char):
                frame = encode_intermediate_cuff_pressure(
                    IntermediateCuffPressure(float(round(pressure)), reported_in_kpa=self.kpa)
                )
                try:
                    await self._send(self.cuff_char, frame, indicate=False)
                except Exception:
                    logger.debug("%s: cuff pressure not sent", self.device_id, exc_info=True)
            await self.clock.sleep(self.INFLATION_STEP_S)

    def _encode(self, measurement: BloodPressureMeasurement) -> bytes:
        return encode_blood_pressure_measurement(measurement)


class Thermometer(SpotMeasuringDevice):
    """Health Thermometer service (0x1809): indicates 0x2A1C, in °F for a share of
    readings (a household thermometer switched to °F) so conversion is exercised."""

    kind = "thermometer"
    service_uuids = (HEALTH_THERMOMETER_SERVICE,)
    measurement_uuid = TEMPERATURE_MEASUREMENT

    def __init__(
        self,
        link: LocalLink,
        address: str,
        *,
        model: BodyTemperatureModel | None = None,
        fahrenheit_share: float = 0.2,
        temperature_type: TemperatureType = TemperatureType.TYMPANUM,
        **kw: Any,
    ) -> None:
        kw.setdefault("name", "Anxin Thermometer")
        super().__init__(link, address, **kw)
        self.model = model or BodyTemperatureModel(seed=self.rng.randrange(1 << 30))
        self.fahrenheit_share = fahrenheit_share
        self.temperature_type = temperature_type

    def _profile_characteristics(self) -> list[Characteristic]:
        return [_read_only(TEMPERATURE_TYPE, encode_temperature_type(self.temperature_type))]

    async def _measure(self, t_s: float, stamp: DateTime) -> TemperatureMeasurement:
        return TemperatureMeasurement(
            celsius=self.model.reading(t_s),
            timestamp=stamp,
            temperature_type=self.temperature_type,
            reported_in_fahrenheit=self.rng.random() < self.fahrenheit_share,
        )

    def _encode(self, measurement: TemperatureMeasurement) -> bytes:
        return encode_temperature_measurement(measurement)


class WeightScale(SpotMeasuringDevice):
    """Weight Scale service (0x181D): indicates 0x2A9D in SI units with time stamp,
    user id, BMI and height."""

    kind = "weight_scale"
    service_uuids = (WEIGHT_SCALE_SERVICE,)
    measurement_uuid = WEIGHT_MEASUREMENT

    def __init__(
        self,
        link: LocalLink,
        address: str,
        *,
        model: WeightModel | None = None,
        user_id: int = 1,
        **kw: Any,
    ) -> None:
        kw.setdefault("name", "Anxin Scale")
        super().__init__(link, address, **kw)
        self.model = model or WeightModel(seed=self.rng.randrange(1 << 30))
        self.user_id = user_id

    def _profile_characteristics(self) -> list[Characteristic]:
        # features: time stamp (bit0), multiple users (bit1), BMI (bit2); resolutions
        # 0.005 kg (bits 3-6 = 7) and 0.001 m (bits 7-9 = 3)
        features = 0x07 | 7 << 3 | 3 << 7
        return [_read_only(WEIGHT_SCALE_FEATURE, features.to_bytes(4, "little"))]

    async def _measure(self, t_s: float, stamp: DateTime) -> WeightMeasurement:
        kg, bmi = self.model.reading(t_s)
        return WeightMeasurement(kg, stamp, self.user_id, bmi, self.model.height_m)

    def _encode(self, measurement: WeightMeasurement) -> bytes:
        return encode_weight_measurement(measurement)


class GlucoseMeter(SpotMeasuringDevice):
    """Glucose service (0x1808): notifies 0x2A18 in mol/L, capillary blood from a finger,
    with an increasing sequence number. No Record Access Control Point: a real meter
    sends stored records only when the collector asks through RACP (0x2A52)."""

    kind = "glucose_meter"
    service_uuids = (GLUCOSE_SERVICE,)
    measurement_uuid = GLUCOSE_MEASUREMENT
    indicates = False

    def __init__(
        self,
        link: LocalLink,
        address: str,
        *,
        model: GlucoseModel | None = None,
        **kw: Any,
    ) -> None:
        kw.setdefault("name", "Anxin Glucose")
        kw.setdefault("readings_per_day", 4.0)
        super().__init__(link, address, **kw)
        self.model = model or GlucoseModel(seed=self.rng.randrange(1 << 30))
        self.sequence_number = 0

    def _profile_characteristics(self) -> list[Characteristic]:
        # features: low battery (bit0), sensor malfunction (bit1), sample size (bit2)
        return [_read_only(GLUCOSE_FEATURE, (0x0007).to_bytes(2, "little"))]

    async def _measure(self, t_s: float, stamp: DateTime) -> GlucoseMeasurement:
        self.sequence_number = (self.sequence_number + 1) & 0xFFFF
        return GlucoseMeasurement(
            sequence_number=self.sequence_number,
            base_time=stamp,
            time_offset_min=0,
            mmol_per_l=self.model.reading(t_s),
            sample_type=GlucoseSampleType.CAPILLARY_WHOLE_BLOOD,
            sample_location=GlucoseSampleLocation.FINGER,
            reported_in_mol_per_l=True,
        )

    def _encode(self, measurement: GlucoseMeasurement) -> bytes:
        return encode_glucose_measurement(measurement)


class SpotCheckOximeter(SpotMeasuringDevice):
    """Pulse Oximeter service (0x1822) in spot-check mode: indicates 0x2A5E with a time
    stamp and measurement status; SpO2 and pulse come from ``person``."""

    kind = "spot_check_oximeter"
    service_uuids = (PULSE_OXIMETER_SERVICE,)
    measurement_uuid = PLX_SPOT_CHECK_MEASUREMENT

    def __init__(self, link: LocalLink, address: str, person: SimulatedPerson, **kw: Any):
        kw.setdefault("name", "Anxin Spot Oximeter")
        kw.setdefault("readings_per_day", 2.0)
        super().__init__(link, address, **kw)
        self.person = person

    def _profile_characteristics(self) -> list[Characteristic]:
        # supported features: measurement status (bit0), time stamp (bit3)
        return [_read_only(PLX_FEATURES, (0x0009).to_bytes(2, "little"))]

    async def _measure(self, t_s: float, stamp: DateTime) -> PlxSpotCheckMeasurement:
        sample = self.person.sample(t_s, t_s)
        return PlxSpotCheckMeasurement(
            spo2=float(round(sample.spo2_pct)),
            pulse_rate=float(round(sample.heart_rate_bpm)),
            timestamp=stamp,
            measurement_status=PlxMeasurementStatus.VALIDATED_DATA,
        )

    def _encode(self, measurement: PlxSpotCheckMeasurement) -> bytes:
        return encode_plx_spot_check_measurement(measurement)


__all__ = [
    "BloodPressureCuff",
    "GlucoseMeter",
    "SpotCheckOximeter",
    "SpotMeasuringDevice",
    "Thermometer",
    "WeightScale",
]
