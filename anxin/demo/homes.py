"""The demo's people, homes, devices and logins, shared by the simulator, gateways and cloud seed."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

from anxin.cloud.access.passwords import hash_password
from anxin.cloud.database.models import Binding, Device, FamilyLink, Gateway, Person, User
from anxin.cloud.registry.field_crypto import FieldCipher
from anxin.cloud.registry.registry import Registry
from anxin.demo.insured import seed_insured
from anxin.firmware_sim.scenario_file import ScenarioFile, clock_seconds, load_scenario

COMMUNITY = "幸福里社区"


@dataclass(frozen=True)
class DemoPerson:
    name: str
    name_latin: str
    sex: str
    birth_date: date


PEOPLE = (
    DemoPerson("张秀英", "Zhang Xiuying", "F", date(1942, 3, 15)),
    DemoPerson("李建国", "Li Jianguo", "M", date(1939, 8, 2)),
    DemoPerson("王淑珍", "Wang Shuzhen", "F", date(1945, 11, 20)),
    DemoPerson("赵德明", "Zhao Deming", "M", date(1937, 1, 9)),
    DemoPerson("陈桂兰", "Chen Guilan", "F", date(1948, 6, 30)),
)


@dataclass(frozen=True)
class DemoDevice:
    device_id: str
    kind: str
    address: str
    bind_key: str | None = None


# What happens in each home, so the demo shows every alert the gateways raise: each is a
# scenario file in scenarios/, played by the same runner as `anxin sim`.
DemoEvent = Literal["tachycardia", "desaturation", "bradycardia_then_sos", "af", "fall"]
EVENTS: tuple[DemoEvent, ...] = (
    "tachycardia",
    "desaturation",
    "bradycardia_then_sos",
    "af",
    "fall",
)
SCENARIOS = Path(__file__).parent / "scenarios"
# The files put their first event here; the demo moves each file's start so that this
# moment comes `scenario_start_s` after the demo starts.
FIRST_EVENT_AT = "08:01:00"


@dataclass(frozen=True)
class DemoHome:
    number: int
    person_id: str
    person: DemoPerson
    site_id: str
    gateway_id: str
    gateway_address: str
    devices: tuple[DemoDevice, ...]
    event: DemoEvent


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str
    display_name: str


LOGINS = (
    DemoLogin("worker", "anxin-worker", "worker", "社区健康工作者 刘芳"),
    DemoLogin("family", "anxin-family", "family", "张秀英的女儿 张丽"),
    DemoLogin("admin", "anxin-admin", "admin", "管理员"),
)


def demo_homes(count: int) -> list[DemoHome]:
    homes = []
    for number in range(1, count + 1):
        person = PEOPLE[(number - 1) % len(PEOPLE)]
        # Random static BLE addresses: the two top bits of the first byte are set.
        prefix = f"C0:A0:{number:02X}"
        homes.append(
            DemoHome(
                number=number,
                person_id=f"p{number:04d}",
                person=person,
                site_id=f"home-{number}",
                gateway_id=f"gw-{number}",
                gateway_address=f"{prefix}:00:00:01",
                devices=(
                    DemoDevice(f"hr-{number}", "heart_rate_strap", f"{prefix}:01:00:01"),
                    DemoDevice(f"ox-{number}", "pulse_oximeter", f"{prefix}:02:00:01"),
                    DemoDevice(f"motion-{number}", "bthome_motion", f"{prefix}:03:00:01"),
                    DemoDevice(
                        f"sos-{number}", "bthome_button", f"{prefix}:04:00:01", _demo_key(number)
                    ),
                    DemoDevice(f"waist-{number}", "accelerometer_wearable", f"{prefix}:05:00:01"),
                ),
                event=EVENTS[(number - 1) % len(EVENTS)],
            )
        )
    return homes


def demo_scenario(home: DemoHome, scenario_start_s: float) -> ScenarioFile:
    """The home's scenario file, with the home's device ids, addresses and keys, starting
    so that its first event comes ``scenario_start_s`` after the demo starts."""
    scenario = load_scenario(SCENARIOS / f"{home.event}.toml")
    ours = {device.kind: device for device in home.devices}
    devices = tuple(
        spec.model_copy(
            update={
                "id": ours[spec.kind].device_id,
                "address": ours[spec.kind].address,
                "bind_key": ours[spec.kind].bind_key,
            }
        )
        for spec in scenario.devices
    )
    start_s = clock_seconds(FIRST_EVENT_AT) - scenario_start_s
    start = f"{int(start_s // 3600):02d}:{int(start_s % 3600 // 60):02d}:{int(start_s % 60):02d}"
    return scenario.model_copy(update={"devices": devices, "start": start})


def _demo_key(number: int) -> str:
    """A fixed BTHome bind key per demo home (real sensors each come with their own)."""
    return hashlib.sha256(f"anxin-demo-sos-{number}".encode()).hexdigest()[:32]


def seed_registry(
    registry: Registry,
    homes: list[DemoHome],
    bound_since_ms: int = 0,
    cipher: FieldCipher | None = None,
) -> None:
    """Enrol the demo people, their gateways, devices and bindings, and the demo logins.

    With ``cipher`` the people get (encrypted) resident IDs and phone numbers as well."""
    rows: list[object] = []
    for home in homes:
        rows.append(
            Person(
                id=home.person_id,
                name=home.person.name,
                name_latin=home.person.name_latin,
                birth_date=home.person.birth_date,
                sex=home.person.sex,
                community=COMMUNITY,
                address=f"{COMMUNITY} {home.number} 号楼",
                site_id=home.site_id,
            )
        )
        rows.append(Gateway(id=home.gateway_id, site_id=home.site_id))
    registry.add_all(rows)  # type: ignore[arg-type]
    rows = []
    for home in homes:
        for device in home.devices:
            rows.append(
                Device(
                    id=device.device_id,
                    gateway_id=home.gateway_id,
                    kind=device.kind,
                    address=device.address,
                )
            )
    registry.add_all(rows)  # type: ignore[arg-type]
    rows = [
        Binding(device_id=device.device_id, person_id=home.person_id, valid_from_ms=bound_since_ms)
        for home in homes
        for device in home.devices
    ]
    for login in LOGINS:
        rows.append(
            User(
                username=login.username,
                display_name=login.display_name,
                role=login.role,
                password_hash=hash_password(login.password),
                community=COMMUNITY if login.role == "worker" else None,
            )
        )
    registry.add_all(rows)  # type: ignore[arg-type]
    registry.add_all(
        [FamilyLink(username="family", person_id=homes[0].person_id, relation="daughter")]
    )
    seed_insured(
        registry,
        [(home.person_id, home.number, home.number - 1) for home in homes],
        cipher,
    )
