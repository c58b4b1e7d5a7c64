"""What the care routes answer: interventions, Barthel assessments, follow-ups, rules."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, WithJsonSchema

from anxin.cloud.api.operation import Day, Moment, Reply
from anxin.cloud.care import barthel, interventions

Kind = Literal[interventions.KINDS]  # type: ignore[valid-type]
Status = Literal[interventions.STATUSES]  # type: ignore[valid-type]
FollowUpStatus = Literal["open", "done", "dismissed"]
# The items and scores of the Barthel form, from the table that scores them.
ITEMS_SCHEMA = WithJsonSchema(
    {
        "type": "object",
        "description": "Barthel Index (Mahoney & Barthel 1965), each item's allowed scores",
        "required": list(barthel.ITEMS),
        "additionalProperties": False,
        "properties": {name: {"enum": list(scores)} for name, scores in barthel.ITEMS.items()},
    }
)


class Intervention(Reply):
    id: int
    person_id: str
    person_name: str | None
    kind: Kind
    alert_id: int | None
    follow_up_id: int | None
    status: Status
    assigned_to: str | None
    due_at_ms: int | None
    due_at: Moment | None
    created_by: str
    created_at_ms: int
    created_at: Moment
    completed_at_ms: int | None
    completed_at: Moment | None
    outcome: str | None = Field(description="done: what happened; cancelled: why")
    notes: str


class BarthelAssessment(Reply):
    id: int
    person_id: str
    assessed_on: Day
    assessed_by: str
    items: Annotated[dict[str, int], ITEMS_SCHEMA]
    total: int = Field(ge=0, le=100)
    band: Literal[tuple(band.name for band in barthel.BANDS)] = Field(  # type: ignore[valid-type]
        description="Shah et al. 1989: 0-20 total, 21-60 severe, 61-90 moderate, "
        "91-99 slight, 100 independent"
    )
    band_zh: str
    band_en: str
    notes: str
    recorded_at_ms: int


class FollowUp(Reply):
    id: int
    person_id: str
    rule_id: str
    action: Kind
    status: FollowUpStatus
    explanation_zh: str
    explanation_en: str
    evidence: dict[str, Any] = Field(
        description="each condition's finding with the readings, dates and alert ids it "
        "saw, and attachments (a wear record, or why it was withheld)"
    )
    created_at_ms: int
    closed_at_ms: int | None


class FollowUpDetail(FollowUp):
    interventions: list[Intervention]


class EvaluateResult(Reply):
    raised: list[FollowUp]


class FollowUpRules(Reply):
    source: str
    timezone: str
    rules: list[dict[str, Any]]
