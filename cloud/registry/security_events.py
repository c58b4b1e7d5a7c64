"""Messages refused for who sent them, counted per gateway, claimed site and reason."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from anxin.cloud.database.models import SecurityEvent
from anxin.cloud.registry.registry import Registry, now_ms

MAX_REASON = 300


@dataclass(frozen=True)
class SecurityEventPage:
    events: list[SecurityEvent]
    total: int


def record(registry: Registry, gateway_id: str, site_id: str, reason: str) -> None:
    """Count one refused message (a concurrent first sighting elsewhere is retried once)."""
    reason = reason[:MAX_REASON]
    for attempt in range(2):
        try:
            _record_once(registry, gateway_id[:64], site_id[:64], reason)
            return
        except IntegrityError:
            if attempt == 1:
                raise


def _record_once(registry: Registry, gateway_id: str, site_id: str, reason: str) -> None:
    at = now_ms()
    with registry.session() as session, session.begin():
        event = session.scalars(
            select(SecurityEvent)
            .where(
                SecurityEvent.gateway_id == gateway_id,
                SecurityEvent.site_id == site_id,
                SecurityEvent.reason == reason,
            )
            .with_for_update()
        ).first()
        if event is None:
            session.add(
                SecurityEvent(
                    gateway_id=gateway_id,
                    site_id=site_id,
                    reason=reason,
                    count=1,
                    first_seen_ms=at,
                    last_seen_ms=at,
                )
            )
        else:
            event.count += 1
            event.last_seen_ms = max(event.last_seen_ms, at)


def page(registry: Registry, limit: int, offset: int) -> SecurityEventPage:
    """Newest first (by last sighting)."""
    with registry.session() as session:
        events = list(
            session.scalars(
                select(SecurityEvent)
                .order_by(SecurityEvent.last_seen_ms.desc(), SecurityEvent.id.desc())
                .limit(limit)
                .offset(offset)
            )
        )
        total = session.scalar(select(func.count()).select_from(SecurityEvent)) or 0
    return SecurityEventPage(events, int(total))
