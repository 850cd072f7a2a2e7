"""What a letter template sees: a plain context of sender, recipient, event, date and fields."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from babel.dates import format_date

from toolkit.contacts.directory import Recipient, itu_recipient
from toolkit.events.catalog import EventView
from toolkit.i18n import date_locale

# Letters in English follow the international (UN/ITU) style: "20 November 2012"
# (see toolkit.i18n.date_locale).


@dataclass(frozen=True)
class SenderView:
    """The organization writing, as its letterhead and signature block show it."""

    name: str
    description: str
    website: str
    address: tuple[str, ...]
    contact_name: str
    contact_role: str
    email: str
    phone: str
    country_code: str
    country_name: str


def format_letter_date(value: date, language: str) -> str:
    """The date line of a letter, written out in the letter's language."""
    return format_date(value, "long", locale=date_locale(language))


def split_paragraphs(text: str) -> list[str]:
    """A text typed in a form, as paragraphs: blank lines separate them, line breaks fold."""
    blocks = text.replace("\r\n", "\n").split("\n\n")
    return [" ".join(block.split()) for block in blocks if block.strip()]


def context_for(
    *,
    sender: SenderView,
    recipient: Recipient,
    event: EventView,
    letter_date: date,
    language: str,
    fields: dict[str, str],
    own_words: str,
    signatory_count: int,
) -> dict:
    """The whole context a letter template may use: plain values, no app, no config."""
    return {
        "sender": sender,
        "recipient": recipient,
        "event": event,
        "date": format_letter_date(letter_date, language),
        "language": language,
        "fields": dict(fields),
        "own_words": split_paragraphs(own_words),
        "signatory_count": signatory_count,
    }


SAMPLE_SENDER = SenderView(
    name="Sample Network for Digital Rights",
    description="A sample organization.",
    website="https://example.org",
    address=("1 Sample Street", "Nairobi"),
    contact_name="A. Sample",
    contact_role="Coordinator",
    email="info@example.org",
    phone="+254 20 000 0000",
    country_code="KE",
    country_name="Kenya",
)

SAMPLE_EVENT = EventView(
    slug="wcit-12",
    name="WCIT-12",
    full_name="World Conference on International Telecommunications",
    city="Dubai",
    dates="3–14 December 2012",
    year=2012,
    start=date(2012, 12, 3),
    end=date(2012, 12, 14),
)


def sample_recipient(kind: str, language: str = "en") -> Recipient:
    """A recipient of the given kind, for checking templates without a database."""
    if kind == "itu":
        return itu_recipient(language)
    return Recipient(
        kind="government",
        country_code="KE",
        country_name="Kenya",
        organization="Government of Kenya",
        name="",
        title="Minister",
        address_lines=("The Minister responsible for telecommunications", "Kenya"),
        email="",
        has_contact_point=False,
    )
