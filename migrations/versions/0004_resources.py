"""the resource bank, timeline and talking points

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28

"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "resources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("suggestion_reason", sa.Text(), nullable=False),
        sa.Column("suggester_email", sa.String(length=254), nullable=False),
        sa.Column("rejection_reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"],
            name=op.f("fk_resources_event_id_events"), ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"], ["users.id"],
            name=op.f("fk_resources_reviewed_by_id_users"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resources")),
    )
    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_resources_category"), ["category"], unique=False)
        batch_op.create_index(batch_op.f("ix_resources_event_id"), ["event_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_resources_status"), ["status"], unique=False)

    op.create_table(
        "talking_points",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"],
            name=op.f("fk_talking_points_event_id_events"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["users.id"],
            name=op.f("fk_talking_points_updated_by_id_users"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_talking_points")),
        sa.UniqueConstraint("event_id", name=op.f("uq_talking_points_event_id")),
    )

    op.create_table(
        "timeline_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "ends_on IS NULL OR ends_on >= starts_on",
            name=op.f("ck_timeline_entries_dates_in_order"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"],
            name=op.f("fk_timeline_entries_event_id_events"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timeline_entries")),
    )
    with op.batch_alter_table("timeline_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_timeline_entries_event_id"), ["event_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("timeline_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_timeline_entries_event_id"))
    op.drop_table("timeline_entries")

    op.drop_table("talking_points")

    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resources_status"))
        batch_op.drop_index(batch_op.f("ix_resources_event_id"))
        batch_op.drop_index(batch_op.f("ix_resources_category"))
    op.drop_table("resources")
