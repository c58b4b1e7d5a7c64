"""The registry's schema revision: the Alembic migrations in ``cloud/database/migrations``, run in
this process on the registry's own engine (no ``alembic.ini`` needed).

A database the previous release made with ``create_all`` (its tables, no
``alembic_version``) is stamped with that release's revision and then upgraded."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from anxin.cloud.database.engines import make_engine
from anxin.cloud.database.models import Base

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
# The revision whose tables the previous release created without Alembic.
PREVIOUS_RELEASE = "0001"
PREVIOUS_RELEASE_TABLES = frozenset(
    {
        "persons",
        "gateways",
        "devices",
        "bindings",
        "users",
        "family_links",
        "api_sessions",
        "alerts",
        "alert_repeats",
        "dead_letters",
        "enrolment_tokens",
        "gateway_credentials",
    }
)
# Any fixed number: PostgreSQL's advisory lock that lets one process migrate at a time.
_PG_LOCK_KEY = 0x616E78696E


class SchemaError(RuntimeError):
    """The database's schema cannot be brought to the wanted revision."""


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.cache
def scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    head = scripts().get_current_head()
    assert head is not None, "cloud/database/migrations/versions holds no revision"
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for an empty (or pre-Alembic) database."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, target: str = "head") -> str | None:
    """Bring the registry to ``target`` (default: the newest revision); return where it is."""
    return migrate(engine, target)


def migrate(engine: Engine, target: str, allow_downgrade: bool = False) -> str | None:
    """Upgrade or (only with ``allow_downgrade``: it drops data) downgrade to ``target``
    ("head", "base" or a revision id); return the revision the database is then at."""
    wanted = _resolve(target)
    if wanted is not None and wanted == head_revision() and current_revision(engine) == wanted:
        return wanted  # the common case, kept to one query
    with _migration_connection(engine) as connection:
        current = MigrationContext.configure(connection).get_current_revision()
        if current is None:
            current = _stamp_pre_alembic(connection)
        elif current not in _known_revisions():
            raise SchemaError(
                f"the registry is at schema revision {current!r}, which this version of Anxin"
                " does not know (was it made by a newer release?)"
            )
        if current == wanted:
            return current
        log.info("registry schema: migrating from %s to %s", current or "base", target)
        if _is_older(wanted, current):
            if not allow_downgrade:
                raise SchemaError(
                    f"going from revision {current} down to {target} drops tables or columns"
                    " and their data; downgrading must be asked for explicitly"
                )
            _run_migrations(connection, wanted or "base", forward=False)
        else:
            _run_migrations(connection, wanted or "base", forward=True)
        return MigrationContext.configure(connection).get_current_revision()


def write_revision(message: str) -> Path:
    """For developers, after changing cloud/database/models.py: write the next numbered revision
    (``versions/<id>_<message>.py``) with what the models have that the newest revision
    lacks, diffed on a scratch in-memory SQLite database. Review it before committing."""
    next_id = f"{int(head_revision()) + 1:04d}"
    engine = make_engine("sqlite://")
    try:
        upgrade(engine)
        with engine.connect() as connection:
            script = command.revision(
                alembic_config(connection), message=message, autogenerate=True, rev_id=next_id
            )
    finally:
        engine.dispose()
    assert script is not None and not isinstance(script, list)
    return Path(script.path)


def _run_migrations(connection: Connection, destination: str, forward: bool) -> None:
    """What ``alembic.command.upgrade``/``downgrade`` do, but with the revision scripts
    loaded once per process instead of on every call (tests create schemas often)."""
    script = scripts()

    def steps(revision: Any, _context: MigrationContext) -> Any:
        if forward:
            return script._upgrade_revs(destination, revision)
        return script._downgrade_revs(destination, revision)

    with EnvironmentContext(
        alembic_config(connection),
        script,
        fn=steps,
        as_sql=False,
        starting_rev=None,
        destination_rev=destination,
    ):
        script.run_env()


def _known_revisions() -> set[str]:
    return {script.revision for script in scripts().walk_revisions()}


def _resolve(target: str) -> str | None:
    if target == "base":
        return None
    try:
        revision = scripts().get_revision(target)
    except Exception as exc:  # alembic raises several kinds for an unknown id
        raise SchemaError(f"unknown schema revision {target!r}") from exc
    if revision is None:
        raise SchemaError(f"unknown schema revision {target!r}")
    return revision.revision


def _is_older(wanted: str | None, current: str | None) -> bool:
    """Whether ``wanted`` comes before ``current`` in the (linear) revision history."""
    if current is None:
        return False
    if wanted is None:
        return True
    older = {script.revision for script in scripts().iterate_revisions(current, "base")}
    return wanted in older and wanted != current


def _stamp_pre_alembic(connection: Connection) -> str | None:
    """Stamp a database made by ``create_all`` with the revision its tables match."""
    inspector = inspect(connection)
    present = set(inspector.get_table_names()) & set(Base.metadata.tables)
    if not present:
        return None  # empty: nothing to stamp
    missing_now = [
        f"{table.name}.{column.name}"
        for table in Base.metadata.tables.values()
        for column in table.columns
        if table.name not in present
        or column.name not in {c["name"] for c in inspector.get_columns(table.name)}
    ]
    if not missing_now:
        revision = head_revision()  # made by create_all of this very version
    elif present == PREVIOUS_RELEASE_TABLES:
        revision = PREVIOUS_RELEASE
    else:
        raise SchemaError(
            "the registry database has tables but no alembic_version, and they match no"
            f" known release (lacking {', '.join(missing_now[:5])}"
            f"{', …' if len(missing_now) > 5 else ''}); back it up and start from an empty one"
        )
    MigrationContext.configure(connection).stamp(scripts(), revision)
    return revision


@contextmanager
def _migration_connection(engine: Engine) -> Iterator[Connection]:
    """A connection inside one transaction that no other migrating process can share."""
    with engine.connect() as connection:
        if engine.dialect.name != "sqlite":
            with connection.begin():
                if engine.dialect.name == "postgresql":
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY}
                    )
                yield connection
            return
        # Batch mode copies a table and drops the original: with foreign keys enforced
        # that drop would fail on every referencing row. The pragma only takes effect
        # outside a transaction.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
        try:
            with connection.begin():
                connection.exec_driver_sql("BEGIN IMMEDIATE")  # one writer at a time
                yield connection
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise SchemaError(f"migration left rows with dangling foreign keys: {broken}")
        finally:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
