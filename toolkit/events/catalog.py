"""Load events from their data file and format their dates for letters."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from babel.dates import format_date, get_date_format
from sqlalchemy import select
from sqlalchemy.orm import Session

from toolkit.events.models import Event

EVENTS_FILE = "events.toml"
REQUIRED_KEYS = ("slug", "name", "full_name", "city", "country", "start", "end")


class EventDataError(ValueError):
    """The events file is malformed."""


@dataclass(frozen=True)
class EventView:
    """What a letter knows of an event, with its dates already written out."""

    slug: str
    name: str
    full_name: str
    city: str
    dates: str
    year: int
    start: date
    end: date


def read_events(directory: Path) -> list[dict]:
    """Parse and check events.toml; raise EventDataError naming the problem."""
    path = Path(directory) / EVENTS_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise EventDataError(f"{path}: file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise EventDataError(f"{path}: {exc}") from exc
    events = data.get("event", [])
    for number, item in enumerate(events, start=1):
        missing = [key for key in REQUIRED_KEYS if key not in item]
        if missing:
            raise EventDataError(f"{path}: event {number} lacks {', '.join(missing)}")
        if not isinstance(item["start"], date) or not isinstance(item["end"], date):
            raise EventDataError(f"{path}: event {item['slug']}: start and end must be dates")
        if item["end"] < item["start"]:
            raise EventDataError(f"{path}: event {item['slug']} ends before it starts")
    return events


def load_events(session: Session, directory: Path) -> tuple[int, int]:
    """Insert or update events from the data file; return (added, updated)."""
    added = updated = 0
    for item in read_events(directory):
        event = session.scalar(select(Event).where(Event.slug == item["slug"]))
        if event is None:
            event = Event(slug=item["slug"])
            session.add(event)
            added += 1
        else:
            updated += 1
        for key in (*REQUIRED_KEYS[1:], "summary"):
            setattr(event, key, item.get(key, ""))
    session.commit()
    return added, updated


def list_events(session: Session) -> list[Event]:
    """Every event, soonest first."""
    return list(session.scalars(select(Event).order_by(Event.start)))


def get_event(session: Session, slug: str) -> Event | None:
    """One event by slug."""
    return session.scalar(select(Event).where(Event.slug == slug))


def event_view(event: Event, locale: str = "en") -> EventView:
    """The event as letters see it, dates written in the letter's language."""
    return EventView(
        slug=event.slug,
        name=event.name,
        full_name=event.full_name,
        city=event.city,
        dates=format_date_range(event.start, event.end, locale),
        year=event.start.year,
        start=event.start,
        end=event.end,
    )


def format_date_range(start: date, end: date, locale: str) -> str:
    """A formal date range: "3–14 December 2012" (months written out, as letters want)."""
    if start == end:
        return format_date(start, "long", locale=locale)
    if (start.year, start.month) == (end.year, end.month):
        pattern = get_date_format("long", locale=locale).pattern
        days = f"'{start.day}–{end.day}'"
        return format_date(end, pattern.replace("dd", "d").replace("d", days, 1), locale=locale)
    return (
        f"{format_date(start, 'long', locale=locale)} – {format_date(end, 'long', locale=locale)}"
    )
