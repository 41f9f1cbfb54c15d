"""Satisfaction ratings: a citizen's 1-5 score for a guidance answer or a filing.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.String(200), nullable=True),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("topic", sa.String(16), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("case_number", sa.String(24), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("topic IN ('guidance', 'filing')", name="topic"),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name="score"),
        sa.PrimaryKeyConstraint("id", name="pk_ratings"),
    )
    op.create_index("ix_ratings_created_at", "ratings", ["created_at"])


def downgrade() -> None:
    op.drop_table("ratings")
