"""The append-only, hash-chained audit log: who read or changed what, and when.

Each entry's hash covers its content and the previous entry's hash, so editing or
deleting any entry breaks every hash after it; ``audit_head`` keeps the last hash and the
count, so cutting entries off the end is noticed too. The hash is an HMAC-SHA256 under the
audit key (``anxin.cloud.audit.keys``), which is not in the database: without it nobody can
re-hash the chain after an edit. Entries of earlier releases are unkeyed SHA-256 (key id
''); they can only come before the first keyed entry. Signed checkpoints of the head,
written outside the database (``anxin.cloud.audit.checkpoints``), catch what a rewrite of
the whole database would otherwise hide. Entries are appended inside the caller's
transaction: a change and its audit line commit together or not at all.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from anxin.cloud.audit import keys as audit_keys
from anxin.cloud.audit.keys import KEY_SETTING, AuditKeys
from anxin.cloud.database.models import AuditEntry, AuditHead

GENESIS = "0" * 64
UNKEYED = ""  # the key id of the SHA-256 entries of earlier releases


def _canonical(fields: list[Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(
    prev_hash: str,
    at_ms: int,
    actor: str,
    action: str,
    target: str,
    person_id: str | None,
    detail: dict[str, Any] | None,
    key_id: str = UNKEYED,
    keys: AuditKeys | None = None,
) -> str:
    """The entry's hash: HMAC-SHA256 under key ``key_id`` of ``keys``, or the unkeyed
    SHA-256 of earlier releases when ``key_id`` is ''. KeyError for a key not in ``keys``."""
    fields = [prev_hash, at_ms, actor, action, target, person_id, detail]
    if key_id == UNKEYED:
        return hashlib.sha256(_canonical(fields)).hexdigest()
    if keys is None:
        raise KeyError(key_id)
    return keys.mac(key_id, _canonical([key_id, *fields]))


# pg_advisory_xact_lock key for the first entry ever ("audit" in ASCII).
FIRST_ENTRY_LOCK = 0x6175646974


def _locked_head(session: Session) -> AuditHead | None:
    return session.scalars(select(AuditHead).where(AuditHead.id == 1).with_for_update()).first()


def record(
    session: Session,
    actor: str,
    action: str,
    target: str,
    person_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry in ``session``'s transaction (the caller commits); with no audit
    key installed in this process, ``MissingAuditKeyError`` and nothing is written."""
    keys = audit_keys.required()
    if session.get_bind().dialect.name == "sqlite":
        # SQLite ignores FOR UPDATE, and a transaction that only read sees an old head once
        # another writer commits. A write first takes the database's write lock (waiting
        # for it), so the head read next is the latest and stays so until commit.
        session.execute(update(AuditHead).where(AuditHead.id == 1).values(id=AuditHead.id))
    head = _locked_head(session)
    if head is None and session.get_bind().dialect.name == "postgresql":
        # No head row to lock yet (the very first entry): writers queue on a lock of the
        # transaction instead, and each reads the head again once it holds it.
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": FIRST_ENTRY_LOCK})
        head = _locked_head(session)
    prev_hash = head.last_hash if head is not None else GENESIS
    at_ms = int(time.time() * 1000)
    kid = keys.current_id
    entry = AuditEntry(
        at_ms=at_ms,
        actor=actor,
        action=action,
        target=target,
        person_id=person_id,
        detail=detail,
        prev_hash=prev_hash,
        hash=entry_hash(prev_hash, at_ms, actor, action, target, person_id, detail, kid, keys),
        key_id=kid,
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
    place: str | None = None  # where, when it is not an entry (a checkpoint line)


@dataclass(frozen=True)
class Anchor:
    """A signed checkpoint of the head, read back from outside the database."""

    line: int
    at: str  # when it was written, for messages
    at_ms: int
    entries: int
    last_id: int | None
    last_hash: str | None


@dataclass(frozen=True)
class Verification:
    entries: int
    problems: tuple[Problem, ...]
    checkpoints: int = 0
    latest_checkpoint_ms: int | None = None

    @property
    def intact(self) -> bool:
        return not self.problems


def verify(
    session: Session,
    keys: AuditKeys | None = None,
    anchors: Sequence[Anchor] = (),
    batch: int = 5000,
) -> Verification:
    """Walk the chain from the start and report every entry that does not fit, then every
    checkpoint the chain contradicts. ``keys``: unset, the keys installed in this process."""
    keys = audit_keys.installed() if keys is None else keys
    problems: list[Problem] = []
    expected_prev = GENESIS
    count = 0
    last: AuditEntry | None = None
    keyed_from: int | None = None
    unusable_keys: set[str] = set()
    wanted = {anchor.last_id for anchor in anchors if anchor.last_id is not None}
    seen: dict[int, tuple[int, str]] = {}  # entry id -> (its place in the chain, its hash)
    for entry in _entries(session, batch):
        count += 1
        if entry.id in wanted:
            seen[entry.id] = (count, entry.hash)
        if entry.prev_hash != expected_prev:
            problems.append(
                Problem(
                    entry.id,
                    "does not follow the entry before it: an entry before it was deleted or edited",
                )
            )
        expected_prev = entry.hash
        last = entry
        fields = (
            entry.prev_hash, entry.at_ms, entry.actor, entry.action, entry.target,
            entry.person_id, entry.detail,
        )  # fmt: skip
        if entry.key_id == UNKEYED:
            if keyed_from is not None:
                problems.append(
                    Problem(
                        entry.id,
                        f"is unkeyed, but the keyed chain began at entry {keyed_from}: "
                        "re-hashed without the audit key",
                    )
                )
            elif entry_hash(*fields) != entry.hash:
                problems.append(Problem(entry.id, "its content does not match its hash: edited"))
            continue
        keyed_from = entry.id if keyed_from is None else keyed_from
        if keys is None or not keys.knows(entry.key_id):
            if entry.key_id not in unusable_keys:
                unusable_keys.add(entry.key_id)
                problems.append(Problem(entry.id, _unknown_key(entry.key_id, keys)))
            continue
        if entry_hash(*fields, entry.key_id, keys) != entry.hash:
            problems.append(Problem(entry.id, "its content does not match its hash: edited"))
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
    problems.extend(_contradicted(anchors, seen, count))
    latest = max((anchor.at_ms for anchor in anchors), default=None)
    return Verification(count, tuple(problems), len(anchors), latest)


def _unknown_key(kid: str, keys: AuditKeys | None) -> str:
    if keys is None:
        return (
            f"made with audit key {kid}, but no audit key is configured: set {KEY_SETTING} "
            "(entries made with it are not checked)"
        )
    return (
        f"made with audit key {kid}, which is neither the current key ({keys.current_id}) "
        "nor one of [audit] old_keys (entries made with it are not checked)"
    )


def _contradicted(
    anchors: Sequence[Anchor], seen: dict[int, tuple[int, str]], count: int
) -> Iterator[Problem]:
    """A checkpoint names the entry that was last, its hash and how many came up to it: all
    three must still hold, whatever was re-hashed, wiped or cut off since."""
    for anchor in anchors:
        if anchor.last_id is None or anchor.last_hash is None:
            continue
        said = (
            f"checkpoint line {anchor.line} ({anchor.at}) recorded entry {anchor.last_id} as "
            f"number {anchor.entries} in the chain"
        )
        found = seen.get(anchor.last_id)
        if found is None:
            yield Problem(
                anchor.last_id,
                f"{said}, but it is gone ({count} entries remain): "
                "entries were deleted or the log wiped",
            )
        elif found[1] != anchor.last_hash:
            yield Problem(
                anchor.last_id,
                f"{said} with hash {anchor.last_hash[:16]}…, but its hash is now "
                f"{found[1][:16]}…: the chain was rewritten",
            )
        elif found[0] != anchor.entries:
            yield Problem(
                anchor.last_id,
                f"{said}, but it is entry {found[0]} now: entries before it were deleted",
            )


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
