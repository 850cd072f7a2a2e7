"""The member-state directory: load the data files, look up states and their best contact."""

from __future__ import annotations

import csv
import functools
import gettext
import threading
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pycountry
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import case, select
from sqlalchemy.orm import Session

from toolkit.contacts.models import (
    LANGUAGES,
    ContactPoint,
    ContactRole,
    ContactStatus,
    CountryName,
    MemberState,
)
from toolkit.db import engine_of, utcnow

MEMBER_STATES_FILE = "member_states.csv"
CONTACT_POINTS_FILE = "contact_points.csv"
MEMBER_STATE_COLUMNS = (
    "iso2",
    "iso3",
    "numeric",
    "name_en",
    "name_fr",
    "name_es",
    "name_ru",
    "name_ar",
    "name_zh",
    "official_name_en",
    "m49_region",
    "m49_subregion",
    "m49_intermediate_region",
    "itu_region",
)
CONTACT_POINT_COLUMNS = (
    "country",
    "role",
    "organization",
    "addressee_name",
    "addressee_title",
    "address",
    "email",
    "phone",
    "website",
    "source",
    "verified_on",
    "status",
)
# Whom a letter to a government should reach first.
ROLE_PREFERENCE = (
    ContactRole.ITU_FOCAL_POINT,
    ContactRole.HEAD_OF_DELEGATION,
    ContactRole.MINISTRY,
    ContactRole.REGULATOR,
    ContactRole.MISSION_GENEVA,
)


class DirectoryDataError(ValueError):
    """A data file in contacts/ is malformed; the message names the file and row."""


@dataclass(frozen=True)
class Recipient:
    """Who a letter is addressed to, as the letter's address block and salutation need it."""

    kind: str
    country_code: str
    country_name: str
    organization: str
    name: str
    title: str
    address_lines: tuple[str, ...]
    email: str
    has_contact_point: bool
    verified_on: date | None = None
    source: str = ""


