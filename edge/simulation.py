"""A simulated home for a gateway: the configured devices as firmware-sim devices on a virtual radio."""

from __future__ import annotations

from collections.abc import Sequence

from anxin.config import DeviceBindingConfig
from anxin.edge.radio import BumbleRadio
from anxin.firmware_sim import (
    Baseline,
    PersonProfile,
    Scenario,
    SimulatedPerson,
    TachycardiaScenario,
    VirtualHome,
)


def simulated_home(
    devices: Sequence[DeviceBindingConfig],
    profile: PersonProfile,
    home_number: int,
    scenario: Scenario | None = None,
    seed: int = 0,
) -> VirtualHome:
    """One person wearing the configured strap and oximeter, with the configured home sensors."""
    person = SimulatedPerson(profile=profile, scenario=scenario or Baseline(), seed=seed)
    home = VirtualHome(home_number=home_number)
    for device in devices:
        if device.kind == "heart_rate_strap":
            home.add_heart_rate_strap(person, device_id=device.device_id, address=device.address)
        elif device.kind == "pulse_oximeter":
            home.add_pulse_oximeter(person, device_id=device.device_id, address=device.address)
        elif device.kind == "bthome_motion":
            home.add_motion_sensor(device_id=device.device_id, address=device.address)
        else:
            raise ValueError(
                f"device '{device.device_id}': kind '{device.kind}' cannot be simulated"
            )
    return home


def gateway_radio(home: VirtualHome, address: str) -> BumbleRadio:
    return BumbleRadio(home.link, address)


def tachycardia(start_after_s: float) -> Scenario:
    """The demo's scripted event: heart rate climbs past 120 /min after ``start_after_s``."""
    return TachycardiaScenario(start_after_s=start_after_s, target_bpm=135, ramp_s=20)
