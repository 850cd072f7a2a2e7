"""Figures for an organizer's dashboard of one campaign, counted by the database (GROUP BY).

A campaign may hold a million signatures, so nothing here loads signatures one by one: each
function sends one aggregate query and gets back a few rows: one per day and source, or per
country.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Date, case, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from toolkit.campaigns.models import Campaign, Signature
from toolkit.campaigns.signing import COUNTED
from toolkit.db import utcnow

UNKNOWN_COUNTRY = "unknown"  # signatures without a country
OTHER_COUNTRIES = "other"  # every country after the top ones
TOP_COUNTRIES = 15
SOURCES = ("web", "paper")


class utc_date(FunctionElement):  # noqa: N801 - reads like the SQL function it stands for
    """The UTC calendar date of a timestamp, written for each database.

    PostgreSQL's ``CAST(ts AS DATE)`` uses the session's time zone, so the timestamp is first
    moved to UTC there. SQLite stores UTC text ("2024-03-01 23:30:00.000000"), whose
    ``date()`` is the UTC date; SQLAlchemy turns the 'YYYY-MM-DD' text back into a date.
    """

    type = Date()
    inherit_cache = True
    name = "utc_date"


@compiles(utc_date)
def _utc_date_default(element: utc_date, compiler, **kw) -> str:  # noqa: ANN001
    return f"CAST({compiler.process(element.clauses, **kw)} AS DATE)"


@compiles(utc_date, "postgresql")
def _utc_date_postgresql(element: utc_date, compiler, **kw) -> str:  # noqa: ANN001
    return f"CAST(timezone('UTC', {compiler.process(element.clauses, **kw)}) AS DATE)"


@compiles(utc_date, "sqlite")
def _utc_date_sqlite(element: utc_date, compiler, **kw) -> str:  # noqa: ANN001
    return f"date({compiler.process(element.clauses, **kw)})"


@dataclass(frozen=True)
class DayCount:
    """One UTC day: how many signed that day, and how many of those count now."""

    day: date
    signed: int
    confirmed: int


@dataclass(frozen=True)
class CountryCount:
    """Counted signatures from one country (UNKNOWN_COUNTRY or OTHER_COUNTRIES for groups)."""

    country: str
    count: int


@dataclass(frozen=True)
class Conversion:
    """Everyone who signed (withdrawn and rejected included) against those who ever confirmed."""

    signed: int
    confirmed: int

    @property
    def rate(self) -> float | None:
        """The share that confirmed, 0 to 1; None before anyone signs."""
        return self.confirmed / self.signed if self.signed else None


@dataclass(frozen=True)
class SourceCount:
    """Signatures from one source ("web" or "paper"): all of them, and those that count."""

    source: str
    signed: int
    counted: int


@dataclass(frozen=True)
class Deadline:
    """When signing ends, and the whole UTC days left until then."""

    at: datetime
    days_left: int  # 0 on the last day and after it
    passed: bool


@dataclass(frozen=True)
class Summary:
    """Everything the dashboard shows, in plain values."""

    counted: int
    goal: int | None
    goal_percent: int | None
    per_day: list[DayCount]
    countries: list[CountryCount]
    conversion: Conversion
    sources: list[SourceCount]
    deadline: Deadline | None


def _counted(column: ColumnElement[bool]) -> ColumnElement[int]:
    """SUM(CASE WHEN condition THEN 1 ELSE 0 END): portable where COUNT(*) FILTER is not."""
    return func.coalesce(func.sum(case((column, 1), else_=0)), 0)


def fill_days(rows: list[DayCount]) -> list[DayCount]:
    """The days from the first to the last, with zeros for days nobody signed."""
    if not rows:
        return []
    by_day = {row.day: row for row in rows}
    first, last = min(by_day), max(by_day)
    return [
        by_day.get(first + timedelta(days=n), DayCount(first + timedelta(days=n), 0, 0))
        for n in range((last - first).days + 1)
    ]


@dataclass(frozen=True)
class _Group:
    day: date
    source: str
    signed: int
    counted: int
    confirmed: int  # ever confirmed their email


def _groups(session: Session, campaign: Campaign) -> list[_Group]:
    """One scan of the campaign's signatures, grouped by UTC day and source: a few hundred rows
    from which the daily series, the sources and the conversion are all summed."""
    day = utc_date(Signature.created_at)
    query = (
        select(day, Signature.source, func.count(), _counted(Signature.status.in_(COUNTED)),
               _counted(Signature.confirmed_at.is_not(None)))
        .where(Signature.campaign_id == campaign.id)
        .group_by(day, Signature.source)
    )  # fmt: skip
    return [_Group(_as_date(d), source, int(n), int(counted), int(confirmed))
            for d, source, n, counted, confirmed in session.execute(query)]  # fmt: skip


def _per_day(groups: list[_Group]) -> list[DayCount]:
    days: dict[date, tuple[int, int]] = {}
    for group in groups:
        signed, counted = days.get(group.day, (0, 0))
        days[group.day] = (signed + group.signed, counted + group.counted)
    return fill_days([DayCount(day, signed, counted) for day, (signed, counted) in days.items()])


def _by_source(groups: list[_Group]) -> list[SourceCount]:
    found: dict[str, tuple[int, int]] = {}
    for group in groups:
        signed, counted = found.get(group.source, (0, 0))
        found[group.source] = (signed + group.signed, counted + group.counted)
    names = [*SOURCES, *sorted(s for s in found if s not in SOURCES)]
    return [SourceCount(name, *found.get(name, (0, 0))) for name in names]


def _conversion(groups: list[_Group]) -> Conversion:
    return Conversion(sum(g.signed for g in groups), sum(g.confirmed for g in groups))


def signatures_per_day(session: Session, campaign: Campaign) -> list[DayCount]:
    """Signatures by the UTC day they were made, zero-filled between the first and last day."""
    return _per_day(_groups(session, campaign))


def _as_date(value: date | str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):  # a driver that hands back text
        return date.fromisoformat(value[:10])
    return value


def totals_by_country(session: Session, campaign: Campaign) -> list[CountryCount]:
    """Counted signatures per country, most first; those without a country as UNKNOWN_COUNTRY."""
    query = (
        select(Signature.country, func.count())
        .where(Signature.campaign_id == campaign.id, Signature.status.in_(COUNTED))
        .group_by(Signature.country)
    )
    totals: dict[str, int] = {}
    for country, count in session.execute(query):
        key = (country or "").strip() or UNKNOWN_COUNTRY
        totals[key] = totals.get(key, 0) + int(count)
    return sorted((CountryCount(c, n) for c, n in totals.items()),
                  key=lambda row: (-row.count, row.country))  # fmt: skip


def top_countries(rows: list[CountryCount], limit: int = TOP_COUNTRIES) -> list[CountryCount]:
    """The first ``limit`` countries, the rest summed as OTHER_COUNTRIES (when there is a rest)."""
    if len(rows) <= limit + 1:  # "other" for a single country would hide its name for nothing
        return list(rows)
    rest = sum(row.count for row in rows[limit:])
    return [*rows[:limit], CountryCount(OTHER_COUNTRIES, rest)]


def conversion(session: Session, campaign: Campaign) -> Conversion:
    """How many signed at all, and how many of them ever confirmed their email."""
    return _conversion(_groups(session, campaign))


def by_source(session: Session, campaign: Campaign) -> list[SourceCount]:
    """Web and paper signatures (always both, then any other source found), signed and counted."""
    return _by_source(_groups(session, campaign))


def deadline_of(campaign: Campaign, now: datetime | None = None) -> Deadline | None:
    """The deadline and the UTC days left to it; None when the campaign has none."""
    if campaign.deadline is None:
        return None
    at = campaign.deadline
    if at.tzinfo is None:  # SQLite returns naive datetimes; they are UTC
        at = at.replace(tzinfo=UTC)
    at = at.astimezone(UTC)
    now = (now or utcnow()).astimezone(UTC)
    passed = now > at
    days_left = 0 if passed else (at.date() - now.date()).days
    return Deadline(at=at, days_left=days_left, passed=passed)


def goal_percent(counted: int, goal: int | None) -> int | None:
    """How far the count is towards the goal, in whole percent (above 100 once passed)."""
    if not goal or goal <= 0:
        return None
    return counted * 100 // goal


def summarize(session: Session, campaign: Campaign, now: datetime | None = None) -> Summary:
    """Every figure of the dashboard, in two aggregate queries."""
    groups = _groups(session, campaign)
    sources = _by_source(groups)
    counted = sum(source.counted for source in sources)
    return Summary(
        counted=counted,
        goal=campaign.goal,
        goal_percent=goal_percent(counted, campaign.goal),
        per_day=_per_day(groups),
        countries=totals_by_country(session, campaign),
        conversion=_conversion(groups),
        sources=sources,
        deadline=deadline_of(campaign, now),
    )
