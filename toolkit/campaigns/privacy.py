"""Signers' data: erase one person's data everywhere, purge a closed campaign's emails.

Erasure keeps each signature as an anonymous row (campaign, kind, country, status and its
times, source, language), so counts and counts by country do not change. The address
erased is never stored: the audit log keeps only a short fingerprint of it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from toolkit.accounts.audit import record
from toolkit.accounts.models import AuditEvent, User
from toolkit.campaigns.models import Campaign, CampaignState, Signature
from toolkit.campaigns.signing import canonical_email
from toolkit.db import utcnow
from toolkit.mail.delivery import format_addresses, parse_addresses
from toolkit.mail.models import MessageStatus, OutboxMessage
from toolkit.validation import normalize_email

# Mail to signers (toolkit/campaigns/notices.py): the only kinds a purge deletes.
SIGNER_MAIL_KINDS = ("signature-confirm", "signature-manage")
# Audit events that copy a signer's name into their details.
NAMED_AUDIT_ACTIONS = ("signatures.edit",)


class PrivacyError(ValueError):
    """An erasure or a purge cannot be done; the message says why (``reason``: the detail)."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason or message


@dataclass(frozen=True)
class ErasurePlan:
    """What erasing an address would touch, shown before anything is done."""

    fingerprint: str
    signatures: int
    campaigns: tuple[str, ...]  # slugs, sorted
    messages: int


@dataclass(frozen=True)
class ErasureReport:
    """What an erasure did. ``messages_in_flight`` were being sent and were left alone."""

    fingerprint: str
    signatures: int
    campaigns: tuple[str, ...]
    messages_deleted: int
    messages_redacted: int  # mail to several people: only this address was taken off
    messages_in_flight: int
    audit_events_redacted: int

    @property
    def nothing_found(self) -> bool:
        return not (self.signatures or self.messages_deleted or self.messages_redacted)


@dataclass(frozen=True)
class PurgeReport:
    """What a purge did; ``signatures`` is 0 when there was nothing left to purge."""

    campaign: str
    signatures: int
    messages: int
    purged_at: datetime


def canonical_address(address: str) -> str:
    """The form signatures keep in email_normalized; PrivacyError for an unusable address."""
    address = (address or "").strip()
    if not address:
        raise PrivacyError("Give the email address whose data is to be erased.")
    try:
        return canonical_email(normalize_email(address))
    except ValueError as exc:
        raise PrivacyError(f"This is not a usable email address: {exc}", str(exc)) from exc


def fingerprint(canonical: str) -> str:
    """A short sha256 of a canonical address: enough to find an erasure again, not to read it."""
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes; every stored time is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _signatures_of(session: Session, canonical: str) -> list[Signature]:
    query = select(Signature).where(Signature.email_normalized == canonical).order_by(Signature.id)
    return list(session.scalars(query))


def _canonical_or_lower(addr_spec: str) -> str:
    try:
        return canonical_email(normalize_email(addr_spec))
    except ValueError:
        return addr_spec.lower()


def _recipients(to_addresses: str) -> list:
    try:
        return list(parse_addresses(to_addresses))
    except ValueError:
        return []


def _messages_to(
    session: Session, canonicals: Iterable[str], *, kinds: tuple[str, ...] = ()
) -> list[tuple[OutboxMessage, list, list]]:
    """Outbox messages with one of these addresses among their recipients.

    Each comes with the recipients that match and the others. A case-insensitive LIKE on the
    local part narrows the search; parsing the To: list and normalizing each address decides.
    """
    wanted = set(canonicals)
    if not wanted:
        return []
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if kinds:
        query = query.where(OutboxMessage.kind.in_(kinds))
    locals_ = {address.rpartition("@")[0] for address in wanted}
    if all(local.isascii() and local for local in locals_) and len(locals_) <= 500:
        lowered = func.lower(OutboxMessage.to_addresses)
        query = query.where(or_(*(lowered.contains(local, autoescape=True) for local in locals_)))
    found = []
    for message in session.scalars(query):
        matching, others = [], []
        for address in _recipients(message.to_addresses):
            target = matching if _canonical_or_lower(address.addr_spec) in wanted else others
            target.append(address)
        if matching:
            found.append((message, matching, others))
    return found


