"""Ingest workers' heartbeats in the registry, and what /health makes of them.

Ingest usually runs in processes of its own: each worker writes one row about itself every
few seconds (``HEARTBEAT_S``), so the API can tell whether ingest keeps up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select

from anxin.cloud.database.models import IngestHeartbeat
from anxin.cloud.registry.registry import Registry

HEARTBEAT_S = 2.0
# A heartbeat older than this many intervals means the worker is gone or hung.
MISSED_BEATS = 15


@dataclass(frozen=True)
class WorkerStatus:
    worker_id: str
    started_at_ms: int
    updated_at_ms: int
    last_stored_at_ms: int | None
    waiting: int
    waiting_since_ms: int | None
    retrying: int
    redelivered: int
    messages: int
    stored: int
    dead_letters: dict[str, int] = field(default_factory=dict)


def write(registry: Registry, status: WorkerStatus) -> None:
    with registry.session() as session, session.begin():
        session.merge(IngestHeartbeat(**status.__dict__))


def remove(registry: Registry, worker_id: str) -> None:
    with registry.session() as session, session.begin():
        session.execute(delete(IngestHeartbeat).where(IngestHeartbeat.worker_id == worker_id))


def read_all(registry: Registry) -> list[IngestHeartbeat]:
    with registry.session() as session:
        return list(session.scalars(select(IngestHeartbeat).order_by(IngestHeartbeat.worker_id)))


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def assess(
    beats: list[IngestHeartbeat], now_ms: int, stalled_after_s: float
) -> tuple[list[str], dict[str, Any]]:
    """Why ingest is not keeping up (empty when it is) and what to show about it.

    A worker has stalled when messages have waited, with nothing stored, for longer than
    ``stalled_after_s``; it is gone when its heartbeat stopped. Only counts and times are
    shown: nothing about any person or gateway.
    """
    reasons: list[str] = []
    workers = []
    stalled_ms = stalled_after_s * 1000
    for beat in beats:
        silent_s = (now_ms - beat.updated_at_ms) / 1000
        progress = beat.last_stored_at_ms or beat.started_at_ms
        if silent_s > max(HEARTBEAT_S * MISSED_BEATS, stalled_after_s):
            reasons.append(f"ingest worker {beat.worker_id} has not reported for {silent_s:.0f} s")
        elif (
            beat.waiting > 0
            and beat.waiting_since_ms is not None
            and now_ms - beat.waiting_since_ms > stalled_ms
            and now_ms - progress > stalled_ms
        ):
            waited_s = (now_ms - max(beat.waiting_since_ms, progress)) / 1000
            reasons.append(
                f"ingest worker {beat.worker_id} has {beat.waiting} messages waiting and has "
                f"stored nothing for {waited_s:.0f} s"
            )
        workers.append(
            {
                "worker": beat.worker_id,
                "reported": _iso(beat.updated_at_ms),
                "last_stored": _iso(beat.last_stored_at_ms),
                "waiting": beat.waiting,
                "retrying": beat.retrying,
                "redelivered": beat.redelivered,
                "messages": beat.messages,
                "stored": beat.stored,
                "dead_letters": dict(beat.dead_letters or {}),
            }
        )
    summary = {
        "workers": workers,
        "waiting": sum(beat.waiting for beat in beats),
        "poison": sum((beat.dead_letters or {}).get("unstorable", 0) for beat in beats),
    }
    return reasons, summary
