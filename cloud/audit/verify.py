"""``anxin admin audit verify``: walk the audit chain, check it against the signed
checkpoints kept outside the database, and say whether it is intact."""

from __future__ import annotations

import sys
from typing import TextIO

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from anxin.cloud.audit.chain import Problem, Verification, verify
from anxin.cloud.audit.checkpoints import iso, read_anchors
from anxin.cloud.audit.keys import AuditKeys
from anxin.cloud.database.engines import make_engine
from anxin.config import AuditConfig, CloudConfig


def verify_with_checkpoints(session: Session, config: AuditConfig) -> Verification:
    """The chain in ``session`` checked with the configured keys and checkpoint file."""
    keys = AuditKeys.from_settings(config)
    anchors, unreadable = read_anchors(config.checkpoint_file, keys)
    result = verify(session, keys, anchors)
    if not unreadable:
        return result
    return Verification(
        result.entries,
        (*unreadable, *result.problems),
        result.checkpoints,
        result.latest_checkpoint_ms,
    )


def verify_audit_log(config: CloudConfig, out: TextIO = sys.stdout) -> int:
    """Print the outcome and each problem; 0 when intact, 1 otherwise."""
    engine = make_engine(config.registry.url)
    try:
        with Session(engine) as session:
            result = verify_with_checkpoints(session, config.audit)
    except SQLAlchemyError as exc:
        print(f"cannot read the audit log at {engine.url!r}: {exc}", file=out)
        return 1
    except OSError as exc:
        print(f"cannot read the audit checkpoints: {exc}", file=out)
        return 1
    finally:
        engine.dispose()
    for problem in result.problems:
        print(f"  {_place(problem)}: {problem.what}", file=out)
    if not result.intact:
        print(
            f"the audit log is NOT intact: {len(result.problems)} problem(s) in "
            f"{result.entries} entries and {result.checkpoints} checkpoints",
            file=out,
        )
        return 1
    latest = (
        f"latest at {iso(result.latest_checkpoint_ms)}"
        if result.latest_checkpoint_ms is not None
        else f"none in {config.audit.checkpoint_file} yet: nothing outside the database "
        "vouches for the chain"
    )
    print(
        f"the audit log is intact: {result.entries} entries, checked against "
        f"{result.checkpoints} checkpoints, {latest}",
        file=out,
    )
    return 0


def _place(problem: Problem) -> str:
    if problem.place is not None:
        return problem.place
    return f"entry {problem.entry_id}" if problem.entry_id is not None else "chain"
