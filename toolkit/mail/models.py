"""The outbox: every email the toolkit sends is a row here first, so none is lost."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from toolkit.db import utcnow
from toolkit.extensions import db


class MessageStatus(StrEnum):
    """queued → sending → sent; back to queued to retry; failed when retries run out."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class OutboxMessage(db.Model):
    """One email, queued with the change that causes it and sent (with retries) afterwards.

    ``next_attempt_at`` is when a flusher may next pick the message up: the retry time while
    queued, and the end of the flusher's lease while sending (so a crashed flusher's message
    is picked up again). ``attachments`` is a list of {filename, mimetype, data (base64)}.
    A message with a ``composer`` gets its subject and bodies from it just before sending.
    """

    __tablename__ = "outbox_messages"
    # What the sender's "due" query reads (status, then time), in one index: a signature's
    # confirmation writes one index page here, not two.
    __table_args__ = (Index("ix_outbox_messages_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), default="")
    to_addresses: Mapped[str] = mapped_column(Text)  # comma-separated, as in a To: header
    reply_to: Mapped[str | None] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text)
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default=MessageStatus.QUEUED.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    eml_path: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(255))
    # Composed when sent: the name of a registered composer and its arguments (JSON). The
    # request that queues a signer's mail then only inserts a row; the sender writes the text.
    composer: Mapped[str | None] = mapped_column(String(64))
    compose_args: Mapped[dict | None] = mapped_column(JSON)

    def __repr__(self) -> str:
        return f"<OutboxMessage {self.id} {self.kind} {self.status}>"
