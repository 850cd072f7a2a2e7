"""Sending a campaign's letter to governments: plan, record, queue, and report what went out.

Only organizers send, only to verified contact points, and only through the outbox (retried,
spread out in time). Every letter sent is a Delivery row with its file's checksum, so the
organizers can later show what each government received. A country with no verified email is
skipped and said so, never guessed; a country that already received the letter is skipped
unless the organizer explicitly chose to send it again.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from toolkit.accounts.models import User
from toolkit.campaigns.models import Campaign, Delivery, DeliveryStatus
from toolkit.contacts.directory import best_contact_point
from toolkit.contacts.models import ContactStatus, MemberState
from toolkit.db import utcnow
from toolkit.mail.models import MessageStatus, OutboxMessage
from toolkit.mail.outbox import OutboxError, queue_message

NO_VERIFIED_EMAIL = "no verified email address for its contact point"
ALREADY_SENT = "already sent on {date}; choose to send again to include it"
ALREADY_STARTED = "This sending has already started; see its progress below."
_BATCH_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class DeliveryError(ValueError):
    """Sending cannot start as asked; the message says why."""


@dataclass(frozen=True)
class Destination:
    """A country the letter can go to: its verified contact point's email and addressee."""

    code: str
    country: str
    email: str
    recipient: str
    contact_point_id: int
    previous: datetime | None = None  # when this campaign's letter last went there


@dataclass(frozen=True)
class Skipped:
    """A country the letter will not go to, and why."""

    code: str
    country: str
    reason: str


@dataclass(frozen=True)
class DeliveryPlan:
    """What a sending run will do, for the organizer to review before confirming."""

    send: tuple[Destination, ...]
    already_sent: tuple[Destination, ...]
    skipped: tuple[Skipped, ...]

    def destinations(self, resend: bool) -> tuple[Destination, ...]:
        """The countries that get a message: the new ones, and the others if chosen."""
        return self.send + self.already_sent if resend else self.send


def _recipient_block(point) -> str:  # noqa: ANN001 - a ContactPoint
    lines = [point.addressee_name, point.addressee_title, point.organization, point.address]
    return "\n".join(line.strip() for line in lines if line and line.strip())


def last_deliveries(session: Session, campaign: Campaign) -> dict[str, datetime]:
    """When the letter last went (or was queued) to each country, by ISO code."""
    query = select(Delivery.country, Delivery.created_at).where(
        Delivery.campaign_id == campaign.id,
        Delivery.status.in_(
            (DeliveryStatus.QUEUED.value, DeliveryStatus.SENT.value, DeliveryStatus.PREPARING.value)
        ),
    )
    latest: dict[str, datetime] = {}
    for code, when in session.execute(query):
        if code not in latest or when > latest[code]:
            latest[code] = when
    return latest


def plan_delivery(
    session: Session,
    campaign: Campaign,
    countries: Sequence[MemberState],
    language: str = "en",
    roles: Sequence[str] = (),
) -> DeliveryPlan:
    """Sort the chosen countries: to send, already sent, skipped (with the reason)."""
    if not countries:
        raise DeliveryError("Choose at least one country.")
    sent_before = last_deliveries(session, campaign)
    send: list[Destination] = []
    again: list[Destination] = []
    skipped: list[Skipped] = []
    for state in countries:
        name = state.name(language)
        point = best_contact_point(session, state.iso2, roles)
        if point is None or point.status != ContactStatus.VERIFIED or not point.email.strip():
            skipped.append(Skipped(state.iso2, name, NO_VERIFIED_EMAIL))
            continue
        previous = sent_before.get(state.iso2)
        destination = Destination(state.iso2, name, point.email.strip(),
                                  _recipient_block(point), point.id, previous)  # fmt: skip
        (again if previous else send).append(destination)
    return DeliveryPlan(tuple(send), tuple(again), tuple(skipped))


def start_delivery(
    session: Session,
    campaign: Campaign,
    plan: DeliveryPlan,
    *,
    batch: str,
    resend: bool,
    actor: User | None,
    language: str = "en",
) -> list[Delivery]:
    """Record the run: one row per country, to prepare or skipped; commits.

    ``batch`` comes from the review page, so a second click on Confirm starts nothing new
    (the database refuses a second row for the same batch and country).
    """
    if not _BATCH_RE.match(batch or ""):
        raise DeliveryError("This confirmation is not valid. Review the sending again.")
    if session.scalar(select(Delivery.id).where(Delivery.batch == batch).limit(1)):
        raise DeliveryError(ALREADY_STARTED)
    destinations = plan.destinations(resend)
    if not destinations:
        raise DeliveryError("No chosen country can receive the letter by email.")
    rows: list[Delivery] = []
    now = utcnow()
    common = {"campaign_id": campaign.id, "batch": batch, "language": language,
              "sent_by_id": actor.id if actor else None, "created_at": now}  # fmt: skip
    for item in destinations:
        rows.append(Delivery(**common, country=item.code, recipient=item.recipient,
                             email=item.email, contact_point_id=item.contact_point_id,
                             status=DeliveryStatus.PREPARING.value,
                             resend=item.previous is not None))  # fmt: skip
    if not resend:
        for item in plan.already_sent:
            when = item.previous.strftime("%Y-%m-%d") if item.previous else ""
            rows.append(Delivery(**common, country=item.code, recipient=item.recipient,
                                 email=item.email, contact_point_id=item.contact_point_id,
                                 status=DeliveryStatus.SKIPPED.value,
                                 reason=ALREADY_SENT.format(date=when)))  # fmt: skip
    for item in plan.skipped:
        rows.append(Delivery(**common, country=item.code, status=DeliveryStatus.SKIPPED.value,
                             reason=item.reason))  # fmt: skip
    session.add_all(rows)
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise DeliveryError(ALREADY_STARTED) from exc
    return rows


