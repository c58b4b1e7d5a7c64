"""Audit entries that are not part of another change (reads, logins, refusals), each in its
own transaction, retried when a concurrent writer took the same place in the chain."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError, OperationalError

from anxin.cloud.audit.chain import record
from anxin.cloud.registry.registry import Registry

log = logging.getLogger(__name__)
T = TypeVar("T")

ATTEMPTS = 12
# Column widths of audit_log: longer values are cut rather than refused by PostgreSQL.
ACTOR_CHARS, TARGET_CHARS, PERSON_ID_CHARS = 64, 200, 32


def append(
    registry: Registry,
    actor: str,
    action: str,
    target: str,
    person_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one entry; raises the last database error if every attempt lost a race."""
    if person_id is not None and len(person_id) > PERSON_ID_CHARS:
        detail = (detail or {}) | {"person_id": person_id[:200]}
        person_id = None

    def write() -> None:
        with registry.session() as session, session.begin():
            record(session, actor[:ACTOR_CHARS], action, target[:TARGET_CHARS], person_id, detail)

    retrying(write)


def retrying(change: Callable[[], T], attempts: int = ATTEMPTS) -> T:
    """Run ``change`` (one transaction that appends to the audit chain) until it is not
    refused for losing a race; raise the last database error after ``attempts`` tries."""
    for attempt in range(attempts):
        try:
            return change()
        except (IntegrityError, OperationalError):
            # Two writers chained to the same predecessor: the unique prev_hash refused the
            # second one (or SQLite was busy). Nothing was written; try again on the new head.
            if attempt == attempts - 1:
                raise
            log.debug("audit append raced another writer; retrying (attempt %d)", attempt + 1)
            time.sleep(random.uniform(0.001, 0.005) * (attempt + 1))  # jitter: do not collide again
    raise AssertionError("unreachable")
