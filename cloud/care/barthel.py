"""The Barthel Index of activities of daily living (Mahoney & Barthel 1965, 0-100 scoring).

Ten items, each scored in steps of 5; the total is the sum, always computed here. The
dependency bands are those of Shah, Vanclay & Cooper (1989): 0-20 total, 21-60 severe,
61-90 moderate, 91-99 slight, 100 independent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.cloud.audit.chain import record
from anxin.cloud.database.models import BarthelAssessment, Person

# Allowed scores per item, in the order of the original form.
ITEMS: dict[str, tuple[int, ...]] = {
    "feeding": (0, 5, 10),
    "bathing": (0, 5),
    "grooming": (0, 5),
    "dressing": (0, 5, 10),
    "bowels": (0, 5, 10),
    "bladder": (0, 5, 10),
    "toilet_use": (0, 5, 10),
    "transfers": (0, 5, 10, 15),
    "mobility": (0, 5, 10, 15),
    "stairs": (0, 5, 10),
}

ITEM_NAMES_ZH: dict[str, str] = {
    "feeding": "进食",
    "bathing": "洗澡",
    "grooming": "修饰",
    "dressing": "穿衣",
    "bowels": "大便控制",
    "bladder": "小便控制",
    "toilet_use": "如厕",
    "transfers": "床椅转移",
    "mobility": "平地行走",
    "stairs": "上下楼梯",
}


@dataclass(frozen=True)
class Band:
    name: str
    lowest: int
    highest: int
    label_zh: str
    label_en: str


BANDS: tuple[Band, ...] = (
    Band("total", 0, 20, "完全依赖", "total dependency"),
    Band("severe", 21, 60, "重度依赖", "severe dependency"),
    Band("moderate", 61, 90, "中度依赖", "moderate dependency"),
    Band("slight", 91, 99, "轻度依赖", "slight dependency"),
    Band("independent", 100, 100, "独立", "independent"),
)


class BarthelError(ValueError):
    """An item name or score that the Barthel Index does not have; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def score(items: Mapping[str, Any]) -> int:
    """The total of a complete set of ten item scores; BarthelError names a wrong item."""
    for name in items:
        if name not in ITEMS:
            raise BarthelError(
                f"items.{name}",
                f"'{name}' is not a Barthel item (items: {', '.join(ITEMS)})",
            )
    total = 0
    for name, allowed in ITEMS.items():
        if name not in items:
            raise BarthelError(f"items.{name}", f"item '{name}' is missing; all ten are needed")
        value = items[name]
        # bool is an int in Python; true/false is never a score
        if isinstance(value, bool) or not isinstance(value, int) or value not in allowed:
            raise BarthelError(
                f"items.{name}",
                f"'{name}' must be one of {', '.join(map(str, allowed))}, got {value!r}",
            )
        total += value
    return total


def band_of(total: int) -> Band:
    for band in BANDS:
        if band.lowest <= total <= band.highest:
            return band
    raise ValueError(f"a Barthel total is 0-100, got {total}")


def record_assessment(
    session: Session,
    *,
    person_id: str,
    assessed_on: date,
    assessed_by: str,
    items: Mapping[str, Any],
    actor: str,
    at_ms: int,
    notes: str = "",
    claimed_total: int | None = None,
) -> BarthelAssessment:
    """Validate, total and store one assessment, audited in ``session``'s transaction.

    ``claimed_total`` is what a client computed, if it sent one: it must agree."""
    total = score(items)
    if claimed_total is not None and claimed_total != total:
        raise BarthelError(
            "total",
            f"'total' {claimed_total} does not match the items, which add up to {total}",
        )
    if session.get(Person, person_id) is None:
        raise LookupError(f"no person '{person_id}'")
    assessment = BarthelAssessment(
        person_id=person_id,
        assessed_on=assessed_on,
        assessed_by=assessed_by,
        items={name: int(items[name]) for name in ITEMS},
        total=total,
        notes=notes,
        recorded_at_ms=at_ms,
    )
    session.add(assessment)
    session.flush()
    record(
        session,
        actor,
        "assessment.create",
        f"assessments/{assessment.id}",
        person_id,
        {"total": total, "band": band_of(total).name, "assessed_on": assessed_on.isoformat()},
    )
    return assessment


def assessments_of(session: Session, person_id: str) -> list[BarthelAssessment]:
    """A person's assessments, newest first."""
    return list(
        session.scalars(
            select(BarthelAssessment)
            .where(BarthelAssessment.person_id == person_id)
            .order_by(BarthelAssessment.assessed_on.desc(), BarthelAssessment.id.desc())
        )
    )


def latest_assessment(session: Session, person_id: str) -> BarthelAssessment | None:
    found = assessments_of(session, person_id)
    return found[0] if found else None


def assessment_json(assessment: BarthelAssessment) -> dict[str, Any]:
    band = band_of(assessment.total)
    return {
        "id": assessment.id,
        "person_id": assessment.person_id,
        "assessed_on": assessment.assessed_on.isoformat(),
        "assessed_by": assessment.assessed_by,
        "items": dict(assessment.items),
        "total": assessment.total,
        "band": band.name,
        "band_zh": band.label_zh,
        "band_en": band.label_en,
        "notes": assessment.notes,
        "recorded_at_ms": assessment.recorded_at_ms,
    }
