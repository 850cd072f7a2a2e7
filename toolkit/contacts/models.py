"""Member states of the ITU and the contact points their letters go to."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from toolkit.db import utcnow
from toolkit.extensions import db
from toolkit.i18n import SUPPORTED_LOCALES

LANGUAGES = SUPPORTED_LOCALES  # member states are named in the six UN languages


class ContactRole(StrEnum):
    """Which office a contact point is."""

    ITU_FOCAL_POINT = "itu-focal-point"
    MINISTRY = "ministry"
    REGULATOR = "regulator"
    HEAD_OF_DELEGATION = "head-of-delegation"
    MISSION_GENEVA = "mission-geneva"


class ContactStatus(StrEnum):
    """Whether somebody checked the details against their source."""

    VERIFIED = "verified"
    UNVERIFIED = "unverified"


class MemberState(db.Model):
    """One of the ITU's 194 member states."""

    __tablename__ = "member_states"

    iso2: Mapped[str] = mapped_column(String(2), primary_key=True)
    iso3: Mapped[str] = mapped_column(String(3), unique=True)
    numeric: Mapped[str] = mapped_column(String(3))
    name_en: Mapped[str] = mapped_column(String(200))
    name_fr: Mapped[str] = mapped_column(String(200))
    name_es: Mapped[str] = mapped_column(String(200))
    name_ru: Mapped[str] = mapped_column(String(200))
    name_ar: Mapped[str] = mapped_column(String(200))
    name_zh: Mapped[str] = mapped_column(String(200))
    official_name_en: Mapped[str] = mapped_column(String(300))
    m49_region: Mapped[str] = mapped_column(String(100))
    m49_subregion: Mapped[str] = mapped_column(String(100))
    m49_intermediate_region: Mapped[str] = mapped_column(String(100), default="")
    itu_region: Mapped[str] = mapped_column(String(1), default="")

    contact_points: Mapped[list[ContactPoint]] = relationship(
        back_populates="member_state", cascade="all, delete-orphan"
    )

    def name(self, language: str = "en") -> str:
        """The short name in one of the six UN languages (English when unknown)."""
        if language not in LANGUAGES:
            language = "en"
        return getattr(self, f"name_{language}") or self.name_en

    def __repr__(self) -> str:
        return f"<MemberState {self.iso2}>"


class CountryName(db.Model):
    """An organizer's formal name for a country in one language, used in letters."""

    __tablename__ = "country_names"

    iso2: Mapped[str] = mapped_column(
        ForeignKey("member_states.iso2", ondelete="CASCADE"), primary_key=True
    )
    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    formal_name: Mapped[str] = mapped_column(String(300))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ContactPoint(db.Model):
    """Where one member state's letters go, with the source that vouches for it."""

    __tablename__ = "contact_points"

    id: Mapped[int] = mapped_column(primary_key=True)
    country: Mapped[str] = mapped_column(ForeignKey("member_states.iso2"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    organization: Mapped[str] = mapped_column(String(300))
    addressee_name: Mapped[str] = mapped_column(String(200), default="")
    addressee_title: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(Text, default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(64), default="")
    website: Mapped[str] = mapped_column(String(500), default="")
    source: Mapped[str] = mapped_column(String(500))
    verified_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=ContactStatus.UNVERIFIED.value)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    member_state: Mapped[MemberState] = relationship(back_populates="contact_points")

    @property
    def address_lines(self) -> list[str]:
        """The postal address, one line each."""
        return [line.strip() for line in self.address.splitlines() if line.strip()]

    def __repr__(self) -> str:
        return f"<ContactPoint {self.country} {self.role}>"


class CorrectionStatus(StrEnum):
    """Where a suggested correction stands."""

    SUGGESTED = "suggested"
    APPROVED = "approved"
    REJECTED = "rejected"


class ContactCorrection(db.Model):
    """A correction suggested by a member of the public, for organizers to check."""

    __tablename__ = "contact_corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    country: Mapped[str] = mapped_column(ForeignKey("member_states.iso2"), index=True)
    contact_point_id: Mapped[int | None] = mapped_column(
        ForeignKey("contact_points.id", ondelete="SET NULL")
    )
    what_is_wrong: Mapped[str] = mapped_column(Text)
    correct_detail: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(500))
    suggester_email: Mapped[str] = mapped_column(String(254), default="")  # private
    status: Mapped[str] = mapped_column(
        String(16), default=CorrectionStatus.SUGGESTED.value, index=True
    )
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    member_state: Mapped[MemberState] = relationship()
    contact_point: Mapped[ContactPoint | None] = relationship()

    def __repr__(self) -> str:
        return f"<ContactCorrection {self.country} {self.status}>"