def _in_flight(message: OutboxMessage, now: datetime) -> bool:
    """A flusher holds this message right now (its lease has not run out)."""
    return message.status == MessageStatus.SENDING.value and _aware(message.next_attempt_at) > now


def _remove_eml(message: OutboxMessage, outbox_dir: str | Path | None) -> None:
    """Delete the .eml copy of a message, only when it lies inside the outbox folder."""
    if not message.eml_path or not outbox_dir:
        return
    outbox = Path(outbox_dir).resolve()
    path = Path(message.eml_path).resolve()
    if path.is_relative_to(outbox) and path.is_file():
        path.unlink(missing_ok=True)


def plan_erasure(session: Session, address: str) -> ErasurePlan:
    """How many signatures on which campaigns, and how many messages, an erasure would touch."""
    canonical = canonical_address(address)
    signatures = _signatures_of(session, canonical)
    slugs = tuple(sorted({signature.campaign.slug for signature in signatures}))
    messages = len(_messages_to(session, [canonical]))
    return ErasurePlan(fingerprint(canonical), len(signatures), slugs, messages)


def erase_signer(
    session: Session,
    address: str,
    actor: User | str,
    *,
    now: datetime | None = None,
    outbox_dir: str | Path | None = None,
) -> ErasureReport:
    """Remove a person's data from every campaign, keeping anonymous counts; the caller commits.

    Their signatures keep only what counting needs; mail to them alone is deleted (with its
    .eml copy inside ``outbox_dir``), and they are taken off mail sent to several people.
    Names copied into the audit log by corrections are redacted. One audit event records the
    erasure with a fingerprint of the address, never the address.
    """
    canonical = canonical_address(address)
    now = now or utcnow()
    signatures = _signatures_of(session, canonical)
    slugs = tuple(sorted({signature.campaign.slug for signature in signatures}))
    for signature in signatures:
        signature.name = ""
        signature.email = None
        signature.email_normalized = None
        signature.email_domain = ""
        signature.organization = ""
        signature.role = ""
        signature.city = ""
        signature.ip = ""
        signature.extra = {}
        signature.list_publicly = False
        signature.receive_updates = False
        signature.erased_at = now

    deleted = redacted = in_flight = 0
    for message, _matching, others in _messages_to(session, [canonical]):
        if _in_flight(message, now):
            in_flight += 1
        elif others:
            message.to_addresses = format_addresses(others)
            redacted += 1
        else:
            _remove_eml(message, outbox_dir)
            session.delete(message)
            deleted += 1

    audit_redacted = _redact_audit(session, [signature.id for signature in signatures])
    report = ErasureReport(
        fingerprint=fingerprint(canonical),
        signatures=len(signatures),
        campaigns=slugs,
        messages_deleted=deleted,
        messages_redacted=redacted,
        messages_in_flight=in_flight,
        audit_events_redacted=audit_redacted,
    )
    record(session, "signatures.erase", actor=actor, details={
        "fingerprint": report.fingerprint, "signatures": report.signatures,
        "campaigns": list(report.campaigns), "messages_deleted": deleted,
        "messages_redacted": redacted, "messages_in_flight": in_flight,
        "audit_events_redacted": audit_redacted,
    })  # fmt: skip
    session.flush()
    return report


def _redact_audit(session: Session, signature_ids: list[int]) -> int:
    """Blank the details of audit events that copied an erased signer's name."""
    if not signature_ids:
        return 0
    query = select(AuditEvent).where(
        AuditEvent.target_type == Signature.__tablename__,
        AuditEvent.target_id.in_([str(i) for i in signature_ids]),
        AuditEvent.action.in_(NAMED_AUDIT_ACTIONS),
    )
    events = list(session.scalars(query))
    for event in events:
        event.details = {"redacted": "the signer's data was erased"}
    return len(events)


