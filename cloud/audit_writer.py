"""Audit entries that are not part of another change (reads, logins, refusals), each in its
own transaction, retried when a concurrent writer took the same place in the chain."""

from __future__ import annotations

import logging
import random
import time
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError

from anxin.cloud.audit import record
from anxin.cloud.registry import Registry

log = logging.getLogger(__name__)

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
    for attempt in range(ATTEMPTS):
        try:
            with registry.session() as session, session.begin():
                record(
                    session,
                    actor[:ACTOR_CHARS],
                    action,
                    target[:TARGET_CHARS],
                    person_id,
                    detail,
                )
            return
        except (IntegrityError, OperationalError):
            # Two writers chained to the same predecessor: the unique prev_hash refused the
            # second one (or SQLite was busy). Nothing was written; try again on the new head.
            if attempt == ATTEMPTS - 1:
                raise
            log.debug("audit append raced another writer; retrying (attempt %d)", attempt + 1)
            time.sleep(random.uniform(0.001, 0.005) * (attempt + 1))  # jitter: do not collide again
