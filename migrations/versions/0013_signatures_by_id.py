"""signatures: no index on the creation time; newest first is by id

Each index is one more B-tree every signature writes (and, on SQLite with several processes,
re-reads: another process's commit empties the page cache). The moderation queue lists a
campaign's signatures newest first by id, the order they were stored in, which the table
itself keeps; the hourly fraud view reads one campaign's recent rows through the campaign's
own index.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 10:40:00

"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_signatures_created_at", table_name="signatures")


def downgrade():
    op.create_index("ix_signatures_created_at", "signatures", ["created_at"])
