"""What the alert routes answer: alerts, their transitions and their notifications."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from anxin.cloud.api.operation import Moment, Reply
from anxin.cloud.care.alert_lifecycle import ALL_STATUSES

Severity = Literal["low", "medium", "high", "critical"]
AlertStatus = Literal[ALL_STATUSES]  # type: ignore[valid-type]
NullableMoment = Moment | None


class Alert(Reply):
    id: int
    person_id: str | None
    person_name: str | None
    device_id: str
    kind: str
    severity: Severity
    status: AlertStatus
    raised_at: Moment
    last_raised_at: Moment
    received_at: Moment
    delay_ms: int = Field(description="gateway raise to cloud receipt")
    occurrences: int
    observation: str | None
    value: float | None
    threshold: float | None
    message: str
    evidence: dict[str, int | float | str | bool] | None = Field(
        description="what triggered it: values and their window"
    )
    acknowledged_at: NullableMoment
    acknowledged_by: str | None
    assigned_to: str | None
    closed_at: NullableMoment
    closed_by: str | None
    outcome: str | None = Field(description="resolved: what happened; dismissed: why")
    escalation_level: int = Field(
        ge=0, le=3, description="0 nobody told yet, 1 family, 2 community worker, 3 supervisor"
    )
    next_escalation_at: NullableMoment


class AlertTransition(Reply):
    from_status: str | None
    to_status: str
    actor: str = Field(description="a username, gateway:<id> or system:<what>")
    at: Moment
    note: str


class AlertNotification(Reply):
    id: int
    recipient: str
    channel: Literal["webhook", "email", "sms"]
    escalation_level: int
    status: Literal["pending", "sent", "logged", "failed", "suppressed_rate_limit"]
    attempts: int
    created_at: Moment
    next_attempt_at: NullableMoment
    sent_at: NullableMoment
    detail: str


class AlertDetail(Alert):
    transitions: list[AlertTransition]
    notifications: list[AlertNotification] = Field(
        description="all of them for staff; a family member's or recipient's own only"
    )
