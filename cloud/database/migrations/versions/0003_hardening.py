"""Hardening: what ingest, logins, webhooks, access revocation and the keyed audit chain
need in the registry.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 19:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # --- ingest (gateway origin, retries of messages that fail to store) ---
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), server_default="invalid", nullable=False)
        )
    op.create_table(
        "security_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("gateway_id", sa.String(length=64), nullable=False),
        sa.Column("site_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_seen_ms", sa.BigInteger(), nullable=False),
        sa.Column("last_seen_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_events")),
        sa.UniqueConstraint("gateway_id", "site_id", "reason", name="uq_security_event"),
    )
    op.create_index(
        op.f("ix_security_events_last_seen_ms"), "security_events", ["last_seen_ms"]
    )
    op.create_table(
        "ingest_heartbeats",
        sa.Column("worker_id", sa.String(length=128), nullable=False),
        sa.Column("started_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("last_stored_at_ms", sa.BigInteger(), nullable=True),
        sa.Column("waiting", sa.Integer(), nullable=False),
        sa.Column("waiting_since_ms", sa.BigInteger(), nullable=True),
        sa.Column("retrying", sa.Integer(), nullable=False),
        sa.Column("redelivered", sa.BigInteger(), nullable=False),
        sa.Column("messages", sa.BigInteger(), nullable=False),
        sa.Column("stored", sa.BigInteger(), nullable=False),
        sa.Column("dead_letters", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("worker_id", name=op.f("pk_ingest_heartbeats")),
    )
    # --- logins (throttle counters) ---
    op.create_table(
        "login_throttle",
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_ms", sa.BigInteger(), nullable=False),
        sa.Column("next_allowed_ms", sa.BigInteger(), nullable=False),
        sa.Column("last_success_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_login_throttle")),
    )
    op.create_index(
        op.f("ix_login_throttle_last_failure_ms"), "login_throttle", ["last_failure_ms"]
    )
    # --- access revocation ---
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disabled_at_ms", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("must_change_password", sa.Boolean(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("grantee_username", sa.String(length=64), nullable=True))
    # --- audit (keyed chain) ---
    # Entries already written keep key_id '': the unkeyed SHA-256 the chain starts with.
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("key_id", sa.String(length=16), server_default="", nullable=False)
        )


def downgrade() -> None:
    # --- audit (keyed chain) ---
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_column("key_id")
    # --- access revocation ---
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_column("grantee_username")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("must_change_password")
        batch_op.drop_column("disabled_at_ms")
    # --- logins (throttle counters) ---
    op.drop_index(op.f("ix_login_throttle_last_failure_ms"), table_name="login_throttle")
    op.drop_table("login_throttle")
    # --- ingest (gateway origin, retries of messages that fail to store) ---
    op.drop_table("ingest_heartbeats")
    op.drop_index(op.f("ix_security_events_last_seen_ms"), table_name="security_events")
    op.drop_table("security_events")
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.drop_column("kind")
    pass
