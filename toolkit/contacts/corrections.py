"""Corrections from the public: suggested on a country page, decided by organizers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from toolkit.accounts.audit import record
from toolkit.accounts.models import User
from toolkit.contacts.models import (
    ContactCorrection,
    ContactPoint,
    ContactStatus,
    CorrectionStatus,
    MemberState,
)
from toolkit.db import utcnow
from toolkit.validation import is_http_url

EDITABLE = (
    "role",
    "organization",
    "addressee_name",
    "addressee_title",
    "address",
    "email",
    "phone",
    "website",
)


class CorrectionError(ValueError):
    """A correction cannot be taken or decided; the message says why."""


@dataclass(frozen=True)
class NewCorrection:
    """What a member of the public suggests."""

    what_is_wrong: str
    correct_detail: str
    source: str
    contact_point_id: int | None = None
    email: str = ""


def suggest_correction(
    session: Session, state: MemberState, new: NewCorrection
) -> ContactCorrection:
    """Queue a correction for organizers (the caller commits)."""
    if not is_http_url(new.source):
        raise CorrectionError("The source must be a link starting with http:// or https://.")
    point = None
    if new.contact_point_id is not None:
        point = session.get(ContactPoint, new.contact_point_id)
        if point is None or point.country != state.iso2:
            raise CorrectionError("That contact point does not belong to this country.")
    correction = ContactCorrection(
        country=state.iso2,
        contact_point_id=point.id if point else None,
        what_is_wrong=new.what_is_wrong,
        correct_detail=new.correct_detail,
        source=new.source,
        suggester_email=new.email,
    )
    session.add(correction)
    return correction


def pending_corrections(session: Session) -> list[ContactCorrection]:
    """Suggestions waiting for an organizer, oldest first."""
    query = (
        select(ContactCorrection)
        .where(ContactCorrection.status == CorrectionStatus.SUGGESTED.value)
        .order_by(ContactCorrection.created_at, ContactCorrection.id)
    )
    return list(session.scalars(query))


def count_pending_corrections(session: Session) -> int:
    """For the organizers' dashboard."""
    query = select(func.count()).where(ContactCorrection.status == CorrectionStatus.SUGGESTED.value)
    return session.scalar(query) or 0


def _require_open(correction: ContactCorrection) -> None:
    if correction.status != CorrectionStatus.SUGGESTED:
        raise CorrectionError(f"This correction was already {correction.status}.")


def approve_correction(
    session: Session, correction: ContactCorrection, actor: User, values: dict[str, str]
) -> ContactPoint:
    """Apply the organizer's edited details, with the correction's source and today's date."""
    _require_open(correction)
    point = correction.contact_point
    if point is None:
        point = ContactPoint(country=correction.country, source=correction.source)
        session.add(point)
    before = {name: getattr(point, name) for name in EDITABLE} if point.id else {}
    for name in EDITABLE:
        if name in values:
            setattr(point, name, values[name])
    point.source = correction.source
    point.verified_on = date.today()
    point.status = ContactStatus.VERIFIED.value
    correction.contact_point = point
    correction.status = CorrectionStatus.APPROVED.value
    correction.reviewed_at = utcnow()
    correction.reviewed_by_id = actor.id
    session.flush()
    changed = {k: [before.get(k, ""), getattr(point, k)] for k in EDITABLE
               if before.get(k, "") != getattr(point, k)}  # fmt: skip
    record(session, "contacts.correction_approved", actor=actor, target=correction,
           details={"country": correction.country, "contact_point": point.id,
                    "changes": changed, "source": correction.source})  # fmt: skip
    return point


def reject_correction(
    session: Session, correction: ContactCorrection, actor: User, reason: str
) -> None:
    """Refuse a correction, keeping it and the reason in the audit log."""
    _require_open(correction)
    if not reason.strip():
        raise CorrectionError("Give a reason for the rejection.")
    correction.status = CorrectionStatus.REJECTED.value
    correction.decision_reason = reason
    correction.reviewed_at = utcnow()
    correction.reviewed_by_id = actor.id
    record(session, "contacts.correction_rejected", actor=actor, target=correction,
           details={"country": correction.country, "reason": reason,
                    "what_is_wrong": correction.what_is_wrong,
                    "correct_detail": correction.correct_detail,
                    "source": correction.source})  # fmt: skip
