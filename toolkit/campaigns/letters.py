"""A sign-on letter as batch letters: the final letter, addressed to each government in turn.

Each country's copy is the final letter with its approved signatories, addressed to that
country's best contact point. The signatory list is built once for the whole batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import partial

from flask_babel import force_locale, format_date
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from toolkit.campaigns.documents import final_letter_labels
from toolkit.campaigns.final_letter import FinalLetter, signatory_list
from toolkit.campaigns.models import Campaign, CampaignKind, Signature, SignatureStatus
from toolkit.contacts.directory import government_recipient
from toolkit.contacts.models import MemberState
from toolkit.documents.html import final_letter_html
from toolkit.letters.batch import BatchError, BatchLetter, contact_details
from toolkit.markup import render_markdown


def _final_letter_docx(letter: FinalLetter, labels: dict[str, str]) -> bytes:
    from toolkit.documents.docx import final_letter_docx  # noqa: PLC0415 - python-docx on demand

    return final_letter_docx(letter, labels=labels)


def signatory_countries(session: Session, campaign: Campaign) -> set[str]:
    """The ISO codes of the countries the campaign's approved signatories come from."""
    query = select(Signature.country).where(
        Signature.campaign_id == campaign.id,
        Signature.status == SignatureStatus.APPROVED.value,
        Signature.erased_at.is_(None),
        Signature.country != "",
    )
    return set(session.scalars(query.distinct()))


def campaign_letters(
    session: Session, campaign: Campaign, countries: Sequence[MemberState], language: str
) -> list[BatchLetter]:
    """The sign-on letter with its approved signatories, one copy per country.

    Each copy is addressed to the country's best contact point (a generic address to the
    government when none is known). Open and closed campaigns are both allowed; the callers
    say how many signatories are included. Raise BatchError for a petition or no country.
    """
    if campaign.kind == CampaignKind.PETITION:
        raise BatchError("A petition is handed over as one document, not as letters to each "
                         "government; batch letters are for sign-on letters.")  # fmt: skip
    if not countries:
        raise BatchError("No country is selected: a batch needs at least one.")
    today = date.today()
    words = campaign.text_in(language)
    text_html = str(render_markdown(words.text))
    letters = []
    with force_locale(language):
        signatories = signatory_list(session, campaign, language)
        labels = final_letter_labels(signatories.total)
        date_text = format_date(today, "long")
        for state in countries:
            recipient = government_recipient(session, state, language)
            point, email, verified = contact_details(session, state)
            addressee = "\n".join(recipient.address_lines)
            letter = FinalLetter(
                title=words.title,
                language=language,
                addressee=addressee,
                text_html=text_html,
                signatories=signatories,
                letter_date=today,
                date_text=date_text,
            )
            letters.append(
                BatchLetter(
                    code=state.iso2,
                    country=state.name(language),
                    addressee=addressee,
                    email=email,
                    email_verified=verified,
                    contact_point_id=point.id if point is not None else None,
                    filename_stem=f"{state.iso2}-{campaign.slug}",
                    html=final_letter_html(letter, labels),
                    docx=partial(_final_letter_docx, letter, labels),
                )
            )
    return letters


def signatory_count(session: Session, campaign: Campaign) -> int:
    """How many approved signatories a batch of this campaign's letters lists."""
    query = select(func.count()).where(
        Signature.campaign_id == campaign.id,
        Signature.status == SignatureStatus.APPROVED.value,
        Signature.erased_at.is_(None),  # as signatory_list counts them
    )
    return session.scalar(query) or 0
