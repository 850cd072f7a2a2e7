"""One campaign model serves sign-on letters and petitions; one signature model serves both."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from toolkit.accounts.models import User
from toolkit.db import utcnow
from toolkit.extensions import db


class CampaignKind(StrEnum):
    """What is being signed."""

    SIGN_ON = "sign-on"
    PETITION = "petition"


class CampaignState(StrEnum):
    """A campaign is prepared as a draft, opened for signing, then closed."""

    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class SignerKind(StrEnum):
    """Sign-on letters list organizations and individuals separately."""

    ORGANIZATION = "organization"
    INDIVIDUAL = "individual"


class SignatureStatus(StrEnum):
    """pending → confirmed → approved; or rejected; or withdrawn by the signer."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class FieldRule(StrEnum):
    """Whether the signing form asks for an optional field, and whether it must be filled."""

    REQUIRED = "required"
    OPTIONAL = "optional"
    HIDDEN = "hidden"


def field_rule(field_rules: Mapping[str, str] | None, field: str) -> FieldRule:
    """How a campaign's signing form treats an optional field (asked and optional unless the
    organizer said otherwise)."""
    return FieldRule((field_rules or {}).get(field, FieldRule.OPTIONAL))


# Fields an organizer can ask for or not; name and email are always asked.
SIGNER_FIELDS = ("organization", "role", "city", "country")

