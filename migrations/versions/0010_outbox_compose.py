"""outbox: a message may be composed when it is sent (signers' mails under a surge)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 03:15:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox_messages") as batch:
        batch.add_column(sa.Column("composer", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("compose_args", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("outbox_messages") as batch:
        batch.drop_column("compose_args")
        batch.drop_column("composer")
