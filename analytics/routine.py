"""Daily routine from home sensors, and live deviations from it.

Bed occupancy, front door, room motion (including the bathroom's) and presence sensors
give, per day, when the person went to bed and got up, their longest still spell at
home while awake, their night bathroom visits and whether they left home at night
(:func:`summarise_day`); four weeks of days give their usual pattern
(:class:`RoutineProfile`); :class:`RoutineMonitor` compares the day in progress with it
and raises late rising, long inactivity, night wandering and frequent night bathroom
visits as they happen.

The routine day ``D`` runs from 12:00 local time on ``D - 1`` to 12:00 on ``D``, so
one night, the bedtime before it and the rising after it belong to one day. Local time
is a ``ZoneInfo`` name (default ``Asia/Shanghai``, which has no daylight saving).

One person lives in the home; visitors' movements are read as theirs.

Where the rules come from:

- Personal baselines rather than fixed norms, and deviation from one's own pattern as
  the signal: Virone G, Alwan M, Dalal S, et al. Behavioral patterns of older adults in
  assisted living. IEEE Trans Inf Technol Biomed 2008;12(3):387-398; Cook DJ,
  Schmitter-Edgecombe M, Dawadi P. Analyzing activity behavior and movement in a
  naturalistic environment using smart home techniques. IEEE J Biomed Health Inform
  2015;19(6):1882-1892.
- Inactivity judged against the person's own usual longest inactivity, alerting within
  hours: Cuddihy P, Weisenberg J, Graichen C, Ganesh M. Algorithm to automatically detect
  abnormally long periods of inactivity in a home. Proc ACM HealthNet 2007; Floeck M,
  Litz L. Inactivity patterns and alarm generation in senior citizens' houses. Proc
  European Control Conference 2009 (alarms 30 to 180 minutes after an emergency
  with linear thresholds). A long lie (an hour or more on the floor) is what
  an inactivity alarm is for: Fleming J, Brayne C. Inability to get up after falling,
  subsequent time on floor, and summoning help. BMJ 2008;337:a2227.
- Night-time activity and wandering, and bed/bathroom sensing for late rising and
  bathroom frequency: Rantz MJ, Skubic M, Koopman RJ, et al. Using sensor networks to
  detect urinary tract infections in older adults. Proc IEEE HealthCom 2011;
  Hayes TL, Abendroth F, Adami A, et al. Unobtrusive assessment of activity patterns
  associated with mild cognitive impairment. Alzheimers Dement 2008;4(6):395-405.
- Nocturia (waking to void) terminology: van Kerrebroeck P, Abrams P, Chaikin D, et al.
  The standardisation of terminology in nocturia. Neurourol Urodyn 2002;21(2):179-183.
- Robust spread: Leys C, Ley C, Klein O, et al. Detecting outliers: do not use standard
  deviation around the mean, use absolute deviation around the median. J Exp Soc
  Psychol 2013;49(4):764-766.
"""

from __future__ import annotations

from .routine_day import DaySummary, summarise_day
from .routine_events import Role, SensorEvent, day_window, routine_day_of
from .routine_monitor import (
    DeviationKind,
    MonitorSettings,
    RoutineDeviation,
    RoutineMonitor,
    Severity,
)
from .routine_profile import RoutineProfile, Usual
from .routine_state import StateSettings

__all__ = [
    "DaySummary",
    "DeviationKind",
    "MonitorSettings",
    "Role",
    "RoutineDeviation",
    "RoutineMonitor",
    "RoutineProfile",
    "SensorEvent",
    "Severity",
    "StateSettings",
    "Usual",
    "day_window",
    "routine_day_of",
    "summarise_day",
]
