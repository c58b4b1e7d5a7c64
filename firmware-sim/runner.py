"""Plays a scenario file on a virtual home: builds the person and the devices, starts
them on an accelerated clock, applies the timeline's faults at their times.

Device kinds are built by registered builders. Kinds the simulator cannot build yet
are left out of the home and listed in ``notes``, as are events that no device in the
home can observe; neither stops the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from anxin.runtime import cancel_and_wait

from .activity import ActivityModel
from .clock import Clock, ScaledClock
from .daily_life import DailyLife, DailyLifeActivity, DailyLifeMotion
from .faults import (
    ContactLost,
    Fault,
    FaultSchedule,
    OffBody,
    ScheduledFault,
    SensorOff,
    make_fault,
)
from .heart_rhythm import RhythmHeartModel
from .home import VirtualHome
from .home_sensors import BedSensor, SOSButton
from .physiology import SimulatedPerson
from .scenario_file import Device, ScenarioFile
from .scenario_plan import OBSERVED_BY, ScenarioPlan, compile_plan
from .simulated import SimulatedDevice
from .spot_models import BloodPressureModel

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildContext:
    spec: Device
    device_id: str
    person: SimulatedPerson
    plan: ScenarioPlan
    seed: int


DeviceBuilder = Callable[[VirtualHome, BuildContext], SimulatedDevice]


def _options(ctx: BuildContext) -> dict[str, object]:
    options: dict[str, object] = {"device_id": ctx.device_id, "address": ctx.spec.address}
    if ctx.spec.interval_s is not None:
        options["interval_s"] = ctx.spec.interval_s
    return options


def _strap(home: VirtualHome, ctx: BuildContext) -> SimulatedDevice:
    return home.add_heart_rate_strap(ctx.person, **_options(ctx))  # type: ignore[arg-type]


def _oximeter(home: VirtualHome, ctx: BuildContext) -> SimulatedDevice:
    oximeter = home.add_pulse_oximeter(ctx.person, **_options(ctx))  # type: ignore[arg-type]
    oximeter.perfusion = ctx.plan.perfusion
    return oximeter


def _motion(home: VirtualHome, ctx: BuildContext) -> SimulatedDevice:
    routine = ActivityModel(seed=ctx.seed, day_start_s=ctx.plan.life.day_start_s)
    activity = DailyLifeActivity(ctx.plan.life, routine)
    return home.add_motion_sensor(activity=activity, **_options(ctx))  # type: ignore[arg-type]


def _bthome_options(ctx: BuildContext) -> dict[str, object]:
    return _options(ctx) | {"seed": ctx.seed} | _bind_key(ctx)


def _bind_key(ctx: BuildContext) -> dict[str, object]:
    return {"bind_key": bytes.fromhex(ctx.spec.bind_key)} if ctx.spec.bind_key else {}


def _life_activity(ctx: BuildContext, up_share: float = 1.0) -> DailyLifeActivity:
    routine = ActivityModel(seed=ctx.seed, day_start_s=ctx.plan.life.day_start_s)
    return DailyLifeActivity(ctx.plan.life, routine, up_share=up_share, seed=ctx.seed)


def _accelerometer(home: VirtualHome, ctx: BuildContext) -> SimulatedDevice:
    motion = DailyLifeMotion(ctx.plan.life, home.clock.now, seed=ctx.seed)
    return home.add_accelerometer_wearable(
        motion, device_id=ctx.device_id, address=ctx.spec.address, seed=ctx.seed
    )


def _door(home: VirtualHome, ctx: BuildContext) -> SimulatedDevice:
    # a door is used now and then in the day, over and over by someone wandering at night
    activity = _life_activity(ctx, up_share=0.05)
    return home.add_door_sensor(activity=activity, **_bthome_options(ctx))  # type: ignore[arg-type]


def _bed(home: VirtualHome, ctx: BuildContext) -> SimulatedDevice:
    # occupancy follows DailyLife (driven by the runner's LifeDriver), not its own schedule
    life = ctx.plan.life
    bed = home.add_bed_sensor(
        bedtime_h=life.bedtime_s / 3600,
        rise_h=life.wake_s / 3600,
        auto=False,
        **_bthome_options(ctx),  # type: ignore[arg-type]
    )
    bed.occupied = life.in_bed(0.0)
    return bed


def _presence(home: VirtualHome, ctx: BuildContext) -> SimulatedDevice:
    activity = _life_activity(ctx)
    return home.add_presence_sensor(activity=activity, **_bthome_options(ctx))  # type: ignore[arg-type]


def _button(home: VirtualHome, ctx: BuildContext) -> SimulatedDevice:
    return home.add_sos_button(**_options(ctx), **_bind_key(ctx))  # type: ignore[arg-type]


def _room(home: VirtualHome, ctx: BuildContext) -> SimulatedDevice:
    return home.add_room_sensor(**_bthome_options(ctx))  # type: ignore[arg-type]


def _spot_options(ctx: BuildContext) -> dict[str, object]:
    options: dict[str, object] = {
        "device_id": ctx.device_id,
        "address": ctx.spec.address,
        "seed": ctx.seed,
    }
    if ctx.spec.interval_s is not None:  # a spot device's interval: time between readings
        options["readings_per_day"] = 86_400 / ctx.spec.interval_s
    return options


def _bp_cuff(home: VirtualHome, ctx: BuildContext) -> SimulatedDevice:
    systolic, diastolic = ctx.plan.blood_pressure_mmhg
    model = BloodPressureModel(systolic, diastolic, seed=ctx.seed)
    return home.add_blood_pressure_cuff(ctx.person, model=model, **_spot_options(ctx))  # type: ignore[arg-type]


def _thermometer(home: VirtualHome, ctx: BuildContext) -> SimulatedDevice:
    return home.add_thermometer(**_spot_options(ctx))  # type: ignore[arg-type]


def _weight_scale(home: VirtualHome, ctx: BuildContext) -> SimulatedDevice:
    return home.add_weight_scale(**_spot_options(ctx))  # type: ignore[arg-type]


def _glucose_meter(home: VirtualHome, ctx: BuildContext) -> SimulatedDevice:
    return home.add_glucose_meter(**_spot_options(ctx))  # type: ignore[arg-type]


def _spot_oximeter(home: VirtualHome, ctx: BuildContext) -> SimulatedDevice:
    return home.add_spot_check_oximeter(ctx.person, **_spot_options(ctx))  # type: ignore[arg-type]


DEVICE_BUILDERS: dict[str, DeviceBuilder] = {
    "heart_rate_strap": _strap,
    "pulse_oximeter": _oximeter,
    "bthome_motion": _motion,
    "accelerometer_wearable": _accelerometer,
    "bthome_door": _door,
    "bthome_bed": _bed,
    "bthome_presence": _presence,
    "bthome_button": _button,
    "bthome_room": _room,
    "blood_pressure_cuff": _bp_cuff,
    "thermometer": _thermometer,
    "weight_scale": _weight_scale,
    "glucose_meter": _glucose_meter,
    "spot_check_oximeter": _spot_oximeter,
}


def register_device_builder(kind: str, builder: DeviceBuilder) -> None:
    """How a new simulated device kind joins scenarios: the builder adds it to the home,
    reading the person (``ctx.person``) and their day (``ctx.plan.life``)."""
    DEVICE_BUILDERS[kind] = builder


# What "not worn" does to each wearable on the air; kinds not listed read
# ``DailyLife.worn`` themselves.
_NOT_WORN: dict[str, Callable[[], Fault]] = {
    "heart_rate_strap": ContactLost,
    "pulse_oximeter": SensorOff,
    "accelerometer_wearable": OffBody,
}


class LifeDriver:
    """Moves the home sensors that are set from outside as the scenario's day goes on:
    bed pads follow ``DailyLife.in_bed`` (checked every ``step_s`` simulated seconds),
    SOS buttons are pressed at the timeline's ``sos`` times."""

    def __init__(
        self,
        clock: Clock,
        life: DailyLife,
        beds: list[BedSensor],
        buttons: list[SOSButton],
        presses: tuple[tuple[float, str], ...],
        step_s: float = 5.0,
    ) -> None:
        self.clock = clock
        self.life = life
        self.beds = beds
        self.buttons = buttons
        self.presses = sorted(presses)
        self.step_s = step_s
        self.log: list[tuple[float, str]] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.beds or (self.buttons and self.presses):
            self._task = asyncio.create_task(self._run(), name="life-driver")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _run(self) -> None:
        pending = list(self.presses)
        while True:
            t_s = self.clock.now()
            for bed in self.beds:
                occupied = self.life.in_bed(t_s)
                if occupied != bed.occupied:
                    with contextlib.suppress(Exception):
                        await bed.set_occupied(occupied)
            while pending and pending[0][0] <= t_s:
                _, event = pending.pop(0)
                for button in self.buttons:
                    with contextlib.suppress(Exception):
                        await button.press(event)
                    self.log.append((t_s, f"{button.device_id} {event}"))
            if not self.beds and not pending:
                return
            wake = t_s + self.step_s if self.beds else float("inf")
            if pending:
                wake = min(wake, pending[0][0])
            await self.clock.sleep(max(0.0, wake - self.clock.now()))


