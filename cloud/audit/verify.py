"""``anxin admin audit verify``: walk the audit chain and say whether it is intact."""

from __future__ import annotations

import sys
from typing import TextIO

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from anxin.cloud.audit.chain import verify
from anxin.cloud.database.engines import make_engine
from anxin.config import CloudConfig


def verify_audit_log(config: CloudConfig, out: TextIO = sys.stdout) -> int:
    """Print how many entries were checked and each problem; 0 when intact, 1 otherwise."""
    engine = make_engine(config.registry.url)
    try:
        with Session(engine) as session:
            result = verify(session)
    except SQLAlchemyError as exc:
        print(f"cannot read the audit log at {engine.url!r}: {exc}", file=out)
        return 1
    finally:
        engine.dispose()
    print(f"checked {result.entries} audit entries", file=out)
    for problem in result.problems:
        where = f"entry {problem.entry_id}" if problem.entry_id is not None else "chain"
        print(f"  {where}: {problem.what}", file=out)
    if result.intact:
        print("the audit log is intact", file=out)
        return 0
    print(f"the audit log is NOT intact: {len(result.problems)} problem(s)", file=out)
    return 1
