"""Resources in the bank, and each event's timeline and talking points."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from toolkit.accounts.models import User
from toolkit.db import utcnow
from toolkit.events.models import Event
from toolkit.extensions import db


class ResourceCategory(StrEnum):
    """The three shelves of the bank, in the order the public page shows them."""

    POLICY_ANALYSIS = "policy-analysis"
    ADVOCACY_RESOURCE = "advocacy-resource"
    MULTIMEDIA = "multimedia"


class ResourceStatus(StrEnum):
    """suggested → approved or rejected; only approved resources are ever shown publicly."""

    SUGGESTED = "suggested"
    APPROVED = "approved"
    REJECTED = "rejected"


class Resource(db.Model):
    """A link in the bank: an analysis, advocacy material or multimedia, with a short summary.

    ``category`` is "" while a suggestion waits: the organizer who approves it chooses one.
    ``url`` may be "" for a resource whose link an organizer has yet to find.
    ``suggester_email`` is private: it is used once, to tell the suggester the outcome.
    """

    __tablename__ = "resources"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    author: Mapped[str] = mapped_column(String(200), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(String(2000), default="")
    category: Mapped[str] = mapped_column(String(32), default="", index=True)
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("events.id", ondelete="SET NULL"), index=True
    )
    language: Mapped[str] = mapped_column(String(2), default="en")
    status: Mapped[str] = mapped_column(
        String(16), default=ResourceStatus.SUGGESTED.value, index=True
    )
    suggestion_reason: Mapped[str] = mapped_column(Text, default="")
    suggester_email: Mapped[str] = mapped_column(String(254), default="")  # private
    rejection_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    event: Mapped[Event | None] = relationship()
    reviewed_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<Resource {self.id} {self.status} {self.title[:40]!r}>"


class TimelineEntry(db.Model):
    """One date (or date range) on an event's road: a meeting, a deadline, the event itself."""

    __tablename__ = "timeline_entries"
    __table_args__ = (
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="dates_in_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(300))
    place: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text, default="")  # Markdown: what it means for advocates
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    event: Mapped[Event] = relationship()

    def __repr__(self) -> str:
        return f"<TimelineEntry {self.id} {self.starts_on} {self.title[:40]!r}>"


class TalkingPoints(db.Model):
    """An event's talking points for advocates: one Markdown document per event."""

    __tablename__ = "talking_points"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), unique=True)
    body: Mapped[str] = mapped_column(Text, default="")  # Markdown
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    event: Mapped[Event] = relationship()
    updated_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<TalkingPoints event={self.event_id}>"