campaign_organizers = Table(
    "campaign_organizers",
    db.metadata,
    Column("campaign_id", ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


class Campaign(db.Model):
    """A sign-on letter or a petition: its text, its rules, its state."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default=CampaignKind.SIGN_ON.value)
    state: Mapped[str] = mapped_column(String(16), default=CampaignState.DRAFT.value, index=True)
    title: Mapped[str] = mapped_column(String(300))
    introduction: Mapped[str] = mapped_column(Text, default="")  # Markdown
    text: Mapped[str] = mapped_column(Text)  # Markdown: the letter or the petition
    addressee: Mapped[str] = mapped_column(String(32), default="itu")  # itu | governments | custom
    addressee_text: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(8), default="en")
    template: Mapped[str] = mapped_column(String(80), default="")
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"))
    deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    goal: Mapped[int | None] = mapped_column(Integer)
    allow_organizations: Mapped[bool] = mapped_column(Boolean, default=True)
    allow_individuals: Mapped[bool] = mapped_column(Boolean, default=True)
    field_rules: Mapped[dict] = mapped_column(JSON, default=dict)
    # Questions the organizer adds: [{"name", "label", "required", "max_length"}]; answers are
    # kept in Signature.extra under each name.
    custom_fields: Mapped[list] = mapped_column(JSON, default=list)
    list_publicly: Mapped[bool] = mapped_column(Boolean, default=True)
    require_confirmation: Mapped[bool] = mapped_column(Boolean, default=True)
    require_moderation: Mapped[bool] = mapped_column(Boolean, default=True)
    signing_paused: Mapped[bool] = mapped_column(Boolean, default=False)
    # The public count as last taken, and when (UTC): see toolkit/campaigns/counting.py.
    public_count: Mapped[int | None] = mapped_column(Integer)
    public_count_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    retention_days: Mapped[int] = mapped_column(Integer, default=365)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    emails_purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    organizers: Mapped[list[User]] = relationship(secondary=campaign_organizers)
    translations: Mapped[list[CampaignText]] = relationship(
        back_populates="campaign", cascade="all, delete-orphan", order_by="CampaignText.language"
    )

    def rule(self, field: str) -> FieldRule:
        """How the signing form treats an optional field."""
        return field_rule(self.field_rules, field)

    @property
    def languages(self) -> tuple[str, ...]:
        """Every language the campaign's text is in, its own language first."""
        others = [t.language for t in self.translations if t.language != self.language]
        return (self.language, *sorted(others))

    def text_in(self, language: str) -> CampaignVersion:
        """The title, introduction and text in one language; the campaign's own when it lacks it."""
        for translation in self.translations:
            if translation.language == language and language != self.language:
                return CampaignVersion(language, translation.title, translation.introduction,
                                       translation.text)  # fmt: skip
        return CampaignVersion(self.language, self.title, self.introduction, self.text)

    def __repr__(self) -> str:
        return f"<Campaign {self.slug} {self.kind} {self.state}>"


@dataclass(frozen=True)
class CampaignVersion:
    """A campaign's words in one language."""

    language: str
    title: str
    introduction: str
    text: str


class CampaignText(db.Model):
    """A campaign's title, introduction and text in another of its languages."""

    __tablename__ = "campaign_texts"
    __table_args__ = (UniqueConstraint("campaign_id", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(300))
    introduction: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    campaign: Mapped[Campaign] = relationship(back_populates="translations")


class Signature(db.Model):
    """One signer on one campaign. The database keeps one per (campaign, normalized email)."""

    __tablename__ = "signatures"
    __table_args__ = (
        UniqueConstraint("campaign_id", "email_normalized"),
        Index("ix_signatures_campaign_status", "campaign_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16), default=SignerKind.INDIVIDUAL.value)
    name: Mapped[str] = mapped_column(String(200))
    # None for paper signatures, and once a signer's data is erased or a campaign purged.
    email: Mapped[str | None] = mapped_column(String(254))
    email_normalized: Mapped[str | None] = mapped_column(String(254))
    # Not indexed: every signature would write one more page for a rare moderation query,
    # which filters by campaign and status first anyway.
    email_domain: Mapped[str] = mapped_column(String(254), default="")
    organization: Mapped[str] = mapped_column(String(300), default="")
    role: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(200), default="")
    country: Mapped[str] = mapped_column(String(2), default="")
    list_publicly: Mapped[bool] = mapped_column(Boolean, default=True)
    receive_updates: Mapped[bool] = mapped_column(Boolean, default=False)
    extra: Mapped[dict] = mapped_column(JSON, default=dict)
    language: Mapped[str] = mapped_column(String(8), default="en")
    source: Mapped[str] = mapped_column(String(16), default="web")  # web | paper
    status: Mapped[str] = mapped_column(String(16), default=SignatureStatus.PENDING.value)
    ip: Mapped[str] = mapped_column(String(64), default="")
    # Not indexed: one index fewer for every signature to write; newest first is by id.
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rejected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rejection_reason: Mapped[str] = mapped_column(Text, default="")
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    campaign: Mapped[Campaign] = relationship()

    def __repr__(self) -> str:
        return f"<Signature {self.id} {self.status}>"


class DeliveryStatus(StrEnum):
    """preparing → queued (in the outbox) → sent or failed; or skipped, with the reason."""

    PREPARING = "preparing"
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


class Delivery(db.Model):
    """One letter sent (or not) to one government: when, to whom, by whom, which file."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("batch", "country"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    batch: Mapped[str] = mapped_column(String(64))  # one sending run; a double click adds nothing
    country: Mapped[str] = mapped_column(String(2))
    recipient: Mapped[str] = mapped_column(Text, default="")  # the addressee block as printed
    email: Mapped[str] = mapped_column(String(254), default="")
    contact_point_id: Mapped[int | None] = mapped_column(
        ForeignKey("contact_points.id", ondelete="SET NULL")
    )
    language: Mapped[str] = mapped_column(String(8), default="en")
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PREPARING.value)
    reason: Mapped[str] = mapped_column(Text, default="")
    filename: Mapped[str] = mapped_column(String(200), default="")
    sha256: Mapped[str] = mapped_column(String(64), default="")
    size: Mapped[int] = mapped_column(Integer, default=0)
    resend: Mapped[bool] = mapped_column(Boolean, default=False)  # chosen explicitly
    outbox_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox_messages.id", ondelete="SET NULL")
    )
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    campaign: Mapped[Campaign] = relationship()
    sent_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<Delivery {self.country} {self.status}>"
