"""Putting notifications in the outbox (the ``notifications`` table) for one recipient.

The row is written in the caller's transaction, together with the escalation that
caused it; the dispatcher delivers it later. The recipient's preferences are applied
here: channels and severity floor, quiet hours (deferred to their end, never dropped)
and the hourly limit (the excess is kept as ``suppressed_rate_limit`` and not sent).
Neither quiet hours nor the limit ever hold back a critical alert.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from anxin.cloud.database.models import Alert, Notification, User
from anxin.cloud.notify.preferences import quiet_until, wants, zone
from anxin.config import NotificationsConfig

CHANNELS = ("webhook", "email", "sms")
HOUR_MS = 3_600_000


def contact_point(user: User, channel: str) -> str | None:
    """Whether the user left an address for ``channel`` (the phone stays encrypted here)."""
    return {"webhook": user.webhook_url, "email": user.email, "sms": user.phone_enc}.get(channel)


def sent_in_last_hour(session: Session, username: str, now_ms: int) -> int:
    """Alerts this recipient was notified of (or is about to be) in the hour before ``now_ms``."""
    return int(
        session.scalar(
            select(func.count(func.distinct(Notification.alert_id))).where(
                Notification.recipient == username,
                Notification.created_at_ms > now_ms - HOUR_MS,
                Notification.status != "suppressed_rate_limit",
            )
        )
        or 0
    )


def enqueue(
    session: Session,
    alert: Alert,
    user: User,
    level: int,
    now_ms: int,
    config: NotificationsConfig,
) -> list[Notification]:
    """The rows for ``user`` about ``alert`` (none when their preferences ask for none)."""
    if user.disabled or not wants(alert.severity, user.notify_min_severity):
        return []
    channels = [c for c in dict.fromkeys(user.notify_channels or []) if c in CHANNELS]
    if not channels:
        return []
    status, due, detail = "pending", now_ms, ""
    if alert.severity != "critical":
        if sent_in_last_hour(session, user.username, now_ms) >= config.max_per_hour:
            status = "suppressed_rate_limit"
            detail = f"not sent: {user.username} had {config.max_per_hour} alerts in the last hour"
        else:
            quiet_end = quiet_until(user.quiet_start, user.quiet_end, user.timezone, now_ms)
            if quiet_end is not None:
                due = quiet_end
                local_end = datetime.fromtimestamp(quiet_end / 1000, zone(user.timezone))
                detail = f"deferred by quiet hours until {local_end:%Y-%m-%d %H:%M} {user.timezone}"
    rows = []
    for channel in channels:
        row = Notification(
            alert_id=alert.id,
            recipient=user.username,
            channel=channel,
            severity=alert.severity,
            escalation_level=level,
            status=status,
            attempts=0,
            next_attempt_at_ms=due,
            created_at_ms=now_ms,
            detail=detail,
        )
        if status == "pending" and not contact_point(user, channel):
            row.status, row.detail = "failed", f"{user.username} has no {channel} contact point"
        rows.append(row)
    session.add_all(rows)
    return rows
