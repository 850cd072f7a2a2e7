"""indexes: fewer pages written for each signature (outbox due index; no email-domain index)

The outbox's two single-column indexes (status; next attempt) become one on both, which is
what the sender's "due" query reads. The signatures' index on the email domain goes: its only
reader (invalidating by domain) also filters by campaign and status, and has that index.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 09:30:00

"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_signatures_email_domain", table_name="signatures")
    op.drop_index("ix_outbox_messages_status", table_name="outbox_messages")
    op.drop_index("ix_outbox_messages_next_attempt_at", table_name="outbox_messages")
    op.create_index("ix_outbox_messages_due", "outbox_messages", ["status", "next_attempt_at"])


def downgrade():
    op.drop_index("ix_outbox_messages_due", table_name="outbox_messages")
    op.create_index("ix_outbox_messages_next_attempt_at", "outbox_messages", ["next_attempt_at"])
    op.create_index("ix_outbox_messages_status", "outbox_messages", ["status"])
    op.create_index("ix_signatures_email_domain", "signatures", ["email_domain"])
