"""The health-profile characteristics beyond heart rate, continuous PLX and battery:
their decoders, keyed by 16-bit UUID, for ``anxin.devices.DECODERS``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .blood_pressure import (
    BLOOD_PRESSURE_MEASUREMENT,
    INTERMEDIATE_CUFF_PRESSURE,
    BloodPressureMeasurement,
    BloodPressureStatus,
    IntermediateCuffPressure,
    PulseRateRange,
    decode_blood_pressure_measurement,
    decode_intermediate_cuff_pressure,
    encode_blood_pressure_measurement,
    encode_intermediate_cuff_pressure,
)
from .body_sensor_location import (
    BODY_SENSOR_LOCATION,
    BodySensorLocation,
    SensorLocation,
    decode_body_sensor_location,
    encode_body_sensor_location,
)
from .date_time import DATE_TIME, DateTime, decode_date_time, encode_date_time
from .glucose import (
    GLUCOSE_MEASUREMENT,
    GlucoseMeasurement,
    GlucoseSampleLocation,
    GlucoseSampleType,
    GlucoseSensorStatus,
    decode_glucose_measurement,
    encode_glucose_measurement,
)
from .plx_spot import (
    PLX_SPOT_CHECK_MEASUREMENT,
    PlxSpotCheckMeasurement,
    decode_plx_spot_check_measurement,
    encode_plx_spot_check_measurement,
)
from .thermometer import (
    TEMPERATURE_MEASUREMENT,
    TEMPERATURE_TYPE,
    TemperatureMeasurement,
    TemperatureType,
    decode_temperature_measurement,
    decode_temperature_type,
    encode_temperature_measurement,
)
from .weight import (
    WEIGHT_MEASUREMENT,
    WeightMeasurement,
    decode_weight_measurement,
    encode_weight_measurement,
)

PROFILE_DECODERS: dict[int, Callable[[bytes], Any]] = {
    BODY_SENSOR_LOCATION: decode_body_sensor_location,
    DATE_TIME: decode_date_time,
    BLOOD_PRESSURE_MEASUREMENT: decode_blood_pressure_measurement,
    INTERMEDIATE_CUFF_PRESSURE: decode_intermediate_cuff_pressure,
    PLX_SPOT_CHECK_MEASUREMENT: decode_plx_spot_check_measurement,
    TEMPERATURE_MEASUREMENT: decode_temperature_measurement,
    TEMPERATURE_TYPE: decode_temperature_type,
    WEIGHT_MEASUREMENT: decode_weight_measurement,
    GLUCOSE_MEASUREMENT: decode_glucose_measurement,
}
PROFILE_NAMES: dict[str, int] = {
    "body_sensor_location": BODY_SENSOR_LOCATION,
    "date_time": DATE_TIME,
    "blood_pressure_measurement": BLOOD_PRESSURE_MEASUREMENT,
    "intermediate_cuff_pressure": INTERMEDIATE_CUFF_PRESSURE,
    "plx_spot_check_measurement": PLX_SPOT_CHECK_MEASUREMENT,
    "temperature_measurement": TEMPERATURE_MEASUREMENT,
    "temperature_type": TEMPERATURE_TYPE,
    "weight_measurement": WEIGHT_MEASUREMENT,
    "glucose_measurement": GLUCOSE_MEASUREMENT,
}

__all__ = [
    "BLOOD_PRESSURE_MEASUREMENT",
    "BODY_SENSOR_LOCATION",
    "DATE_TIME",
    "GLUCOSE_MEASUREMENT",
    "INTERMEDIATE_CUFF_PRESSURE",
    "PLX_SPOT_CHECK_MEASUREMENT",
    "PROFILE_DECODERS",
    "PROFILE_NAMES",
    "TEMPERATURE_MEASUREMENT",
    "TEMPERATURE_TYPE",
    "WEIGHT_MEASUREMENT",
    "BloodPressureMeasurement",
    "BloodPressureStatus",
    "BodySensorLocation",
    "DateTime",
    "GlucoseMeasurement",
    "GlucoseSampleLocation",
    "GlucoseSampleType",
    "GlucoseSensorStatus",
    "IntermediateCuffPressure",
    "PlxSpotCheckMeasurement",
    "PulseRateRange",
    "SensorLocation",
    "TemperatureMeasurement",
    "TemperatureType",
    "WeightMeasurement",
    "encode_blood_pressure_measurement",
    "encode_body_sensor_location",
    "encode_date_time",
    "encode_glucose_measurement",
    "encode_intermediate_cuff_pressure",
    "encode_plx_spot_check_measurement",
    "encode_temperature_measurement",
    "encode_weight_measurement",
]
