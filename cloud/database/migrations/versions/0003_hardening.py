"""Hardening: what ingest, logins, webhooks, access revocation and the keyed audit chain
need in the registry.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 19:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # --- ingest (gateway origin, retries of messages that fail to store) ---
    # --- logins (throttle counters) ---
    # --- access revocation ---
    # --- audit (keyed chain) ---
    pass


def downgrade() -> None:
    # --- audit (keyed chain) ---
    # --- access revocation ---
    # --- logins (throttle counters) ---
    # --- ingest (gateway origin, retries of messages that fail to store) ---
    pass
