"""Campaigns: create, open, close, reopen; who may manage them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from toolkit.accounts.models import User
from toolkit.campaigns.models import (
    SIGNER_FIELDS,
    Campaign,
    CampaignKind,
    CampaignState,
    FieldRule,
)
from toolkit.contacts.directory import itu_recipient
from toolkit.db import utcnow
from toolkit.documents.text import body_paragraphs
from toolkit.i18n import N_
from toolkit.letters.catalog import get_catalog
from toolkit.letters.context import SAMPLE_EVENT, SenderView, context_for

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
ADDRESSEES = ("itu", "governments", "custom")


class CampaignError(ValueError):
    """A campaign cannot be created or changed so; the message says why, naming the field."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class NewCampaign:
    """What an organizer fills in (web form or CLI)."""

    kind: str
    slug: str
    title: str
    text: str
    introduction: str = ""
    addressee: str = "itu"
    addressee_text: str = ""
    language: str = "en"
    template: str = ""
    deadline: date | None = None
    goal: int | None = None
    allow_organizations: bool = True
    allow_individuals: bool = True
    field_rules: dict[str, str] = field(default_factory=dict)
    list_publicly: bool = True
    require_confirmation: bool = True
    require_moderation: bool = True
    retention_days: int = 365
    custom_fields: list[dict] = field(default_factory=list)


MAX_QUESTIONS = 5
QUESTION_MAX_LENGTH = 200
_NAME_RE = re.compile(r"[^a-z0-9]+")


def parse_questions(text: str) -> list[dict]:
    """The organizer's own questions, one per line; a line ending in * must be answered.

    Each gets a short name for exports (from its label, or q1, q2 … for labels in other
    scripts). Raises CampaignError naming the field for too many or too long questions.
    """
    questions: list[dict] = []
    names: set[str] = set()
    for line in text.splitlines():
        label = " ".join(line.split())
        if not label:
            continue
        required = label.endswith("*")
        label = label.rstrip("*").rstrip()
        if not label:
            continue
        if len(label) > QUESTION_MAX_LENGTH:
            raise CampaignError(
                f"A question may be at most {QUESTION_MAX_LENGTH} characters long.", "questions"
            )
        name = _NAME_RE.sub("_", label.lower()).strip("_")[:30] or f"q{len(questions) + 1}"
        while name in names or name in RESERVED_NAMES:
            name = f"{name}_{len(questions) + 1}"
        names.add(name)
        questions.append({"name": name, "label": label, "required": required,
                          "max_length": QUESTION_MAX_LENGTH})  # fmt: skip
    if len(questions) > MAX_QUESTIONS:
        raise CampaignError(f"Ask at most {MAX_QUESTIONS} questions of your own.", "questions")
    return questions


RESERVED_NAMES = frozenset(
    ("id", "status", "kind", "name", "email", "organization", "role", "city", "country",
     "list_publicly", "receive_updates", "language", "source", "created_at", "confirmed_at",
     "approved_at", "rejected_at", "withdrawn_at", "rejection_reason")
)  # fmt: skip
PETITION_RULES = {"organization": FieldRule.HIDDEN.value, "role": FieldRule.HIDDEN.value}


def for_kind(new: NewCampaign) -> NewCampaign:
    """A petition is signed by people, one by one: no organizations, no role or organization."""
    if new.kind != CampaignKind.PETITION:
        return new
    rules = {**new.field_rules, **PETITION_RULES}
    return replace(new, allow_organizations=False, allow_individuals=True, field_rules=rules)


