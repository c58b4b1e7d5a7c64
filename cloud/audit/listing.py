"""Reading the audit log back: newest first, filtered, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.cloud.database.models import AuditEntry


@dataclass(frozen=True)
class AuditFilter:
    person_id: str | None = None
    actor: str | None = None
    since_ms: int | None = None
    before_id: int | None = None  # the page after the one that ended at this entry
    limit: int = 100


def audit_page(session: Session, wanted: AuditFilter) -> tuple[list[AuditEntry], int | None]:
    """Up to ``limit`` entries, newest first, and the ``before_id`` of the next page."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(wanted.limit + 1)
    if wanted.person_id is not None:
        query = query.where(AuditEntry.person_id == wanted.person_id)
    if wanted.actor is not None:
        query = query.where(AuditEntry.actor == wanted.actor)
    if wanted.since_ms is not None:
        query = query.where(AuditEntry.at_ms >= wanted.since_ms)
    if wanted.before_id is not None:
        query = query.where(AuditEntry.id < wanted.before_id)
    rows = list(session.scalars(query))
    more = len(rows) > wanted.limit
    rows = rows[: wanted.limit]
    return rows, (rows[-1].id if more and rows else None)


def entry_json(entry: AuditEntry, at: str) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": at,
        "at_ms": entry.at_ms,
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "person_id": entry.person_id,
        "detail": entry.detail,
        "hash": entry.hash,
    }
