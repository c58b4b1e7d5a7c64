"""Simulated devices on a virtual Bluetooth radio (bumble), driven by pure models."""

from .activity import ActivityModel
from .clock import Clock, ScaledClock
from .home import VirtualHome
from .physiology import HeartModel, PersonProfile, SimulatedPerson, Spo2Model, VitalSample
from .scenarios import (
    Baseline,
    BradycardiaScenario,
    DesaturationScenario,
    Scenario,
    TachycardiaScenario,
)
from .simulated import BTHomeMotionSensor, HeartRateStrap, PulseOximeter, SimulatedDevice

__all__ = [
    "ActivityModel",
    "BTHomeMotionSensor",
    "Baseline",
    "BradycardiaScenario",
    "Clock",
    "DesaturationScenario",
    "HeartModel",
    "HeartRateStrap",
    "PersonProfile",
    "PulseOximeter",
    "ScaledClock",
    "Scenario",
    "SimulatedDevice",
    "SimulatedPerson",
    "Spo2Model",
    "TachycardiaScenario",
    "VirtualHome",
    "VitalSample",
]
