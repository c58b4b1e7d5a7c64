"""Simulated devices on a virtual Bluetooth radio (bumble), driven by pure models."""

from .accelerometer import AccelerometerWearable
from .activity import ActivityModel
from .clock import Clock, ScaledClock
from .home import VirtualHome
from .home_sensors import (
    BedSensor,
    BTHomeAdvertiser,
    DoorSensor,
    PresenceSensor,
    RoomSensor,
    SOSButton,
)
from .motion_model import WaistMotionModel
from .physiology import HeartModel, PersonProfile, SimulatedPerson, Spo2Model, VitalSample
from .scenarios import (
    Baseline,
    BradycardiaScenario,
    DesaturationScenario,
    Scenario,
    TachycardiaScenario,
)
from .simulated import BTHomeMotionSensor, HeartRateStrap, PulseOximeter, SimulatedDevice
from .spot_devices import (
    BloodPressureCuff,
    GlucoseMeter,
    SpotCheckOximeter,
    SpotMeasuringDevice,
    Thermometer,
    WeightScale,
)
from .spot_models import BloodPressureModel, DeviceClock

__all__ = [
    "AccelerometerWearable",
    "ActivityModel",
    "BTHomeAdvertiser",
    "BTHomeMotionSensor",
    "Baseline",
    "BedSensor",
    "BloodPressureCuff",
    "BloodPressureModel",
    "BradycardiaScenario",
    "Clock",
    "DesaturationScenario",
    "DeviceClock",
    "DoorSensor",
    "GlucoseMeter",
    "HeartModel",
    "HeartRateStrap",
    "PersonProfile",
    "PresenceSensor",
    "PulseOximeter",
    "RoomSensor",
    "SOSButton",
    "ScaledClock",
    "Scenario",
    "SimulatedDevice",
    "SimulatedPerson",
    "Spo2Model",
    "SpotCheckOximeter",
    "SpotMeasuringDevice",
    "TachycardiaScenario",
    "Thermometer",
    "VirtualHome",
    "VitalSample",
    "WaistMotionModel",
    "WeightScale",
]