def _read_csv(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """Read a UTF-8 CSV (BOM tolerated) and check its header."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            if tuple(reader.fieldnames or ()) != columns:
                raise DirectoryDataError(
                    f"{path}: the header must be {','.join(columns)}; found "
                    f"{','.join(reader.fieldnames or ())}"
                )
            rows = []
            for row in reader:
                if None in row:
                    raise DirectoryDataError(f"{path}, row {reader.line_num}: too many fields")
                rows.append({key: (value or "").strip() for key, value in row.items()})
            return rows
    except FileNotFoundError as exc:
        raise DirectoryDataError(f"{path}: file not found") from exc
    except UnicodeDecodeError as exc:
        raise DirectoryDataError(f"{path}: not UTF-8 ({exc.reason})") from exc


def load_member_states(session: Session, directory: Path) -> tuple[int, int]:
    """Insert or update every member state from member_states.csv; return (added, updated)."""
    rows = _read_csv(Path(directory) / MEMBER_STATES_FILE, MEMBER_STATE_COLUMNS)
    existing = {state.iso2: state for state in session.scalars(select(MemberState))}
    added = updated = 0
    for number, row in enumerate(rows, start=2):
        if len(row["iso2"]) != 2 or not row["name_en"]:
            raise DirectoryDataError(f"{MEMBER_STATES_FILE}, row {number}: bad iso2 or name")
        state = existing.get(row["iso2"])
        if state is None:
            state = MemberState(iso2=row["iso2"])
            session.add(state)
            added += 1
        else:
            updated += 1
        for column in MEMBER_STATE_COLUMNS[1:]:
            setattr(state, column, row[column])
    session.commit()
    return added, updated


def get_member_state(session: Session, code: str) -> MemberState | None:
    """A member state by its ISO 3166 alpha-2 code, any case."""
    if not code or len(code) != 2 or not code.isascii():
        return None
    return session.get(MemberState, code.upper())


def list_member_states(session: Session, language: str = "en") -> list[MemberState]:
    """Every member state, sorted by its name in the given language."""
    states = list(session.scalars(select(MemberState)))
    return sorted(states, key=lambda state: state.name(language).casefold())


def _fold(text: str) -> str:
    """Case- and accent-insensitive form for searching ("Côte" finds "cote")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def search_member_states(session: Session, query: str, language: str = "en") -> list[MemberState]:
    """States whose name in any of the six UN languages, or whose ISO code, matches the query."""
    states = list_member_states(session, language)
    needle = _fold(query.strip())
    if not needle:
        return states
    return [
        state
        for state in states
        if needle in (state.iso2.casefold(), state.iso3.casefold())
        or any(needle in _fold(state.name(lang)) for lang in LANGUAGES)
        or needle in _fold(state.official_name_en)
    ]


_choices_lock = threading.Lock()
_choices: dict[tuple[str, str], tuple[float, tuple[tuple[str, str], ...]]] = {}
CHOICES_TTL = 300.0


def member_state_choices(session: Session, language: str = "en") -> tuple[tuple[str, str], ...]:
    """(code, name) pairs for country menus, cached for a few minutes per process and database.

    Forms on busy pages (signing) need the list on every request; it changes only when an
    admin loads new data, which a menu can learn a few minutes later.
    """
    key = (engine_of(session).url, language)
    now = time.monotonic()
    with _choices_lock:
        cached = _choices.get(key)
        if cached and cached[0] > now:
            return cached[1]
    states = list_member_states(session, language)
    choices = tuple((state.iso2, state.name(language)) for state in states)
    with _choices_lock:
        _choices[key] = (now + CHOICES_TTL, choices)
    return choices


def countries_with_verified_contact(session: Session) -> set[str]:
    """ISO codes of the member states that have at least one verified contact point."""
    query = select(ContactPoint.country).where(ContactPoint.status == ContactStatus.VERIFIED.value)
    return set(session.scalars(query))


def best_contact_point(
    session: Session, code: str, roles: Sequence[str] = ()
) -> ContactPoint | None:
    """The contact point a government letter should go to: verified first, then by role.

    ``roles`` is the letter's own order of preference; the default order fills in the rest.
    """
    order = list(dict.fromkeys([*roles, *(role.value for role in ROLE_PREFERENCE)]))
    role_rank = case(
        {role: rank for rank, role in enumerate(order)},
        value=ContactPoint.role,
        else_=len(order),
    )
    verified_first = case((ContactPoint.status == ContactStatus.VERIFIED.value, 0), else_=1)
    query = (
        select(ContactPoint)
        .where(ContactPoint.country == code)
        .order_by(verified_first, role_rank, ContactPoint.verified_on.desc(), ContactPoint.id)
        .limit(1)
    )
    return session.scalar(query)


# pycountry's gettext domain for ISO 3166-1 names; its locale folders name Chinese zh_CN.
_ISO_LOCALES = {"zh": "zh_CN"}


@functools.cache
def _iso_translations(language: str) -> gettext.NullTranslations:
    return gettext.translation(
        "iso3166-1", pycountry.LOCALES_DIR, languages=[_ISO_LOCALES.get(language, language)],
        fallback=True,
    )  # fmt: skip


def standard_formal_name(state: MemberState, language: str) -> str:
    """The formal name ISO 3166 gives ("République du Sénégal"), in the language when its
    translators wrote one, else the short name in that language."""
    official = state.official_name_en or state.name_en
    if language == "en":
        return official
    translated = _iso_translations(language).gettext(official)
    return translated if translated != official else state.name(language)


def formal_country_name(session: Session, state: MemberState, language: str) -> str:
    """How a letter in this language names the country: the organizers' own formal name when
    they set one, else the standard one."""
    override = session.get(CountryName, (state.iso2, language))
    return override.formal_name if override else standard_formal_name(state, language)


def set_formal_name(session: Session, iso2: str, language: str, name: str) -> CountryName | None:
    """Set (or, with an empty name, remove) the organizers' formal name; the caller commits."""
    if language not in LANGUAGES:
        raise ValueError(f"Unknown language '{language}': use one of {', '.join(LANGUAGES)}.")
    if session.get(MemberState, iso2) is None:
        raise ValueError(f"Unknown country code '{iso2}'.")
    name = " ".join(name.split())
    if len(name) > 300:
        raise ValueError("A formal name is at most 300 characters.")
    existing = session.get(CountryName, (iso2, language))
    if not name:
        if existing is not None:
            session.delete(existing)
        session.flush()
        return None
    if existing is None:
        existing = CountryName(iso2=iso2, language=language, formal_name=name)
        session.add(existing)
    existing.formal_name, existing.updated_at = name, utcnow()
    session.flush()
    return existing


def government_recipient(
    session: Session, state: MemberState, language: str = "en", roles: Sequence[str] = ()
) -> Recipient:
    """The addressee for a letter to this state's government, generic when no contact is known.

    The generic addressee is written in the letter's language, above the country's formal name
    ("Republic of Kenya", "République du Sénégal"), as an official address block has it.
    """
    point = best_contact_point(session, state.iso2, roles)
    country_name = state.name(language)
    formal = formal_country_name(session, state, language)
    if point is None:
        with force_locale(language):
            minister = _("The Minister responsible for telecommunications")
        return Recipient(
            kind="government",
            country_code=state.iso2,
            country_name=country_name,
            organization=formal,
            name="",
            title="Minister",
            address_lines=(minister, formal),
            email="",
            has_contact_point=False,
        )
    lines = [line for line in (point.addressee_name, point.addressee_title) if line]
    lines += [point.organization, *point.address_lines]
    if country_name not in point.address_lines:
        lines.append(country_name)
    return Recipient(
        kind="government",
        country_code=state.iso2,
        country_name=country_name,
        organization=point.organization,
        name=point.addressee_name,
        title=point.addressee_title,
        address_lines=tuple(lines),
        email=point.email,
        has_contact_point=True,
        verified_on=point.verified_on,
        source=point.source,
    )


def itu_recipient(language: str = "en") -> Recipient:
    """The ITU Secretary-General, whose address is public, written in the letter's language."""
    with force_locale(language):
        union = _("International Telecommunication Union")
        lines = (_("The Secretary-General"), union, "Place des Nations", _("1211 Geneva 20"),
                 _("Switzerland"))  # fmt: skip
    return Recipient(
        kind="itu",
        country_code="",
        country_name="",
        organization=union,
        name="",
        title="Secretary-General",
        address_lines=lines,
        email="",
        has_contact_point=True,
    )
