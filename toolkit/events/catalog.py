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
from toolkit.i18n import normalize

EVENTS_FILE = "events.toml"
TRANSLATED_KEYS = ("full_name", "city", "summary")
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


def read_translations(directory: Path) -> dict[str, dict[str, dict[str, str]]]:
    """The events' names in other languages, from events.<language>.toml: slug -> language ->
    {full_name, city, summary}. Raise EventDataError naming a malformed file."""
    found: dict[str, dict[str, dict[str, str]]] = {}
    for path in sorted(Path(directory).glob("events.*.toml")):
        language = path.name.split(".")[1]
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise EventDataError(f"{path}: {exc}") from exc
        for slug, names in data.items():
            if not isinstance(names, dict):
                raise EventDataError(f"{path}: [{slug}] must be a table of names")
            unknown = set(names) - set(TRANSLATED_KEYS)
            if unknown:
                raise EventDataError(f"{path}: [{slug}] has unknown keys {', '.join(unknown)}")
            found.setdefault(slug, {})[language] = {k: str(v) for k, v in names.items()}
    return found


def load_events(session: Session, directory: Path) -> tuple[int, int]:
    """Insert or update events from the data files; return (added, updated)."""
    added = updated = 0
    translations = read_translations(directory)
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
        event.translations = translations.get(item["slug"], {})
    session.commit()
    return added, updated


def list_events(session: Session) -> list[Event]:
    """Every event, soonest first."""
    return list(session.scalars(select(Event).order_by(Event.start)))


def get_event(session: Session, slug: str) -> Event | None:
    """One event by slug."""
    return session.scalar(select(Event).where(Event.slug == slug))


def translated(event: Event, language: str, key: str) -> str:
    """One of the event's words in a language, English when that language lacks it."""
    names = (event.translations or {}).get(normalize(language), {})
    return names.get(key) or getattr(event, key)


def event_view(event: Event, locale: str = "en") -> EventView:
    """The event as letters and pages see it, in one language (a Babel locale: "fr", "en_GB")."""
    return EventView(
        slug=event.slug,
        name=event.name,
        full_name=translated(event, locale, "full_name"),
        city=translated(event, locale, "city"),
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
