"""From a scenario file to the pure models that play it: the person's profile and
rhythm, the vital-sign episodes, perfusion, the day as sensors see it, and which
faults hit which device when. No radio here; times are simulated seconds from the
scenario's start.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .daily_life import DailyLife, Fall, NotWorn, Span
from .episodes import DesaturationEpisode, EpisodeScenario, HeartRateEpisode
from .heart_rhythm import AfEpisode, RhythmSettings, hrv_norm_for_age, sinus_profile_for
from .perfusion import LowPerfusionEpisode, PerfusionModel
from .physiology import PersonProfile
from .scenario_file import (
    AfEvent,
    BradycardiaEvent,
    DesaturationEvent,
    FallEvent,
    FaultEvent,
    LowPerfusionEvent,
    NoRisingEvent,
    NotWornEvent,
    ScenarioFile,
    SosEvent,
    TachycardiaEvent,
    WanderingEvent,
    clock_seconds,
)

WEARABLE_KINDS = frozenset({"heart_rate_strap", "pulse_oximeter", "accelerometer_wearable"})

# Which device kinds can notice each event; a home with none of them gets a note.
OBSERVED_BY: dict[str, frozenset[str]] = {
    "af": frozenset({"heart_rate_strap"}),
    "tachycardia": frozenset({"heart_rate_strap", "pulse_oximeter"}),
    "bradycardia": frozenset({"heart_rate_strap", "pulse_oximeter"}),
    "desaturation": frozenset({"pulse_oximeter"}),
    "low_perfusion": frozenset({"pulse_oximeter"}),
    "fall": frozenset({"accelerometer_wearable"}),
    "no_rising": frozenset({"bthome_bed", "bthome_motion", "bthome_presence"}),
    "wandering": frozenset({"bthome_motion", "bthome_door", "bthome_room", "bthome_presence"}),
    "not_worn": WEARABLE_KINDS,
    "sos": frozenset({"bthome_button"}),
}

# How conditions shape the defaults. HRV scales: reduced vagal modulation is reported in
# hypertension, heart failure and frailty; values are the simulator's choice, not norms.
_HRV_SCALE = {"hypertension": 0.9, "heart_failure": 0.6, "frailty": 0.8, "copd": 0.85}
_ECTOPIC_PER_HOUR = {"af": 30.0, "heart_failure": 30.0}  # added to a base of 2 /h


@dataclass(frozen=True)
class FaultPlan:
    device: str  # id or kind, as in the file
    fault: str
    start_s: float
    end_s: float | None


@dataclass(frozen=True)
class ScenarioPlan:
    profile: PersonProfile
    rhythm: RhythmSettings
    episodes: EpisodeScenario
    perfusion: PerfusionModel
    life: DailyLife
    blood_pressure_mmhg: tuple[int, int]
    faults: tuple[FaultPlan, ...] = ()
    markers: tuple[tuple[float, str], ...] = field(default=())  # (time, what) for narration
    sos_presses: tuple[tuple[float, str], ...] = ()  # (time, press|double_press|long_press)


def _profile(s: ScenarioFile) -> PersonProfile:
    person = s.person
    conditions = set(person.conditions)
    spo2 = person.spo2
    if spo2 is None:
        spo2 = 93.0 if "copd" in conditions else 96.0 if "heart_failure" in conditions else 97.0
    base = PersonProfile(
        name=person.name,
        baseline_hr_bpm=person.resting_hr,
        baseline_spo2_pct=spo2,
        respiratory_rate_hz=0.3 if "copd" in conditions else 0.25,
    )
    hrv_scale = 1.0
    for condition in conditions:
        hrv_scale *= _HRV_SCALE.get(condition, 1.0)
    return sinus_profile_for(base, hrv_norm_for_age(person.age), hrv_scale)


def _blood_pressure(s: ScenarioFile) -> tuple[int, int]:
    hypertensive = "hypertension" in s.person.conditions
    systolic = s.person.bp_systolic or (152 if hypertensive else 126)
    diastolic = s.person.bp_diastolic or (92 if hypertensive else 78)
    return systolic, diastolic


def compile_plan(s: ScenarioFile) -> ScenarioPlan:
    profile = _profile(s)
    hr0 = profile.baseline_hr_bpm
    af: list[AfEpisode] = []
    heart: list[HeartRateEpisode] = []
    desaturation: list[DesaturationEpisode] = []
    low_perfusion: list[LowPerfusionEpisode] = []
    stays_in_bed: list[Span] = []
    wandering: list[Span] = []
    falls: list[Fall] = []
    not_worn: list[NotWorn] = []
    faults: list[FaultPlan] = []
    markers: list[tuple[float, str]] = []
    sos_presses: list[tuple[float, str]] = []
    kinds_by_name = {d.id: d.kind for d in s.devices if d.id} | {d.kind: d.kind for d in s.devices}

    for event in s.timeline:
        match event:
            case AfEvent():
                start, end = s.span_s(event.at, event.until)
                af.append(AfEpisode(start, end, rate_bpm=event.rate))
            case TachycardiaEvent() | BradycardiaEvent():
                start, end = s.span_s(event.at, event.until)
                heart.append(HeartRateEpisode(start, end, target_bpm=event.bpm))
            case DesaturationEvent():
                start, end = s.span_s(event.at, event.until)
                desaturation.append(DesaturationEpisode(start, end, target_pct=event.spo2))
            case LowPerfusionEvent():
                start, end = s.span_s(event.at, event.until)
                low_perfusion.append(LowPerfusionEpisode(start, end))
            case WanderingEvent():
                start, end = s.span_s(event.at, event.until)
                wandering.append(Span(start, end))
                heart.append(HeartRateEpisode(start, end, target_bpm=hr0 + 12, ramp_s=60))
            case FallEvent():
                start = s.at_s(event.at)
                lie_s = event.lie_minutes * 60.0
                falls.append(Fall(start, lie_s))
                # the fright and effort of a fall: a short rise in heart rate
                heart.append(HeartRateEpisode(start, start + lie_s, target_bpm=hr0 + 18, ramp_s=10))
                end = start + lie_s
            case NoRisingEvent():
                start, end = s.span_s(s.person.wake, event.until)
                stays_in_bed.append(Span(start, end))
            case NotWornEvent():
                start, end = s.span_s(event.at, event.until)
                kinds = frozenset(kinds_by_name[d] for d in event.devices)
                not_worn.append(NotWorn(Span(start, end), kinds))
                for d in s.devices:
                    if d.kind in WEARABLE_KINDS and (not kinds or d.kind in kinds):
                        faults.append(FaultPlan(d.id or d.kind, "not_worn", start, end))
            case SosEvent():
                pressed = s.at_s(event.at)
                sos_presses.append((pressed, event.press))
                markers.append((pressed, f"SOS button: {event.press}"))
                continue
            case FaultEvent():
                start = s.at_s(event.at)
                end = None if event.until is None else s.span_s(event.at, event.until)[1]
                faults.append(FaultPlan(event.device, event.fault, start, end))
        label = f"{event.fault} on {event.device}" if isinstance(event, FaultEvent) else event.event
        markers.append((start, f"{label} begins"))
        if end is not None:
            markers.append((end, f"{label} ends"))

    rhythm_base = s.person.ectopic_per_hour
    if rhythm_base is None:
        rhythm_base = 2.0 + sum(_ECTOPIC_PER_HOUR.get(c, 0.0) for c in s.person.conditions)
    perfusion = PerfusionModel(episodes=tuple(low_perfusion))
    if "heart_failure" in s.person.conditions:
        perfusion = replace(perfusion, baseline_pct=1.2)
    return ScenarioPlan(
        profile=profile,
        rhythm=RhythmSettings(ectopic_per_hour=rhythm_base, af_episodes=tuple(af)),
        episodes=EpisodeScenario(heart_rate=tuple(heart), desaturation=tuple(desaturation)),
        perfusion=perfusion,
        life=DailyLife(
            day_start_s=s.start_s,
            wake_s=clock_seconds(s.person.wake),
            bedtime_s=clock_seconds(s.person.bedtime),
            stays_in_bed=tuple(stays_in_bed),
            wandering=tuple(wandering),
            falls=tuple(falls),
            not_worn=tuple(not_worn),
        ),
        blood_pressure_mmhg=_blood_pressure(s),
        faults=tuple(faults),
        markers=tuple(sorted(markers)),
        sos_presses=tuple(sorted(sos_presses)),
    )
