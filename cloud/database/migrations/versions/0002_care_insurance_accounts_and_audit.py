"""What this release adds to the previous one's registry: care (interventions, Barthel
assessments, follow-ups, chronic registrations), consents, notifications, alert lifecycle
and escalation, account security and contact preferences, insured-person fields and the
audit log.

A NOT NULL column added to an existing table carries a server default, so rows the
previous release stored are filled in (e.g. ``persons.ltc_insurance_status`` = "none").

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 00:05:22.190652
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("person_id", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_log_hash")),
        sa.UniqueConstraint("prev_hash", name=op.f("uq_audit_log_prev_hash")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_person_id"), ["person_id"], unique=False)

    op.create_table(
        "barthel_assessments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("person_id", sa.String(length=32), nullable=False),
        sa.Column("assessed_on", sa.Date(), nullable=False),
        sa.Column("assessed_by", sa.String(length=64), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("recorded_at_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_barthel_assessments_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_barthel_assessments")),
    )
    with op.batch_alter_table("barthel_assessments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_barthel_assessments_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "chronic_registrations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("person_id", sa.String(length=32), nullable=False),
        sa.Column("condition", sa.String(length=32), nullable=False),
        sa.Column("registered_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_chronic_registrations_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chronic_registrations")),
    )
    with op.batch_alter_table("chronic_registrations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_chronic_registrations_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "consents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("person_id", sa.String(length=32), nullable=False),
        sa.Column("data_scope", sa.String(length=32), nullable=False),
        sa.Column("grantee", sa.String(length=32), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("granted_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("revoked_at_ms", sa.BigInteger(), nullable=True),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_consents_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consents_person_id"), ["person_id"], unique=False)

    op.create_table(
        "follow_ups",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("person_id", sa.String(length=32), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("closed_at_ms", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_follow_ups_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_ups")),
    )
    with op.batch_alter_table("follow_ups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_follow_ups_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_follow_ups_status"), ["status"], unique=False)

    op.create_table(
        "alert_transitions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_alert_transitions_alert_id_alerts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_transitions")),
    )
    with op.batch_alter_table("alert_transitions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_alert_transitions_alert_id"), ["alert_id"], unique=False
        )

    op.create_table(
        "interventions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("person_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("follow_up_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("assigned_to", sa.String(length=64), nullable=True),
        sa.Column("due_at_ms", sa.BigInteger(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("completed_at_ms", sa.BigInteger(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_interventions_alert_id_alerts")
        ),
        sa.ForeignKeyConstraint(
            ["follow_up_id"],
            ["follow_ups.id"],
            name=op.f("fk_interventions_follow_up_id_follow_ups"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_interventions_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interventions")),
    )
    with op.batch_alter_table("interventions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_interventions_assigned_to"), ["assigned_to"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_interventions_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_interventions_status"), ["status"], unique=False)

    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("sent_at_ms", sa.BigInteger(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_notifications_alert_id_alerts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notifications_alert_id"), ["alert_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notifications_recipient"), ["recipient"], unique=False)
        batch_op.create_index(batch_op.f("ix_notifications_status"), ["status"], unique=False)

    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("acknowledged_at_ms", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("acknowledged_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("assigned_to", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("closed_at_ms", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("closed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("outcome", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("escalation_level", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("next_escalation_at_ms", sa.BigInteger(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_alerts_next_escalation_at_ms"), ["next_escalation_at_ms"], unique=False
        )

    with op.batch_alter_table("api_sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("created_at_ms", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("last_used_at_ms", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("restricted", sa.Boolean(), server_default="0", nullable=False)
        )

    with op.batch_alter_table("family_links", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notify", sa.Boolean(), server_default="1", nullable=False))

    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resident_id_enc", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("resident_id_index", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("phone_enc", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("insured_region_code", sa.String(length=6), nullable=True))
        batch_op.add_column(
            sa.Column("medical_insurance_type", sa.String(length=32), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "ltc_insurance_status", sa.String(length=16), server_default="none", nullable=False
            )
        )
        batch_op.add_column(sa.Column("ltc_assessed_level", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("family_doctor", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("family_doctor_contract_until", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("pension_certification_due", sa.Date(), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_persons_resident_id_index"), ["resident_id_index"]
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("supervisor", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("person_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("totp_secret_enc", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("totp_pending_enc", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("locked_until_ms", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("disabled", sa.Boolean(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column("phone_enc", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("webhook_url", sa.String(length=500), nullable=True))
        batch_op.add_column(
            sa.Column("notify_channels", sa.JSON(), server_default="[]", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "notify_min_severity", sa.String(length=16), server_default="high", nullable=False
            )
        )
        batch_op.add_column(sa.Column("quiet_start", sa.String(length=5), nullable=True))
        batch_op.add_column(sa.Column("quiet_end", sa.String(length=5), nullable=True))
        batch_op.add_column(
            sa.Column(
                "timezone", sa.String(length=64), server_default="Asia/Shanghai", nullable=False
            )
        )
        batch_op.add_column(
            sa.Column("language", sa.String(length=2), server_default="zh", nullable=False)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_users_person_id_persons"), "persons", ["person_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_users_person_id_persons"), type_="foreignkey")
        batch_op.drop_column("language")
        batch_op.drop_column("timezone")
        batch_op.drop_column("quiet_end")
        batch_op.drop_column("quiet_start")
        batch_op.drop_column("notify_min_severity")
        batch_op.drop_column("notify_channels")
        batch_op.drop_column("webhook_url")
        batch_op.drop_column("phone_enc")
        batch_op.drop_column("email")
        batch_op.drop_column("disabled")
        batch_op.drop_column("locked_until_ms")
        batch_op.drop_column("failed_logins")
        batch_op.drop_column("totp_last_step")
        batch_op.drop_column("totp_pending_enc")
        batch_op.drop_column("totp_secret_enc")
        batch_op.drop_column("person_id")
        batch_op.drop_column("supervisor")

    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_persons_resident_id_index"), type_="unique")
        batch_op.drop_column("pension_certification_due")
        batch_op.drop_column("family_doctor_contract_until")
        batch_op.drop_column("family_doctor")
        batch_op.drop_column("ltc_assessed_level")
        batch_op.drop_column("ltc_insurance_status")
        batch_op.drop_column("medical_insurance_type")
        batch_op.drop_column("insured_region_code")
        batch_op.drop_column("phone_enc")
        batch_op.drop_column("resident_id_index")
        batch_op.drop_column("resident_id_enc")

    with op.batch_alter_table("family_links", schema=None) as batch_op:
        batch_op.drop_column("notify")

    with op.batch_alter_table("api_sessions", schema=None) as batch_op:
        batch_op.drop_column("restricted")
        batch_op.drop_column("last_used_at_ms")
        batch_op.drop_column("created_at_ms")

    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_next_escalation_at_ms"))
        batch_op.drop_column("next_escalation_at_ms")
        batch_op.drop_column("escalation_level")
        batch_op.drop_column("outcome")
        batch_op.drop_column("closed_by")
        batch_op.drop_column("closed_at_ms")
        batch_op.drop_column("assigned_to")
        batch_op.drop_column("acknowledged_by")
        batch_op.drop_column("acknowledged_at_ms")

    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notifications_status"))
        batch_op.drop_index(batch_op.f("ix_notifications_recipient"))
        batch_op.drop_index(batch_op.f("ix_notifications_alert_id"))

    op.drop_table("notifications")
    with op.batch_alter_table("interventions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_interventions_status"))
        batch_op.drop_index(batch_op.f("ix_interventions_person_id"))
        batch_op.drop_index(batch_op.f("ix_interventions_assigned_to"))

    op.drop_table("interventions")
    with op.batch_alter_table("alert_transitions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_transitions_alert_id"))

    op.drop_table("alert_transitions")
    with op.batch_alter_table("follow_ups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_follow_ups_status"))
        batch_op.drop_index(batch_op.f("ix_follow_ups_person_id"))

    op.drop_table("follow_ups")
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consents_person_id"))

    op.drop_table("consents")
    with op.batch_alter_table("chronic_registrations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chronic_registrations_person_id"))

    op.drop_table("chronic_registrations")
    with op.batch_alter_table("barthel_assessments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_barthel_assessments_person_id"))

    op.drop_table("barthel_assessments")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_person_id"))

    op.drop_table("audit_log")
    op.drop_table("audit_head")
