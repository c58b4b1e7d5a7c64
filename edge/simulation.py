"""A simulated home for a gateway: the configured devices as firmware-sim devices on a virtual radio."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from anxin.config import DeviceBindingConfig
from anxin.edge.gatt_cache import GattCache
from anxin.edge.radio import BumbleRadio, ScanMode
from anxin.firmware_sim import (
    Baseline,
    PersonProfile,
    Scenario,
    SimulatedPerson,
    VirtualHome,
)
from anxin.firmware_sim.scenario_file import ENCRYPTING_KINDS

# How each device kind joins a simulated home; wearables carry the simulated person.
_ADD: dict[str, Callable[[VirtualHome, SimulatedPerson, dict[str, Any]], object]] = {
    "heart_rate_strap": lambda home, person, ids: home.add_heart_rate_strap(person, **ids),
    "pulse_oximeter": lambda home, person, ids: home.add_pulse_oximeter(person, **ids),
    "spot_check_oximeter": lambda home, person, ids: home.add_spot_check_oximeter(person, **ids),
    "blood_pressure_cuff": lambda home, person, ids: home.add_blood_pressure_cuff(person, **ids),
    "thermometer": lambda home, _person, ids: home.add_thermometer(**ids),
    "weight_scale": lambda home, _person, ids: home.add_weight_scale(**ids),
    "glucose_meter": lambda home, _person, ids: home.add_glucose_meter(**ids),
    "accelerometer_wearable": lambda home, _person, ids: home.add_accelerometer_wearable(**ids),
    "bthome_motion": lambda home, _person, ids: home.add_motion_sensor(**ids),
    "bthome_door": lambda home, _person, ids: home.add_door_sensor(**ids),
    "bthome_bed": lambda home, _person, ids: home.add_bed_sensor(**ids),
    "bthome_presence": lambda home, _person, ids: home.add_presence_sensor(**ids),
    "bthome_button": lambda home, _person, ids: home.add_sos_button(**ids),
    "bthome_room": lambda home, _person, ids: home.add_room_sensor(**ids),
}


def simulated_home(
    devices: Sequence[DeviceBindingConfig],
    profile: PersonProfile,
    home_number: int,
    scenario: Scenario | None = None,
    seed: int = 0,
) -> VirtualHome:
    """One person with the configured wearables, in a home with the configured sensors."""
    person = SimulatedPerson(profile=profile, scenario=scenario or Baseline(), seed=seed)
    home = VirtualHome(home_number=home_number)
    for device in devices:
        add = _ADD.get(device.kind)
        if add is None:
            raise ValueError(
                f"device '{device.device_id}': kind '{device.kind}' cannot be simulated"
            )
        ids: dict[str, Any] = {"device_id": device.device_id, "address": device.address}
        if device.bind_key:
            if device.kind not in ENCRYPTING_KINDS:
                raise ValueError(
                    f"device '{device.device_id}': kind '{device.kind}' does not encrypt"
                )
            ids["bind_key"] = bytes.fromhex(device.bind_key)
        add(home, person, ids)
    return home


def gateway_radio(
    home: VirtualHome,
    address: str,
    *,
    scan_mode: ScanMode = "auto",
    gatt_cache_path: Path | None = None,
) -> BumbleRadio:
    """The gateway's radio in ``home``; with ``gatt_cache_path`` discovered GATT tables
    outlive a restart."""
    return BumbleRadio(
        home.link, address, scan_mode=scan_mode, gatt_cache=GattCache(gatt_cache_path)
    )
