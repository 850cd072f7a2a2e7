"""languages: campaign texts in several languages, events' names and formal country names

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 02:15:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "campaign_texts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("introduction", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_campaign_texts_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_texts")),
        sa.UniqueConstraint(
            "campaign_id", "language", name=op.f("uq_campaign_texts_campaign_id_language")
        ),
    )  # fmt: skip
    op.create_table(
        "country_names",
        sa.Column("iso2", sa.String(length=2), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("formal_name", sa.String(length=300), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["iso2"], ["member_states.iso2"], name=op.f("fk_country_names_iso2_member_states"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("iso2", "language", name=op.f("pk_country_names")),
    )  # fmt: skip
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("translations", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("translations")
    op.drop_table("country_names")
    op.drop_table("campaign_texts")
