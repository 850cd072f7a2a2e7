"""campaigns: the public count as last taken, and when (a batched count under a surge)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 04:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("public_count", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("public_count_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("public_count_at")
        batch.drop_column("public_count")
