"""Alembic migrations of the registry schema (run by ``anxin.cloud.schema``)."""