def letter_filename(campaign: Campaign, code: str) -> str:
    """The attachment's name: the ISO code first, so a ministry's clerk sees it is theirs."""
    return f"{code}-{campaign.slug}.pdf"


def complete_delivery(
    session: Session,
    campaign: Campaign,
    batch: str,
    pdfs: Mapping[str, bytes | Exception],
    *,
    cover: Callable[[Delivery], tuple[str, str]],
    reply_to: str | None,
    interval: float = 2.0,
) -> None:
    """Queue one message per prepared country with its PDF; record the file's checksum.

    ``pdfs`` maps ISO codes to the rendered letter or to the error that stopped it: a failed
    letter is recorded as failed, by country, and never stops the others. ``cover`` gives the
    subject and the short cover text. Messages are spread ``interval`` seconds apart.
    """
    rows = session.scalars(
        select(Delivery)
        .where(Delivery.batch == batch, Delivery.status == DeliveryStatus.PREPARING.value)
        .order_by(Delivery.country)
    ).all()
    start = utcnow()
    for position, row in enumerate(rows):
        result = pdfs.get(row.country)
        if not isinstance(result, bytes | bytearray):
            row.status = DeliveryStatus.FAILED.value
            row.reason = f"the letter could not be made: {result or 'no document'}"[:500]
            session.commit()
            continue
        row.filename = letter_filename(campaign, row.country)
        row.sha256 = hashlib.sha256(result).hexdigest()
        row.size = len(result)
        subject, text = cover(row)
        try:
            message = queue_message(
                session, to=row.email, subject=subject, text=text, reply_to=reply_to or None,
                kind="government-letter",
                attachments=[(row.filename, "application/pdf", bytes(result))],
                not_before=start + timedelta(seconds=interval * position),
            )  # fmt: skip
        except OutboxError as exc:
            row.status = DeliveryStatus.FAILED.value
            row.reason = str(exc)[:500]
            session.commit()
            continue
        session.flush()
        row.outbox_message_id = message.id
        row.status = DeliveryStatus.QUEUED.value
        session.commit()


def refresh_statuses(session: Session, campaign: Campaign) -> None:
    """Bring queued deliveries up to date with their outbox messages (sent, failed); commits."""
    query = (
        select(Delivery, OutboxMessage)
        .join(OutboxMessage, Delivery.outbox_message_id == OutboxMessage.id)
        .where(Delivery.campaign_id == campaign.id,
               Delivery.status == DeliveryStatus.QUEUED.value)
    )  # fmt: skip
    changed = False
    for delivery, message in session.execute(query):
        if message.status == MessageStatus.SENT:
            delivery.status = DeliveryStatus.SENT.value
            delivery.sent_at = message.sent_at
            changed = True
        elif message.status == MessageStatus.FAILED:
            delivery.status = DeliveryStatus.FAILED.value
            delivery.reason = message.last_error or "the mail server refused it"
            changed = True
        elif message.last_error and delivery.reason != message.last_error:
            delivery.reason = f"retrying: {message.last_error}"[:500]
            changed = True
    if changed:
        session.commit()


def deliveries(session: Session, campaign: Campaign) -> list[Delivery]:
    """Every delivery of the campaign, newest run first, then by country."""
    query = (
        select(Delivery)
        .where(Delivery.campaign_id == campaign.id)
        .order_by(Delivery.created_at.desc(), Delivery.batch, Delivery.country)
        .options(selectinload(Delivery.sent_by))
    )
    return list(session.scalars(query))


REPORT_COLUMNS = ("country", "status", "reason", "email", "recipient", "file", "sha256",
                  "bytes", "queued_at", "sent_at", "sent_by", "sent_again", "batch")  # fmt: skip


def report_rows(rows: Sequence[Delivery]) -> Iterator[tuple]:
    """The delivery report: one row per country and run, for the organizers' records."""
    for row in rows:
        yield (
            row.country, row.status, row.reason, row.email, row.recipient.replace("\n", ", "),
            row.filename, row.sha256, row.size or "", row.created_at, row.sent_at,
            row.sent_by.email if row.sent_by else "", row.resend, row.batch,
        )  # fmt: skip
