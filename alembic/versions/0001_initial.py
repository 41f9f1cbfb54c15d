"""The initial store: complaints, evidence, deliveries (outbox), attempts, status history, callbacks.

Revision ID: 0001
Revises:
Create Date: 2025-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("case_number", sa.String(24), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("region_code", sa.String(6), nullable=False),
        sa.Column("agency_id", sa.String(80), nullable=False),
        sa.Column("agency_channel", sa.String(40), nullable=True),
        sa.Column("respondent", sa.Text(), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("request", sa.Text(), nullable=True),
        sa.Column("name", sa.String(100), nullable=True),
        sa.Column("phone", sa.String(20), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("contact", sa.String(200), nullable=True),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("sender_id", sa.String(200), nullable=True),
        sa.Column("input_sha256", sa.String(64), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("status_note", sa.Text(), nullable=True),
        sa.Column("status_at", sa.DateTime(), nullable=False),
        sa.Column("agency_status_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('complaint', 'tip_off')", name="ck_complaints_kind"),
        sa.PrimaryKeyConstraint("id", name="pk_complaints"),
        sa.UniqueConstraint("uuid", name="uq_complaints_uuid"),
        sa.UniqueConstraint("case_number", name="uq_complaints_case_number"),
    )
    op.create_index("ix_complaints_status", "complaints", ["status"])
    op.create_index("ix_complaints_sender_id", "complaints", ["sender_id"])
    op.create_index("ix_complaints_created_at", "complaints", ["created_at"])

    op.create_table(
        "evidence_refs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("url_or_media_id", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaints.id"], name="fk_evidence_refs_complaint_id_complaints", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_evidence_refs"),
    )
    op.create_index("ix_evidence_refs_complaint_id", "evidence_refs", ["complaint_id"])

    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.String(80), nullable=False),
        sa.Column("idempotency_key", sa.String(36), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("deadline_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(120), nullable=True),
        sa.Column("claim_token", sa.String(36), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("dead_reason", sa.Text(), nullable=True),
        sa.Column("service_request_id", sa.String(120), nullable=True),
        sa.Column("token", sa.String(120), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("state IN ('pending', 'held', 'delivered', 'dead')", name="ck_deliveries_state"),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaints.id"], name="fk_deliveries_complaint_id_complaints", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_deliveries"),
        sa.UniqueConstraint("complaint_id", "agency_id", name="uq_deliveries_complaint_agency"),
    )
    op.create_index("ix_deliveries_due", "deliveries", ["state", "next_attempt_at"])

    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(120), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"], ["deliveries.id"], name="fk_delivery_attempts_delivery_id_deliveries", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_delivery_attempts"),
    )
    op.create_index("ix_delivery_attempts_delivery_id", "delivery_attempts", ["delivery_id"])

    op.create_table(
        "status_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("agency_id", sa.String(80), nullable=True),
        sa.Column("service_request_id", sa.String(120), nullable=True),
        sa.Column("event_id", sa.String(120), nullable=True),
        sa.Column("dedup_key", sa.String(200), nullable=True),
        sa.Column("applied", sa.Boolean(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("notified_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaints.id"], name="fk_status_events_complaint_id_complaints", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_status_events"),
        sa.UniqueConstraint("complaint_id", "agency_id", "dedup_key", name="uq_status_events_dedup"),
    )
    op.create_index("ix_status_events_complaint_id", "status_events", ["complaint_id"])
    op.create_index("ix_status_events_pending", "status_events", ["notified_at", "id"])

    op.create_table(
        "callback_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.String(200), nullable=True),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("phone", sa.String(20), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("handled", sa.Boolean(), nullable=False),
        sa.Column("handled_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_callback_requests"),
    )
    op.create_index("ix_callback_requests_handled", "callback_requests", ["handled", "created_at"])


def downgrade() -> None:
    op.drop_table("callback_requests")
    op.drop_table("status_events")
    op.drop_table("delivery_attempts")
    op.drop_table("deliveries")
    op.drop_table("evidence_refs")
    op.drop_table("complaints")
