"""Scenario data for the follow-up rules, made with the project's simulator models and
passed through the same decoding the gateway does (GATT frame -> decoded -> readings)."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from anxin.analytics.falls import FallMonitor
from anxin.cloud.ingest.timeseries import StoredObservation
from anxin.cloud.registry.registry import Registry
from anxin.devices import decode
from anxin.devices.blood_pressure import (
    BLOOD_PRESSURE_MEASUREMENT,
    BloodPressureMeasurement,
    encode_blood_pressure_measurement,
)
from anxin.edge.readings import readings_from
from anxin.firmware_sim.motion_model import WaistMotionModel
from anxin.firmware_sim.scenario_file import ScenarioFile
from anxin.firmware_sim.scenario_plan import compile_plan
from anxin.firmware_sim.spot_models import BloodPressureModel
from anxin.protocol import AlertMessage
from tests.support.scenario_play import scenario

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _person(conditions: str) -> str:
    return f"""
name = "care data"
start = "00:00"
duration = "24:00"
seed = 5

[person]
name = "Wang Fang"
age = 78
sex = "female"
conditions = [{conditions}]
"""


def hypertensive_home() -> ScenarioFile:
    return scenario(_person('"hypertension"') + '[[devices]]\nkind = "blood_pressure_cuff"\n')


def normotensive_home() -> ScenarioFile:
    return scenario(_person("") + '[[devices]]\nkind = "blood_pressure_cuff"\n')


def wearable_home(not_worn: tuple[str, str] | None = None) -> ScenarioFile:
    text = _person("") + '[[devices]]\nkind = "heart_rate_strap"\nid = "hr-1"\n'
    if not_worn is not None:
        text += f'[[timeline]]\nevent = "not_worn"\nat = "{not_worn[0]}"\nuntil = "{not_worn[1]}"\n'
    return scenario(text)


def local_ms(day: date, clock: time) -> int:
    return int(datetime.combine(day, clock, SHANGHAI).timestamp() * 1000)


def cuff_readings(
    home: ScenarioFile,
    person_id: str,
    first_day: date,
    days: int,
    clocks: tuple[time, ...] = (time(8, 0), time(19, 0)),
    gateway_id: str = "gw-1",
    first_seq: int = 1,
) -> list[StoredObservation]:
    """Home blood-pressure readings from the scenario's cuff model, as the gateway stores
    them: each reading encoded as a Blood Pressure Measurement frame and decoded again."""
    systolic, diastolic = compile_plan(home).blood_pressure_mmhg
    model = BloodPressureModel(systolic, diastolic, seed=home.seed)
    midnight = datetime.combine(first_day, time(0), SHANGHAI)
    rows: list[StoredObservation] = []
    seq = first_seq
    for offset in range(days):
        for clock in clocks:
            moment = datetime.combine(first_day + timedelta(days=offset), clock, SHANGHAI)
            reading = model.reading((moment - midnight).total_seconds())
            frame = encode_blood_pressure_measurement(
                BloodPressureMeasurement(
                    systolic=reading.systolic_mmhg,
                    diastolic=reading.diastolic_mmhg,
                    mean_arterial_pressure=float(round(reading.mean_arterial_mmhg)),
                )
            )
            ts_ms = int(moment.timestamp() * 1000)
            for kind, value in readings_from(decode(BLOOD_PRESSURE_MEASUREMENT, frame).as_dict()):
                if kind not in ("systolic_bp", "diastolic_bp"):
                    continue
                unit = "mm[Hg]"
                rows.append(
                    StoredObservation(gateway_id, seq, person_id, "bp-1", kind, value, unit, ts_ms)
                )
                seq += 1
    return rows


def heart_rate_readings(
    home: ScenarioFile,
    person_id: str,
    start_ms: int,
    hours: float,
    step_s: int = 600,
    gateway_id: str = "gw-1",
    first_seq: int = 100_000,
) -> list[StoredObservation]:
    """A heart-rate strap's readings every ``step_s`` while the scenario says it is worn
    (its not_worn spans are relative to ``start_ms``, taken as the scenario's start)."""
    plan = compile_plan(home)
    rng = random.Random(home.seed)
    rows = []
    for i in range(int(hours * 3600 // step_s)):
        t_s = i * step_s
        if not plan.life.worn("heart_rate_strap", t_s):
            continue
        value = round(plan.profile.baseline_hr_bpm + rng.gauss(0, 4))
        rows.append(
            StoredObservation(
                gateway_id,
                first_seq + i,
                person_id,
                "hr-1",
                "heart_rate",
                float(value),
                "/min",
                start_ms + t_s * 1000,
            )
        )
    return rows


def record_simulated_fall(
    registry: Registry,
    person_id: str,
    at_ms: int,
    seq: int,
    seed: int = 0,
    gateway_id: str = "gw-1",
    device_id: str = "waist-1",
) -> AlertMessage:
    """A fall of the waist-motion model, found by the gateway's fall monitor and stored
    in the registry as the gateway's alert would be."""
    model = WaistMotionModel(seed, recover_after_s=60)
    monitor = FallMonitor(rate_hz=model.rate_hz)
    end_ms = at_ms - 20_000
    found = []
    for batch in range(80):
        if batch == 40:
            model.trigger_fall()
        end_ms += 500
        found += monitor.add(model.advance(25), end_ms)
    fall = next(event for event in found if event.kind == "fall")
    message = AlertMessage(
        site_id="home-1",
        gateway_id=gateway_id,
        seq=seq,
        device_id=device_id,
        kind="fall",
        severity="critical",
        raised_at_ms=fall.ts_ms,
        message=f"fall: impact {fall.evidence.get('impact_g', '?')} g",
    )
    assert registry.record_alert(message, person_id)
    return message
