"""The person's usual day: median and spread of rising time, bedtime, longest daytime
inactivity and night bathroom visits over their last four weeks, and the limits past
which a day is unusual.

Spread is the median absolute deviation scaled by 1.4826 (a standard deviation for
normal data; Leys et al. 2013), so one odd day moves neither the centre nor the spread.
A measure with fewer than ``MIN_DAYS`` days of history takes its prior instead:

- rising 07:00 and bedtime 22:00, spread 30 min (what the caller seeds with
  :meth:`RoutineProfile.default`, e.g. the simulator's person's ``wake``/``bedtime``);
- longest daytime inactivity 120 min, spread 30 min: older adults at home rarely sit
  out of every sensor's view for more than two hours awake (Floeck & Litz 2009);
- one bathroom visit a night, spread 1: waking once to void is the commonest pattern
  past 70 (ICS nocturia terminology, van Kerrebroeck et al. 2002).

Limits (each a margin on the person's own figures, with a floor so a very regular
person does not get alerts for ordinary slack):

- late rising: usual rising + max(90 min, 3 x spread);
- inactivity: max(3 h, usual longest + max(60 min, 3 x spread));
- night bathroom visits: more than usual + max(2, 2 x spread) (counts are small whole
  numbers: three spreads would hide a doubling);
- the night (for wandering) ends at usual rising - max(2 h, 3 x spread): up and about
  later than that is more likely an early rising than wandering.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

from .routine_day import DaySummary
from .routine_events import clock_minutes, format_clock, minutes_after_noon, parse_clock

MIN_DAYS = 7
HISTORY_DAYS = 28
MAD_TO_SD = 1.4826

PRIOR_SPREAD_CLOCK_MIN = 30.0
PRIOR_INACTIVITY_MIN = 120.0
PRIOR_INACTIVITY_SPREAD_MIN = 30.0
PRIOR_BATHROOM_VISITS = 1.0
PRIOR_BATHROOM_SPREAD = 1.0

LATE_RISING_FLOOR_MIN = 90.0
INACTIVITY_FLOOR_MIN = 180.0
INACTIVITY_MARGIN_FLOOR_MIN = 60.0
BATHROOM_MARGIN_FLOOR = 2.0
NIGHT_END_MARGIN_FLOOR_MIN = 120.0


@dataclass(frozen=True)
class Usual:
    """Median and spread of one measure; ``days`` = 0 means the prior."""

    median: float
    spread: float
    days: int = 0

    @classmethod
    def of(cls, values: list[float]) -> Usual:
        centre = median(values)
        mad = median(abs(v - centre) for v in values)
        return cls(centre, MAD_TO_SD * mad, len(values))


@dataclass(frozen=True)
class RoutineProfile:
    rising: Usual  # minutes after midnight
    bedtime: Usual  # minutes after noon (21:30 -> 570, 00:30 -> 750)
    longest_inactivity: Usual  # minutes, awake at home and out of bed
    night_bathroom_visits: Usual
    days: int = 0  # day summaries it was built from

    @classmethod
    def default(cls, usual_rising: str = "07:00", usual_bedtime: str = "22:00") -> RoutineProfile:
        rising = parse_clock(usual_rising, "usual_rising")
        bedtime = (parse_clock(usual_bedtime, "usual_bedtime") - 720) % 1440
        return cls(
            rising=Usual(rising, PRIOR_SPREAD_CLOCK_MIN),
            bedtime=Usual(bedtime, PRIOR_SPREAD_CLOCK_MIN),
            longest_inactivity=Usual(PRIOR_INACTIVITY_MIN, PRIOR_INACTIVITY_SPREAD_MIN),
            night_bathroom_visits=Usual(PRIOR_BATHROOM_VISITS, PRIOR_BATHROOM_SPREAD),
        )

    @classmethod
    def from_days(
        cls,
        summaries: Iterable[DaySummary],
        prior: RoutineProfile | None = None,
        *,
        min_days: int = MIN_DAYS,
    ) -> RoutineProfile:
        """From the last ``HISTORY_DAYS`` summaries; each measure with fewer than
        ``min_days`` values keeps ``prior``'s (``default()`` if none)."""
        base = prior or cls.default()
        recent = sorted(summaries, key=lambda s: s.day)[-HISTORY_DAYS:]
        rising, bedtime, inactivity, visits = [], [], [], []
        for s in recent:
            tz = ZoneInfo(s.tz)
            if s.rising_ms is not None:
                rising.append(clock_minutes(s.rising_ms, tz))
            if s.bedtime_ms is not None:
                bedtime.append(minutes_after_noon(s.bedtime_ms, tz))
            if s.longest_inactivity_min is not None:
                inactivity.append(s.longest_inactivity_min)
            if s.night_bathroom_visits is not None and s.bedtime_ms is not None:
                visits.append(float(s.night_bathroom_visits))

        def pick(values: list[float], fallback: Usual) -> Usual:
            return Usual.of(values) if len(values) >= min_days else fallback

        return replace(
            base,
            rising=pick(rising, base.rising),
            bedtime=pick(bedtime, base.bedtime),
            longest_inactivity=pick(inactivity, base.longest_inactivity),
            night_bathroom_visits=pick(visits, base.night_bathroom_visits),
            days=len(recent),
        )

    # -- limits ------------------------------------------------------------------------

    @property
    def late_rising_after_min(self) -> float:
        """Clock minutes after which someone still in bed is rising late."""
        return self.rising.median + max(LATE_RISING_FLOOR_MIN, 3 * self.rising.spread)

    @property
    def inactivity_limit_min(self) -> float:
        usual = self.longest_inactivity
        return max(
            INACTIVITY_FLOOR_MIN, usual.median + max(INACTIVITY_MARGIN_FLOOR_MIN, 3 * usual.spread)
        )

    @property
    def bathroom_visits_limit(self) -> float:
        """More visits than this in one night is unusual."""
        usual = self.night_bathroom_visits
        return usual.median + max(BATHROOM_MARGIN_FLOOR, 2 * usual.spread)

    @property
    def night_end_min(self) -> float:
        """Clock minutes at which the night ends: up and about after this is rising early."""
        margin = max(NIGHT_END_MARGIN_FLOOR_MIN, 3 * self.rising.spread)
        return (self.rising.median - margin) % 1440

    @property
    def usual_rising(self) -> str:
        return format_clock(self.rising.median)

    @property
    def usual_bedtime(self) -> str:
        return format_clock(self.bedtime.median + 720)

    def as_dict(self) -> dict[str, Any]:
        return {
            "usual_rising": self.usual_rising,
            "rising_spread_min": round(self.rising.spread, 1),
            "usual_bedtime": self.usual_bedtime,
            "bedtime_spread_min": round(self.bedtime.spread, 1),
            "usual_longest_inactivity_min": round(self.longest_inactivity.median, 1),
            "usual_night_bathroom_visits": self.night_bathroom_visits.median,
            "late_rising_after": format_clock(self.late_rising_after_min),
            "inactivity_limit_min": round(self.inactivity_limit_min, 1),
            "bathroom_visits_limit": self.bathroom_visits_limit,
            "night_ends": format_clock(self.night_end_min),
            "days": self.days,
            "from_own_history": [
                name
                for name in ("rising", "bedtime", "longest_inactivity", "night_bathroom_visits")
                if getattr(self, name).days > 0
            ],
        }
