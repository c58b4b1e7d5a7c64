"""The append-only, hash-chained audit log: who read or changed what, and when.

Each entry's hash covers its content and the previous entry's hash, so editing or
deleting any entry breaks every hash after it; ``audit_head`` keeps the last hash and the
count, so cutting entries off the end is noticed too. Entries are appended inside the
caller's transaction: a change and its audit line commit together or not at all.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.cloud.database.models import AuditEntry, AuditHead

GENESIS = "0" * 64


def entry_hash(
    prev_hash: str,
    at_ms: int,
    actor: str,
    action: str,
    target: str,
    person_id: str | None,
    detail: dict[str, Any] | None,
) -> str:
    canonical = json.dumps(
        [prev_hash, at_ms, actor, action, target, person_id, detail],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def record(
    session: Session,
    actor: str,
    action: str,
    target: str,
    person_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry in ``session``'s transaction (the caller commits)."""
    head = session.scalars(select(AuditHead).where(AuditHead.id == 1).with_for_update()).first()
    prev_hash = head.last_hash if head is not None else GENESIS
    at_ms = int(time.time() * 1000)
    entry = AuditEntry(
        at_ms=at_ms,
        actor=actor,
        action=action,
        target=target,
        person_id=person_id,
        detail=detail,
        prev_hash=prev_hash,
        hash=entry_hash(prev_hash, at_ms, actor, action, target, person_id, detail),
    )
    session.add(entry)
    session.flush()
    if head is None:
        session.add(AuditHead(id=1, last_id=entry.id, last_hash=entry.hash, entries=1))
    else:
        head.last_id, head.last_hash, head.entries = entry.id, entry.hash, head.entries + 1
    session.flush()
    return entry


@dataclass(frozen=True)
class Problem:
    entry_id: int | None
    what: str


@dataclass(frozen=True)
class Verification:
    entries: int
    problems: tuple[Problem, ...]

    @property
    def intact(self) -> bool:
        return not self.problems


def verify(session: Session, batch: int = 5000) -> Verification:
    """Walk the chain from the start and report every entry that does not fit."""
    problems: list[Problem] = []
    expected_prev = GENESIS
    count = 0
    last: AuditEntry | None = None
    for entry in _entries(session, batch):
        count += 1
        if entry.prev_hash != expected_prev:
            problems.append(
                Problem(
                    entry.id,
                    "does not follow the entry before it: an entry before it was deleted or edited",
                )
            )
        recomputed = entry_hash(
            entry.prev_hash,
            entry.at_ms,
            entry.actor,
            entry.action,
            entry.target,
            entry.person_id,
            entry.detail,
        )
        if recomputed != entry.hash:
            problems.append(Problem(entry.id, "its content does not match its hash: edited"))
        expected_prev = entry.hash
        last = entry
    head = session.get(AuditHead, 1)
    if head is None and count:
        problems.append(Problem(None, "the chain head is missing"))
    elif head is not None:
        if head.entries != count:
            problems.append(
                Problem(None, f"the head counts {head.entries} entries but {count} remain")
            )
        if last is None or head.last_hash != last.hash:
            problems.append(
                Problem(
                    head.last_id,
                    "the last entry is not the one the head records: entries were cut off the end",
                )
            )
    return Verification(count, tuple(problems))


def _entries(session: Session, batch: int) -> Iterator[AuditEntry]:
    after = 0
    while True:
        rows = list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.id > after).order_by(AuditEntry.id).limit(batch)
            )
        )
        if not rows:
            return
        yield from rows
        after = rows[-1].id
        session.expunge_all()
