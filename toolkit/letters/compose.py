"""Compose a letter: a template filled for one sender, one recipient and one event."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import Session

from toolkit.contacts.directory import (
    Recipient,
    get_member_state,
    government_recipient,
    itu_recipient,
)
from toolkit.events.catalog import EventView, event_view, get_event
from toolkit.letters.catalog import Catalog, LetterTemplate
from toolkit.letters.context import SenderView, context_for, date_locale, format_letter_date
from toolkit.letters.fill import FilledLetter

# Countries that print on US Letter rather than A4 (CLDR's paperSize data).
LETTER_PAPER_COUNTRIES = frozenset(
    {"BZ", "CA", "CL", "CO", "CR", "GT", "MX", "NI", "PA", "PH", "SV", "US", "VE"}
)


class LetterError(Exception):
    """A letter cannot be composed; the message is meant for the person who asked."""


class NotFound(LetterError):
    """An unknown template, country, event or language."""


@dataclass(frozen=True)
class SenderDetails:
    """The sender as typed in the form or ORG.json."""

    name: str
    description: str = ""
    website: str = ""
    address: str = ""
    contact_name: str = ""
    contact_role: str = ""
    email: str = ""
    phone: str = ""
    country: str = ""


@dataclass(frozen=True)
class LetterRequest:
    """Everything needed to compose one letter."""

    template: str
    sender: SenderDetails
    recipient_country: str = ""
    event: str = ""
    language: str = "en"
    letter_date: date = field(default_factory=date.today)
    fields: dict[str, str] = field(default_factory=dict)
    own_words: str = ""


@dataclass(frozen=True)
class Letter:
    """A composed letter, ready for any document format."""

    template: LetterTemplate
    language: str
    sender: SenderView
    recipient: Recipient
    event: EventView
    letter_date: date
    date_text: str
    filled: FilledLetter
    page_size: str
    signatories: tuple = ()

    @property
    def code(self) -> str:
        """The country code used in file names: the recipient's, or ITU."""
        return self.recipient.country_code or "ITU"

    def filename(self, extension: str) -> str:
        """A file name that says what the letter is: delegation-request-KE-2012-11-20.pdf."""
        return f"{self.template.slug}-{self.code}-{self.letter_date.isoformat()}.{extension}"


def compose_letter(session: Session, catalog: Catalog, request: LetterRequest) -> Letter:
    """Fill the requested template; raise NotFound or LetterError with a readable message."""
    template = catalog.get(request.template)
    if template is None:
        raise NotFound(f"There is no letter template called '{request.template}'.")
    if request.language not in template.languages:
        raise NotFound(
            f"The letter '{template.title}' is not available in '{request.language}'; "
            f"it is available in: {', '.join(template.languages)}."
        )
    event = get_event(session, request.event) if request.event else None
    if event is None:
        raise NotFound(f"There is no event called '{request.event}'.")
    sender_state = get_member_state(session, request.sender.country)
    if request.sender.country and sender_state is None:
        raise NotFound(f"Unknown country code for the organization: '{request.sender.country}'.")

    if template.recipient == "itu":
        recipient = itu_recipient(request.language)
    else:
        state = get_member_state(session, request.recipient_country)
        if state is None:
            raise NotFound(f"Unknown recipient country code: '{request.recipient_country}'.")
        recipient = government_recipient(session, state, request.language, template.contact_roles)

    details = request.sender
    sender = SenderView(
        name=details.name,
        description=details.description,
        website=details.website,
        address=tuple(line.strip() for line in details.address.splitlines() if line.strip()),
        contact_name=details.contact_name,
        contact_role=details.contact_role,
        email=details.email,
        phone=details.phone,
        country_code=sender_state.iso2 if sender_state else "",
        country_name=sender_state.name(request.language) if sender_state else "",
    )
    event_for_letter = event_view(event, date_locale(request.language))
    context = context_for(
        sender=sender,
        recipient=recipient,
        event=event_for_letter,
        letter_date=request.letter_date,
        language=request.language,
        fields={spec.name: request.fields.get(spec.name, "") for spec in template.fields},
        own_words=request.own_words,
        signatory_count=0,
    )
    filled = catalog.fill(template, request.language, context)
    paper_country = recipient.country_code or "CH"
    return Letter(
        template=template,
        language=request.language,
        sender=sender,
        recipient=recipient,
        event=event_for_letter,
        letter_date=request.letter_date,
        date_text=format_letter_date(request.letter_date, request.language),
        filled=filled,
        page_size="Letter" if paper_country in LETTER_PAPER_COUNTRIES else "A4",
    )
