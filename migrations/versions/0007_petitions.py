"""petitions: custom questions, paper signatures (no email), erasure and purge times

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 16:05:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("custom_fields", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
        batch_op.add_column(sa.Column("emails_purged_at", sa.DateTime(timezone=True)))
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.alter_column("email", existing_type=sa.String(length=254), nullable=True)
        batch_op.alter_column(
            "email_normalized", existing_type=sa.String(length=254), nullable=True
        )
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(timezone=True)))


def downgrade():
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
    op.execute("DELETE FROM signatures WHERE email IS NULL OR email_normalized IS NULL")
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.alter_column(
            "email_normalized", existing_type=sa.String(length=254), nullable=False
        )
        batch_op.alter_column("email", existing_type=sa.String(length=254), nullable=False)
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("emails_purged_at")
        batch_op.drop_column("custom_fields")