def end_of_day(day: date) -> datetime:
    """A deadline date means signing is possible until the end of that day (UTC)."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


def check_new_campaign(new: NewCampaign, today: date | None = None) -> None:
    """Refuse values that make no sense, naming the field."""
    today = today or datetime.now(UTC).date()
    if new.kind not in {k.value for k in CampaignKind}:
        raise CampaignError("The kind must be sign-on or petition.", "kind")
    if not SLUG_RE.match(new.slug) or len(new.slug) > 80:
        raise CampaignError(
            "The web address may hold only lower-case letters, digits and hyphens.", "slug"
        )
    if not new.title.strip():
        raise CampaignError("A title is required.", "title")
    if not new.text.strip():
        raise CampaignError("The text is required.", "text")
    if new.addressee not in ADDRESSEES:
        raise CampaignError("Choose to whom the campaign is addressed.", "addressee")
    if new.deadline is not None and new.deadline < today:
        raise CampaignError("The deadline is in the past.", "deadline")
    if new.goal is not None and new.goal <= 0:
        raise CampaignError("The goal must be a number above zero.", "goal")
    if not (new.allow_organizations or new.allow_individuals):
        raise CampaignError(
            "Allow organizations, individuals, or both to sign.", "allow_individuals"
        )
    for name, rule in new.field_rules.items():
        if name not in SIGNER_FIELDS or rule not in {r.value for r in FieldRule}:
            raise CampaignError(f"Unknown field rule {name}={rule}.", "field_rules")
    if not 1 <= new.retention_days <= 3650:
        raise CampaignError("Keep personal data between 1 and 3650 days.", "retention_days")
    if len(new.custom_fields) > MAX_QUESTIONS:
        raise CampaignError(f"Ask at most {MAX_QUESTIONS} questions of your own.", "questions")


def create_campaign(session: Session, new: NewCampaign, creator: User | None) -> Campaign:
    """A new campaign as a draft; its creator becomes one of its organizers."""
    new = for_kind(new)
    check_new_campaign(new)
    if session.scalar(select(Campaign.id).where(Campaign.slug == new.slug)) is not None:
        raise CampaignError(f"The web address '{new.slug}' is already taken.", "slug")
    values = {k: v for k, v in new.__dict__.items() if k != "deadline"}
    campaign = Campaign(**values, deadline=end_of_day(new.deadline) if new.deadline else None)
    if creator is not None:
        campaign.created_by_id = creator.id
        campaign.organizers.append(creator)
    session.add(campaign)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise CampaignError(f"The web address '{new.slug}' is already taken.", "slug") from exc
    return campaign


def campaigns_managed_by(session: Session, user: User) -> list[Campaign]:
    """The campaigns an account runs, newest first: every one for an admin."""
    query = select(Campaign).order_by(Campaign.id.desc())
    if not user.is_admin:
        query = query.where(Campaign.organizers.any(User.id == user.id))
    return list(session.scalars(query))


def list_open_campaigns(session: Session) -> list[Campaign]:
    """Campaigns people can sign now, oldest first."""
    query = select(Campaign).where(Campaign.state == CampaignState.OPEN.value).order_by(Campaign.id)
    return list(session.scalars(query))


def get_campaign(session: Session, slug: str) -> Campaign | None:
    """A campaign by its slug."""
    if not slug or len(slug) > 80:
        return None
    return session.scalar(select(Campaign).where(Campaign.slug == slug))


def is_past_deadline(campaign: Campaign, now: datetime | None = None) -> bool:
    """True once the deadline has passed."""
    if campaign.deadline is None:
        return False
    deadline = campaign.deadline
    if deadline.tzinfo is None:  # SQLite returns naive datetimes; they are UTC
        deadline = deadline.replace(tzinfo=UTC)
    return (now or utcnow()) > deadline


def signing_closed_reason(campaign: Campaign, now: datetime | None = None) -> str | None:
    """Why signing is not possible now, in words for the signer; None when it is."""
    if campaign.state == CampaignState.DRAFT:
        return N_("This campaign is not open for signatures yet.")
    if campaign.state == CampaignState.CLOSED:
        return N_(
            "This campaign is closed: it no longer takes signatures. Thank you for your interest."
        )
    if is_past_deadline(campaign, now):
        return N_("The deadline for signing has passed: this campaign no longer takes signatures.")
    if campaign.signing_paused:
        return N_("Signing is paused for a short while. Please come back later.")
    return None


def open_campaign(campaign: Campaign) -> None:
    """Publish: people can sign (also reopens a closed campaign)."""
    if is_past_deadline(campaign):
        raise CampaignError("Move the deadline first: it has passed.", "deadline")
    campaign.state = CampaignState.OPEN.value
    campaign.opened_at = campaign.opened_at or utcnow()
    campaign.closed_at = None


def close_campaign(campaign: Campaign) -> None:
    """Stop taking signatures."""
    campaign.state = CampaignState.CLOSED.value
    campaign.closed_at = utcnow()


def may_manage(user: User, campaign: Campaign) -> bool:
    """Admins manage every campaign; organizers the ones they organize."""
    if not user.is_authenticated:
        return False
    return user.is_admin or any(o.id == user.id for o in campaign.organizers)


def template_text(templates_dir: str, slug: str, language: str, event_slug: str) -> str:
    """A letter template's body as Markdown paragraphs, for an organizer to edit."""

    catalog = get_catalog(templates_dir)
    template = catalog.get(slug)
    if template is None:
        raise CampaignError(f"There is no letter template called '{slug}'.", "template")
    if language not in template.languages:
        language = template.languages[0]
    # Placeholders the organizer sees and replaces before opening the campaign.
    sender = SenderView("[coordinating organization]", "", "", (), "", "", "", "", "", "")
    context = context_for(
        sender=sender, recipient=itu_recipient(language), event=SAMPLE_EVENT,
        letter_date=datetime.now(UTC).date(), language=language, fields={}, own_words="",
        signatory_count=0,
    )  # fmt: skip
    filled = catalog.fill(template, language, context)
    paragraphs = [filled.salutation, *body_paragraphs(filled.body), filled.closing]
    return "\n\n".join(paragraphs)
