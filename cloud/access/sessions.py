"""A user's open sessions: listing them and ending them (one, all, or all but the one in use).

Sessions are shown by a public id derived from the stored token hash, so a listing never
contains anything that could be sent as a bearer token. Each function works inside the
caller's transaction; those that end sessions on request write their audit entry there.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from anxin.cloud.audit.chain import record
from anxin.cloud.database.models import ApiSession


def public_id(token_hash: str) -> str:
    return hashlib.sha256(f"anxin-session|{token_hash}".encode()).hexdigest()[:24]


def live_sessions(
    session: Session, username: str, at_ms: int, idle_s: int | None
) -> list[ApiSession]:
    """The user's sessions that have neither expired nor sat idle, newest first."""
    query = select(ApiSession).where(
        ApiSession.username == username, ApiSession.expires_at_ms > at_ms
    )
    if idle_s is not None:
        query = query.where(ApiSession.last_used_at_ms >= at_ms - idle_s * 1000)
    return list(session.scalars(query.order_by(ApiSession.created_at_ms.desc())))


def end_sessions(session: Session, username: str, keep_token_hash: str | None = None) -> int:
    """Delete the user's sessions (but ``keep_token_hash``'s); how many there were."""
    query = delete(ApiSession).where(ApiSession.username == username)
    if keep_token_hash is not None:
        query = query.where(ApiSession.token_hash != keep_token_hash)
    return int(session.execute(query).rowcount or 0)  # type: ignore[attr-defined]


def end_all(session: Session, actor: str, username: str) -> int:
    """Log ``username`` out everywhere; how many sessions ended."""
    ended = end_sessions(session, username)
    record(session, actor, "session.end", f"users/{username}", None, {"sessions_ended": ended})
    return ended


def end_one(session: Session, actor: str, username: str, session_id: str) -> bool:
    """End the user's session with public id ``session_id``; False when they have none."""
    rows = session.scalars(select(ApiSession).where(ApiSession.username == username))
    row = next((r for r in rows if public_id(r.token_hash) == session_id), None)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    record(
        session,
        actor,
        "session.end",
        f"users/{username}",
        None,
        {"sessions_ended": 1, "session": session_id},
    )
    return True
