"""Alembic's environment for the registry: runs on the connection ``anxin.cloud.database.schema``
hands over (``config.attributes["connection"]``), or on ``sqlalchemy.url`` when the
``alembic`` command line is used by a developer."""

from __future__ import annotations

from typing import Any

from alembic import context
from alembic.operations import ops
from sqlalchemy import Boolean, Column, Connection

from anxin.cloud.database.engines import make_engine
from anxin.cloud.database.models import Base


def server_default_for(column: Column[Any]) -> Any:
    """A literal the database fills existing rows with, from the model's Python default."""
    default = column.default
    if default is not None and default.is_scalar:
        value = default.arg  # type: ignore[attr-defined]
        if isinstance(column.type, Boolean):
            # A quoted '1'/'0' is a boolean to PostgreSQL and an integer to SQLite, and
            # being a constant lets SQLite add the column without copying the table.
            return "1" if value else "0"
        return str(value)
    # default=list: SQLAlchemy wraps the callable, keeping it as ``__wrapped__``.
    if default is not None and getattr(default.arg, "__wrapped__", None) is list:  # type: ignore[attr-defined]
        return "[]"
    raise ValueError(
        f"new NOT NULL column {column.table.name}.{column.name} needs a scalar default"
        " (or a server_default) so existing rows can be filled"
    )


def fill_existing_rows(_context: Any, _revision: Any, directives: list[Any]) -> None:
    """Autogenerate hook: a NOT NULL column added to an existing table gets a server
    default, or the ALTER fails on every table that already holds rows."""
    for script in directives:
        for table_ops in script.upgrade_ops.ops:
            if not isinstance(table_ops, ops.ModifyTableOps):
                continue
            for op in table_ops.ops:
                column = op.column if isinstance(op, ops.AddColumnOp) else None
                if column is None or column.nullable or column.server_default is not None:
                    continue
                op.column = Column(
                    column.name,
                    column.type,
                    nullable=False,
                    server_default=server_default_for(column),
                )


def registry_tables_only(name: str | None, kind: str, _parent: Any) -> bool:
    """Autogenerate filter: the SQL time-series table may share the database; it is not
    ours (``anxin.cloud.ingest.timeseries`` creates it), so never propose dropping it."""
    return kind != "table" or name in Base.metadata.tables


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things: batch mode copies the table instead.
        render_as_batch=True,
        compare_type=True,
        process_revision_directives=fill_existing_rows,
        include_name=registry_tables_only,
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    if context.is_offline_mode():
        raise SystemExit("offline (--sql) migrations are not supported; run against a database")
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    engine = make_engine(context.config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.connect() as connection:
            run_on(connection)
    finally:
        engine.dispose()


main()
