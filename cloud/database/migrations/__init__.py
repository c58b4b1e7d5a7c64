"""Alembic migrations of the registry schema (run by ``anxin.cloud.database.schema``)."""
