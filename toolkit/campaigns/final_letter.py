"""The final letter: the text, then its signatories, grouped as sign-on letters list them."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from functools import cache

from pyuca import Collator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from toolkit.campaigns.models import Campaign, Signature, SignatureStatus, SignerKind
from toolkit.campaigns.signing import COUNTED
from toolkit.contacts.models import MemberState


@cache
def _collator() -> Collator:
    """The Unicode Collation Algorithm: a sensible order across scripts and accents."""
    return Collator()


def sort_key(text: str) -> tuple:
    """Alphabetical in a way that respects accents and scripts (Ångström after Andorra)."""
    return _collator().sort_key(text.casefold())


@dataclass(frozen=True)
class Signatory:
    """One line of the list."""

    name: str
    detail: str  # for an organization: nothing; for an individual: affiliation and role


@dataclass(frozen=True)
class CountryGroup:
    """Organizations from one country."""

    country: str
    organizations: tuple[Signatory, ...]


@dataclass(frozen=True)
class SignatoryList:
    """Organizations by country, then individuals; and the total."""

    groups: tuple[CountryGroup, ...]
    individuals: tuple[Signatory, ...]
    total: int

    def fingerprint(self) -> str:
        """Changes whenever the list would print differently: the key of the kept PDF."""
        data = [[g.country, [[s.name, s.detail] for s in g.organizations]] for g in self.groups]
        data.append([[s.name, s.detail] for s in self.individuals])
        return hashlib.sha256(json.dumps(data, ensure_ascii=False).encode()).hexdigest()[:24]


def signatory_list(session: Session, campaign: Campaign, language: str = "en") -> SignatoryList:
    """Approved signatures as the final letter lists them."""
    names = {s.iso2: s.name(language) for s in session.scalars(select(MemberState))}
    query = select(
        Signature.kind, Signature.name, Signature.organization, Signature.role, Signature.country
    ).where(
        Signature.campaign_id == campaign.id,
        Signature.status == SignatureStatus.APPROVED.value,
        Signature.erased_at.is_(None),  # a signer who asked to be forgotten is not listed
    )
    by_country: dict[str, list[Signatory]] = {}
    individuals: list[Signatory] = []
    total = 0
    for kind, name, organization, role, country in session.execute(query):
        total += 1
        if kind == SignerKind.ORGANIZATION:
            country_name = names.get(country, "") or "Other"
            by_country.setdefault(country_name, []).append(Signatory(organization or name, ""))
        else:
            detail = ", ".join(part for part in (role, organization) if part)
            if country:
                detail = ", ".join(part for part in (detail, names.get(country, country)) if part)
            individuals.append(Signatory(name, detail))
    groups = tuple(
        CountryGroup(country, tuple(sorted(items, key=lambda s: sort_key(s.name))))
        for country, items in sorted(by_country.items(), key=lambda item: sort_key(item[0]))
    )
    return SignatoryList(
        groups=groups,
        individuals=tuple(sorted(individuals, key=lambda s: sort_key(s.name))),
        total=total,
    )


@dataclass(frozen=True)
class FinalLetter:
    """Everything the document needs: plain values, so a worker process can render it."""

    title: str
    language: str
    addressee: str
    text_html: str
    signatories: SignatoryList
    letter_date: date
    date_text: str


@dataclass(frozen=True)
class CountryTotal:
    """How many counted signatures came from one country."""

    country: str
    count: int


@dataclass(frozen=True)
class PetitionSigners:
    """A petition's hand-over figures: the total, totals by country, and the names listed."""

    total: int
    paper: int
    by_country: tuple[CountryTotal, ...]
    names: tuple[Signatory, ...]  # approved signers who agreed to be listed; detail = country

    def fingerprint(self) -> str:
        """Changes whenever the document would print differently."""
        data = [self.total, self.paper, [[c.country, c.count] for c in self.by_country],
                [[s.name, s.detail] for s in self.names]]  # fmt: skip
        return hashlib.sha256(json.dumps(data, ensure_ascii=False).encode()).hexdigest()[:24]


def petition_signers(
    session: Session, campaign: Campaign, language: str = "en", unknown: str = "Not given"
) -> PetitionSigners:
    """Counted signatures by country (largest first) and the names of those who agreed."""
    names = {s.iso2: s.name(language) for s in session.scalars(select(MemberState))}
    counted = (Signature.campaign_id == campaign.id, Signature.status.in_(COUNTED))
    totals = session.execute(
        select(Signature.country, func.count()).where(*counted).group_by(Signature.country)
    ).all()
    by_country = sorted(
        (CountryTotal(names.get(code, code) if code else unknown, n) for code, n in totals),
        key=lambda c: (-c.count, sort_key(c.country)),
    )
    paper = session.scalar(select(func.count()).where(*counted, Signature.source == "paper")) or 0
    listed = select(Signature.name, Signature.country).where(
        Signature.campaign_id == campaign.id,
        Signature.status == SignatureStatus.APPROVED.value,
        Signature.list_publicly.is_(True),
        Signature.erased_at.is_(None),
    )
    people = [Signatory(name, names.get(code, code)) for name, code in session.execute(listed)]
    people.sort(key=lambda s: sort_key(s.name))
    return PetitionSigners(
        total=sum(c.count for c in by_country),
        paper=paper,
        by_country=tuple(by_country),
        names=tuple(people),
    )


@dataclass(frozen=True)
class PetitionDelivery:
    """The petition as handed over: plain values, so a worker process can render it."""

    title: str
    language: str
    addressee: str
    introduction_html: str
    text_html: str
    signers: PetitionSigners
    date_text: str