class _RestartableClock(ScaledClock):
    def restart(self) -> None:
        """Simulated time begins at ``start_s`` again from now (the home starts)."""
        self._origin = self._monotonic()


class ScenarioRunner:
    def __init__(
        self,
        scenario: ScenarioFile,
        *,
        speed: float | None = None,
        seed: int | None = None,
        home_number: int = 1,
        day: date = date(2026, 1, 5),
        timezone: str = "Asia/Shanghai",
    ) -> None:
        self.scenario = scenario
        # Local midnight of the day the scenario plays on, for a gateway on simulated time.
        self.midnight_epoch_s = datetime(
            day.year, day.month, day.day, tzinfo=ZoneInfo(timezone)
        ).timestamp()
        self.speed = speed if speed is not None else scenario.speed
        self.seed = seed if seed is not None else scenario.seed
        self.plan = compile_plan(scenario)
        self.clock = _RestartableClock(speed=self.speed)
        self.home = VirtualHome(clock=self.clock, home_number=home_number)
        self.person = SimulatedPerson(self.plan.profile, self.plan.episodes, seed=self.seed)
        self.person.heart = RhythmHeartModel(
            self.plan.profile, self.plan.episodes, seed=self.seed, rhythm=self.plan.rhythm
        )
        self.notes: list[str] = []
        self.devices: dict[str, SimulatedDevice] = {}
        self._build_devices()
        self._note_unobserved_events()
        self.faults = FaultSchedule(self.clock, self._schedule_faults())
        self.life_driver = LifeDriver(
            self.clock,
            self.plan.life,
            [d for d in self.devices.values() if isinstance(d, BedSensor)],
            [d for d in self.devices.values() if isinstance(d, SOSButton)],
            self.plan.sos_presses,
        )
        self._narration: asyncio.Task[None] | None = None

    # -- building ------------------------------------------------------------------------

    def _build_devices(self) -> None:
        counts: dict[str, int] = {}
        for index, spec in enumerate(self.scenario.devices):
            counts[spec.kind] = counts.get(spec.kind, 0) + 1
            device_id = spec.id or f"{spec.kind}-{counts[spec.kind]}"
            builder = DEVICE_BUILDERS.get(spec.kind)
            if builder is None:
                self.notes.append(
                    f"devices[{index}] '{device_id}': kind '{spec.kind}' cannot be simulated yet "
                    f"(available: {', '.join(sorted(DEVICE_BUILDERS))}); left out of the home"
                )
                continue
            context = BuildContext(spec, device_id, self.person, self.plan, self.seed + 100 + index)
            self.devices[device_id] = builder(self.home, context)

    def _note_unobserved_events(self) -> None:
        kinds = {d.kind for d in self.devices.values()}
        for index, event in enumerate(self.scenario.timeline):
            observers = OBSERVED_BY.get(event.event)
            if observers is not None and not observers & kinds:
                self.notes.append(
                    f"timeline[{index}] {event.event}: no device in this home can observe it "
                    f"(needs one of: {', '.join(sorted(observers))}); it still changes the "
                    "person's state"
                )

    def _resolve(self, name: str) -> list[SimulatedDevice]:
        return [d for device_id, d in self.devices.items() if name in (device_id, d.kind)]

    def _schedule_faults(self) -> list[ScheduledFault]:
        entries = []
        for planned in self.plan.faults:
            targets = self._resolve(planned.device)
            if not targets:
                self.notes.append(
                    f"fault {planned.fault} on '{planned.device}': that device is not in the "
                    "simulated home; skipped"
                )
            for device in targets:
                if planned.fault == "not_worn":
                    factory = _NOT_WORN.get(device.kind)
                    if factory is None:
                        continue
                    fault = factory()
                else:
                    fault = make_fault(planned.fault)
                entries.append(ScheduledFault(device, fault, planned.start_s, planned.end_s))
        return entries

    # -- running ---------------------------------------------------------------------------

    def epoch_s(self) -> float:
        """The simulated moment as Unix time: a gateway's clock when it runs on simulated time."""
        return self.midnight_epoch_s + self.scenario.start_s + self.clock.now()

    def clock_text(self, t_s: float | None = None) -> str:
        """Time of day in the scenario at simulated ``t_s`` (default: now)."""
        t = self.clock.now() if t_s is None else t_s
        seconds = int(self.scenario.start_s + t) % 86_400
        return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"

    @property
    def duration_s(self) -> float:
        return self.scenario.duration_s

    async def start(self, on_marker: Callable[[str], None] | None = None) -> None:
        self.clock.restart()
        await self.home.start()
        self.faults.start()
        self.life_driver.start()
        if on_marker is not None:
            self._narration = asyncio.create_task(self._narrate(on_marker), name="narration")

    async def stop(self) -> None:
        if self._narration is not None:
            self._narration.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._narration
            self._narration = None
        await self.life_driver.stop()
        await self.faults.stop()
        await self.home.stop()

    async def wait_until_done(self) -> None:
        remaining = self.duration_s - self.clock.now()
        if remaining > 0:
            await self.clock.sleep(remaining)

    async def _narrate(self, on_marker: Callable[[str], None]) -> None:
        for t_s, what in self.plan.markers:
            wait = t_s - self.clock.now()
            if wait > 0:
                await self.clock.sleep(wait)
            on_marker(f"[{self.clock_text(t_s)}] {what}")
