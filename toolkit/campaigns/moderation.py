"""Moderation: approve, reject, correct; and the fraud tools (hourly patterns, invalidation)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from toolkit.accounts.audit import record
from toolkit.accounts.models import User
from toolkit.campaigns.models import Campaign, Signature, SignatureStatus
from toolkit.db import utcnow

PAGE_SIZE = 100
DECIDABLE = (SignatureStatus.PENDING.value, SignatureStatus.CONFIRMED.value,
             SignatureStatus.APPROVED.value, SignatureStatus.REJECTED.value)  # fmt: skip


class ModerationError(ValueError):
    """A moderation request cannot be done; the message says why."""


@dataclass(frozen=True)
class Filters:
    """Which signatures a moderator looks at."""

    status: str = ""
    country: str = ""
    kind: str = ""


def filtered(campaign: Campaign, filters: Filters) -> Select:
    """A query for the campaign's signatures matching the filters, newest first (by id: the
    order they were stored in, which needs no index of its own)."""
    query = select(Signature).where(Signature.campaign_id == campaign.id)
    if filters.status:
        query = query.where(Signature.status == filters.status)
    if filters.country:
        query = query.where(Signature.country == filters.country.upper())
    if filters.kind:
        query = query.where(Signature.kind == filters.kind)
    return query.order_by(Signature.id.desc())


def status_counts(session: Session, campaign: Campaign) -> dict[str, int]:
    """How many signatures are in each state."""
    rows = session.execute(
        select(Signature.status, func.count())
        .where(Signature.campaign_id == campaign.id)
        .group_by(Signature.status)
    )
    counts = {status.value: 0 for status in SignatureStatus}
    counts.update({status: count for status, count in rows})
    return counts


def _signatures(session: Session, campaign: Campaign, ids: Sequence[int]) -> list[Signature]:
    if not ids:
        raise ModerationError("Select at least one signature.")
    query = select(Signature).where(Signature.campaign_id == campaign.id, Signature.id.in_(ids))
    return list(session.scalars(query))


def approve(session: Session, campaign: Campaign, ids: Sequence[int], actor: User) -> int:
    """Approve confirmed signatures (pending ones must be confirmed by their signer first)."""
    now, done = utcnow(), 0
    for signature in _signatures(session, campaign, ids):
        if signature.status in (SignatureStatus.CONFIRMED, SignatureStatus.REJECTED) and (
            signature.confirmed_at is not None or not campaign.require_confirmation
        ):
            signature.status = SignatureStatus.APPROVED.value
            signature.approved_at = now
            signature.rejection_reason = ""
            record(session, "signatures.approve", actor=actor, target=signature,
                   details={"campaign": campaign.slug})  # fmt: skip
            done += 1
    return done


def reject(
    session: Session, campaign: Campaign, ids: Sequence[int], actor: User, reason: str
) -> int:
    """Reject signatures, with a reason kept on each and in the audit log."""
    reason = reason.replace("\x00", "")  # never meant; the CSV export's SQL would cut at it
    if not reason.strip():
        raise ModerationError("Give a reason for the rejection.")
    now, done = utcnow(), 0
    for signature in _signatures(session, campaign, ids):
        if signature.status == SignatureStatus.WITHDRAWN:
            continue
        signature.status = SignatureStatus.REJECTED.value
        signature.rejected_at = now
        signature.rejection_reason = reason
        record(session, "signatures.reject", actor=actor, target=signature,
               details={"campaign": campaign.slug, "reason": reason})  # fmt: skip
        done += 1
    return done


def correct(
    session: Session, signature: Signature, actor: User, *, name: str, organization: str
) -> None:
    """Fix a typo in a name or organization; the audit log keeps both versions."""
    if not name.strip():
        raise ModerationError("A name is required.")
    before = {"name": signature.name, "organization": signature.organization}
    signature.name, signature.organization = name, organization
    after = {"name": name, "organization": organization}
    record(session, "signatures.edit", actor=actor, target=signature,
           details={"before": before, "after": after})  # fmt: skip


@dataclass(frozen=True)
class HourlyPattern:
    """Many signatures from one IP address or email domain within one hour."""

    hour: datetime
    what: str  # "ip" or "domain"
    value: str
    count: int


def hourly_patterns(
    session: Session, campaign: Campaign, *, days: int = 7, threshold: int = 5
) -> list[HourlyPattern]:
    """IP addresses and email domains with unusually many signatures in one hour."""
    since = utcnow() - timedelta(days=days)
    rows = session.execute(
        select(Signature.created_at, Signature.ip, Signature.email_domain).where(
            Signature.campaign_id == campaign.id, Signature.created_at >= since
        )
    )
    counts: Counter[tuple[datetime, str, str]] = Counter()
    for created_at, ip, domain in rows:
        if created_at.tzinfo is None:
            created_at = created_at.replace(tzinfo=UTC)
        hour = created_at.replace(minute=0, second=0, microsecond=0)
        if ip:
            counts[(hour, "ip", ip)] += 1
        if domain:
            counts[(hour, "domain", domain)] += 1
    patterns = [HourlyPattern(h, w, v, c) for (h, w, v), c in counts.items() if c >= threshold]
    return sorted(patterns, key=lambda p: (-p.count, p.hour, p.what, p.value))


@dataclass(frozen=True)
class Condition:
    """Which signatures to invalidate: any of IP, email domain, and a time window."""

    ip: str = ""
    domain: str = ""
    start: datetime | None = None
    end: datetime | None = None

    def describe(self) -> str:
        parts = [f"ip={self.ip}" if self.ip else "", f"domain={self.domain}" if self.domain else "",
                 f"from {self.start:%Y-%m-%d %H:%M}" if self.start else "",
                 f"until {self.end:%Y-%m-%d %H:%M}" if self.end else ""]  # fmt: skip
        return ", ".join(part for part in parts if part)


def _matching(campaign: Campaign, condition: Condition) -> Select:
    if not (condition.ip or condition.domain):
        raise ModerationError("Give an IP address or an email domain.")
    query = select(Signature).where(
        Signature.campaign_id == campaign.id, Signature.status.in_(DECIDABLE[:3])
    )
    if condition.ip:
        query = query.where(Signature.ip == condition.ip)
    if condition.domain:
        query = query.where(Signature.email_domain == condition.domain.lower().lstrip("@"))
    if condition.start:
        query = query.where(Signature.created_at >= condition.start)
    if condition.end:
        query = query.where(Signature.created_at <= condition.end)
    return query


def count_matching(session: Session, campaign: Campaign, condition: Condition) -> int:
    """How many signatures an invalidation would touch, before doing it."""
    subquery = _matching(campaign, condition).subquery()
    return session.scalar(select(func.count()).select_from(subquery)) or 0


def invalidate(session: Session, campaign: Campaign, condition: Condition, actor: User) -> int:
    """Reject every signature matching the condition, recording the condition."""
    signatures = list(session.scalars(_matching(campaign, condition)))
    reason = f"invalidated: {condition.describe()}"
    now = utcnow()
    for signature in signatures:
        signature.status = SignatureStatus.REJECTED.value
        signature.rejected_at = now
        signature.rejection_reason = reason
    record(session, "signatures.invalidate", actor=actor, target=campaign,
           details={"condition": condition.describe(), "count": len(signatures)})  # fmt: skip
    return len(signatures)