def purge_date(campaign: Campaign) -> datetime | None:
    """From when a closed campaign's emails may be purged; None while it is not closed."""
    if campaign.state != CampaignState.CLOSED.value or campaign.closed_at is None:
        return None
    return _aware(campaign.closed_at) + timedelta(days=campaign.retention_days)


def purge_refusal(campaign: Campaign, now: datetime | None = None) -> str | None:
    """Why a campaign's emails cannot be purged now; None when they can."""
    if campaign.state != CampaignState.CLOSED.value:
        return (
            f"The campaign '{campaign.slug}' is {campaign.state}, not closed: emails are purged "
            f"only once a campaign is closed and its retention period of "
            f"{campaign.retention_days} days is over."
        )
    due = purge_date(campaign)
    if due is None:
        return f"The campaign '{campaign.slug}' has no closing date recorded: close it again."
    if _aware(now or utcnow()) < due:
        return (
            f"The campaign '{campaign.slug}' keeps its signers' emails for "
            f"{campaign.retention_days} days after closing: they can be purged from "
            f"{due:%Y-%m-%d %H:%M} UTC."
        )
    return None


def _purgeable(campaign: Campaign):  # noqa: ANN202 - a SQLAlchemy condition
    return (Signature.campaign_id == campaign.id) & or_(
        Signature.email.is_not(None),
        Signature.email_normalized.is_not(None),
        Signature.email_domain != "",
        Signature.ip != "",
    )


def purge_campaign(
    session: Session,
    campaign: Campaign,
    actor: User | str,
    now: datetime | None = None,
    *,
    outbox_dir: str | Path | None = None,
) -> PurgeReport:
    """Clear the emails and IP addresses of a closed campaign past retention; the caller commits.

    Names and the rest stay (the delivered list needs them). Confirm and manage mail that
    went to these signers about this campaign (its link is in the text) is deleted too;
    their mail about other campaigns stays. Purging again finds nothing and reports 0.
    """
    reason = purge_refusal(campaign, now)
    if reason:
        raise PrivacyError(reason)
    now = _aware(now or utcnow())
    signatures = list(session.scalars(select(Signature).where(_purgeable(campaign))))
    addresses = {s.email_normalized for s in signatures if s.email_normalized}
    link = f"/campaigns/{campaign.slug}/"
    messages = 0
    for message, _matching, _others in _messages_to(session, addresses, kinds=SIGNER_MAIL_KINDS):
        if link in (message.text_body or "") and not _in_flight(message, now):
            _remove_eml(message, outbox_dir)
            session.delete(message)
            messages += 1
    for signature in signatures:
        signature.email = None
        signature.email_normalized = None
        signature.email_domain = ""
        signature.ip = ""
    first_time = campaign.emails_purged_at is None
    if first_time:
        campaign.emails_purged_at = now
    if signatures or messages or first_time:
        record(session, "signatures.purge", actor=actor, target=campaign, details={
            "campaign": campaign.slug, "signatures": len(signatures), "messages": messages,
            "retention_days": campaign.retention_days,
        })  # fmt: skip
    session.flush()
    return PurgeReport(campaign.slug, len(signatures), messages, _aware(campaign.emails_purged_at))


def campaigns_due_for_purge(session: Session, now: datetime | None = None) -> list[Campaign]:
    """Closed campaigns past retention that still hold emails or were never purged."""
    query = (
        select(Campaign)
        .where(Campaign.state == CampaignState.CLOSED.value, Campaign.closed_at.is_not(None))
        .order_by(Campaign.id)
    )
    due = []
    for campaign in session.scalars(query):
        if purge_refusal(campaign, now) is not None:
            continue
        holds_data = session.scalar(select(Signature.id).where(_purgeable(campaign)).limit(1))
        if campaign.emails_purged_at is None or holds_data is not None:
            due.append(campaign)
    return due
