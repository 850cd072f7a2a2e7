"""The resource bank's services: list and search, suggest, moderate, timeline, talking points."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session, selectinload

from toolkit.accounts.audit import record
from toolkit.accounts.models import User
from toolkit.db import utcnow
from toolkit.events.models import Event
from toolkit.resources.models import (
    Resource,
    ResourceCategory,
    ResourceStatus,
    TalkingPoints,
    TimelineEntry,
)
from toolkit.validation import clean_block, clean_line, is_http_url, normalize_email

PAGE_SIZE = 50
MAX_QUERY_LENGTH = 200
CATEGORY_ORDER = {category.value: rank for rank, category in enumerate(ResourceCategory)}
LIMITS = {"title": 300, "author": 200, "url": 2000, "place": 200, "summary": 5000}
MAX_REASON = 2000
MAX_MARKDOWN = 20000


def N_(message: str) -> str:
    """Mark a message for translation; the view translates it (services know no locale)."""
    return message


class BankError(ValueError):
    """Something asked of the bank cannot be done; the message says why in plain words.

    ``message`` and ``params`` let a view show it in the reader's language:
    ``gettext(exc.message, **exc.params)``.
    """

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params


class ResourceError(BankError):
    """A resource cannot be taken or decided as asked."""


class TimelineError(BankError):
    """A timeline entry or talking points cannot be saved."""


# --- values passed in ------------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    """What a member of the public suggests for the bank."""

    title: str
    url: str
    organization: str = ""
    why: str = ""
    email: str = ""
    event_id: int | None = None


@dataclass(frozen=True)
class ResourceValues:
    """A resource as an organizer writes it (to create it, edit it or approve it)."""

    title: str
    url: str = ""
    author: str = ""
    summary: str = ""
    category: str = ResourceCategory.POLICY_ANALYSIS.value
    language: str = "en"
    event_id: int | None = None


@dataclass(frozen=True)
class TimelineValues:
    """One timeline entry as an organizer writes it."""

    starts_on: date
    title: str
    ends_on: date | None = None
    place: str = ""
    body: str = ""


@dataclass(frozen=True)
class ResourcePage:
    """One page of a listing, with what the pager needs."""

    items: list[Resource]
    total: int
    page: int
    pages: int

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


# --- reading ---------------------------------------------------------------------------------


def _search_condition(query: str):  # noqa: ANN202 - an SQL expression
    """Every word must appear in the title, author or summary, in any case (portable SQL)."""
    conditions = []
    for word in query.split()[:10]:
        conditions.append(
            or_(
                Resource.title.icontains(word, autoescape=True),
                Resource.author.icontains(word, autoescape=True),
                Resource.summary.icontains(word, autoescape=True),
            )
        )
    return and_(*conditions)


def list_resources(
    session: Session,
    *,
    category: str | None = None,
    query: str | None = None,
    event: Event | None = None,
    status: str | None = ResourceStatus.APPROVED.value,
    page: int = 1,
    newest_first: bool = False,
) -> ResourcePage:
    """A page of resources, filtered; status=None lists every status (for organizers)."""
    conditions = []
    if status:
        conditions.append(Resource.status == status)
    if category:
        conditions.append(Resource.category == category)
    if event is not None:
        conditions.append(Resource.event_id == event.id)
    query = (query or "").strip()[:MAX_QUERY_LENGTH]
    if query.split():
        conditions.append(_search_condition(query))
    total = session.scalar(select(func.count(Resource.id)).where(*conditions)) or 0
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(1, page), pages)
    if newest_first:
        order = (Resource.created_at.desc(), Resource.id.desc())
    else:
        rank = case(CATEGORY_ORDER, value=Resource.category, else_=len(CATEGORY_ORDER))
        order = (rank, Resource.id)
    statement = (
        select(Resource)
        .options(selectinload(Resource.event))
        .where(*conditions)
        .order_by(*order)
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    )
    return ResourcePage(list(session.scalars(statement)), total, page, pages)


def get_resource(session: Session, resource_id: int) -> Resource | None:
    """One resource by id, whatever its status."""
    return session.get(Resource, resource_id)


def pending_suggestions(session: Session) -> list[Resource]:
    """Suggestions waiting for an organizer, oldest first."""
    statement = (
        select(Resource)
        .where(Resource.status == ResourceStatus.SUGGESTED.value)
        .order_by(Resource.created_at, Resource.id)
    )
    return list(session.scalars(statement))


def count_pending_suggestions(session: Session) -> int:
    """For the organizers' dashboard."""
    statement = select(func.count(Resource.id)).where(
        Resource.status == ResourceStatus.SUGGESTED.value
    )
    return session.scalar(statement) or 0


# --- checking --------------------------------------------------------------------------------


def _line(value: str, name: str, *, required: bool = False) -> str:
    text = str(clean_line(value or ""))
    if required and not text:
        raise ResourceError(N_("A title is required."))
    limit = LIMITS.get(name)
    if limit and len(text) > limit:
        raise ResourceError(N_("This text is too long (at most %(n)d characters)."), n=limit)
    return text


def _block(value: str, limit: int) -> str:
    text = str(clean_block(value or ""))
    if len(text) > limit:
        raise ResourceError(N_("This text is too long (at most %(n)d characters)."), n=limit)
    return text


def _link(value: str, *, required: bool) -> str:
    url = _line(value, "url")
    if not url and not required:
        return ""
    if not is_http_url(url):
        raise ResourceError(N_("Enter a link starting with http:// or https://."))
    return url


def _event_id(session: Session, event_id: int | None) -> int | None:
    if event_id is None:
        return None
    if session.get(Event, event_id) is None:
        raise ResourceError(N_("That conference does not exist."))
    return event_id


def _checked(session: Session, values: ResourceValues) -> dict[str, object]:
    """The organizer's values, cleaned and checked, as column values."""
    if values.category not in CATEGORY_ORDER:
        raise ResourceError(N_("Choose a category."))
    language = (values.language or "").strip().lower()
    if len(language) != 2 or not language.isascii() or not language.isalpha():
        raise ResourceError(N_("Give the language as a two-letter code, such as en or fr."))
    return {
        "title": _line(values.title, "title", required=True),
        "url": _link(values.url, required=False),
        "author": _line(values.author, "author"),
        "summary": _block(values.summary, LIMITS["summary"]),
        "category": values.category,
        "language": language,
        "event_id": _event_id(session, values.event_id),
    }


def _apply(resource: Resource, columns: dict[str, object]) -> dict[str, list[object]]:
    """Set the columns; return what changed, as {name: [before, after]}, for the audit log."""
    changed = {}
    for name, value in columns.items():
        before = getattr(resource, name)
        if before != value:
            changed[name] = [before, value]
            setattr(resource, name, value)
    return changed


def _require_suggested(resource: Resource) -> None:
    if resource.status != ResourceStatus.SUGGESTED:
        raise ResourceError(
            N_("This suggestion was already decided (%(status)s)."), status=resource.status
        )


# --- the public suggests, organizers decide -----------------------------------------------


def suggest_resource(session: Session, suggestion: Suggestion) -> Resource:
    """Queue a suggested resource for organizers (the caller commits)."""
    email = (suggestion.email or "").strip()
    if email:
        try:
            email = normalize_email(email)
        except ValueError as exc:
            raise ResourceError(str(exc)) from exc
    resource = Resource(
        title=_line(suggestion.title, "title", required=True),
        url=_link(suggestion.url, required=True),
        author=_line(suggestion.organization, "author"),
        suggestion_reason=_block(suggestion.why, MAX_REASON),
        suggester_email=email,
        event_id=_event_id(session, suggestion.event_id),
        category="",
        status=ResourceStatus.SUGGESTED.value,
    )
    session.add(resource)
    return resource


def approve_resource(
    session: Session, resource: Resource, actor: User, changes: ResourceValues | None = None
) -> Resource:
    """Publish a suggestion, with the organizer's edits (category, summary, ...), and audit it."""
    _require_suggested(resource)
    if changes is None:
        changes = ResourceValues(
            title=resource.title, url=resource.url, author=resource.author,
            summary=resource.summary, category=resource.category, language=resource.language,
            event_id=resource.event_id,
        )  # fmt: skip
    edits = _apply(resource, _checked(session, changes))
    resource.status = ResourceStatus.APPROVED.value
    resource.reviewed_at = utcnow()
    resource.reviewed_by_id = actor.id
    record(session, "resources.approved", actor=actor, target=resource,
           details={"title": resource.title, "changes": edits})  # fmt: skip
    return resource


def reject_resource(session: Session, resource: Resource, actor: User, reason: str) -> Resource:
    """Refuse a suggestion with a reason (kept, and told to the suggester), and audit it."""
    _require_suggested(resource)
    reason = str(clean_block(reason or ""))
    if not reason:
        raise ResourceError(N_("Give a reason for the rejection."))
    resource.rejection_reason = _block(reason, MAX_REASON)
    resource.status = ResourceStatus.REJECTED.value
    resource.reviewed_at = utcnow()
    resource.reviewed_by_id = actor.id
    record(session, "resources.rejected", actor=actor, target=resource,
           details={"title": resource.title, "url": resource.url, "reason": reason})  # fmt: skip
    return resource


def take_suggester_email(resource: Resource) -> str:
    """The suggester's address, erased from the resource: it serves once, to tell the outcome."""
    email, resource.suggester_email = resource.suggester_email, ""
    return email


def create_resource(
    session: Session, values: ResourceValues, actor: User | str, *, status: str | None = None
) -> Resource:
    """An organizer adds a resource directly: it is approved at once, and audited."""
    resource = Resource(status=status or ResourceStatus.APPROVED.value)
    _apply(resource, _checked(session, values))
    if resource.status == ResourceStatus.APPROVED:
        resource.reviewed_at = utcnow()
        resource.reviewed_by_id = actor.id if isinstance(actor, User) else None
    session.add(resource)
    session.flush()
    record(session, "resources.created", actor=actor, target=resource,
           details={"title": resource.title})  # fmt: skip
    return resource


def update_resource(
    session: Session, resource: Resource, actor: User, values: ResourceValues
) -> dict[str, list[object]]:
    """An organizer edits a resource; return (and audit) what changed."""
    changed = _apply(resource, _checked(session, values))
    if changed:
        record(session, "resources.edited", actor=actor, target=resource,
               details={"title": resource.title, "changes": changed})  # fmt: skip
    return changed


def delete_resource(session: Session, resource: Resource, actor: User) -> None:
    """Remove a resource for good; the audit log keeps its title, link and status."""
    record(session, "resources.deleted", actor=actor, target=resource,
           details={"title": resource.title, "url": resource.url,
                    "status": resource.status})  # fmt: skip
    session.delete(resource)


# --- timeline ------------------------------------------------------------------------------


def list_timeline(session: Session, event: Event) -> list[TimelineEntry]:
    """An event's timeline, earliest first."""
    statement = (
        select(TimelineEntry)
        .where(TimelineEntry.event_id == event.id)
        .order_by(TimelineEntry.starts_on, TimelineEntry.ends_on, TimelineEntry.id)
    )
    return list(session.scalars(statement))


def get_timeline_entry(session: Session, event: Event, entry_id: int) -> TimelineEntry | None:
    """One entry of this event's timeline (None if it belongs to another event)."""
    entry = session.get(TimelineEntry, entry_id)
    return entry if entry is not None and entry.event_id == event.id else None


def _timeline_columns(values: TimelineValues) -> dict[str, object]:
    if not isinstance(values.starts_on, date):
        raise TimelineError(N_("Give the date the entry starts on."))
    if values.ends_on is not None and values.ends_on < values.starts_on:
        raise TimelineError(N_("The end date cannot be before the start date."))
    title = str(clean_line(values.title or ""))
    if not title:
        raise TimelineError(N_("A title is required."))
    place = str(clean_line(values.place or ""))
    body = str(clean_block(values.body or ""))
    for text, limit in ((title, LIMITS["title"]), (place, LIMITS["place"]), (body, MAX_MARKDOWN)):
        if len(text) > limit:
            raise TimelineError(N_("This text is too long (at most %(n)d characters)."), n=limit)
    ends_on = values.ends_on if values.ends_on != values.starts_on else None
    return {"starts_on": values.starts_on, "ends_on": ends_on, "title": title,
            "place": place, "body": body}  # fmt: skip


def _json_ready(changed: dict[str, list[object]]) -> dict[str, list[object]]:
    """Dates as ISO text, so the audit log's JSON column takes them."""
    return {
        name: [v.isoformat() if isinstance(v, date) else v for v in pair]
        for name, pair in changed.items()
    }


def add_timeline_entry(
    session: Session, event: Event, values: TimelineValues, actor: User | str
) -> TimelineEntry:
    """Add a date to an event's timeline, and audit it."""
    entry = TimelineEntry(event_id=event.id, **_timeline_columns(values))
    session.add(entry)
    session.flush()
    record(session, "timeline.created", actor=actor, target=entry,
           details={"event": event.slug, "title": entry.title})  # fmt: skip
    return entry


def update_timeline_entry(
    session: Session, entry: TimelineEntry, values: TimelineValues, actor: User
) -> dict[str, list[object]]:
    """Change a timeline entry; return (and audit) what changed."""
    changed = {}
    for name, value in _timeline_columns(values).items():
        before = getattr(entry, name)
        if before != value:
            changed[name] = [before, value]
            setattr(entry, name, value)
    if changed:
        record(session, "timeline.edited", actor=actor, target=entry,
               details={"event": entry.event.slug, "changes": _json_ready(changed)})  # fmt: skip
    return changed


def delete_timeline_entry(session: Session, entry: TimelineEntry, actor: User) -> None:
    """Remove a timeline entry; the audit log keeps what it said."""
    record(session, "timeline.deleted", actor=actor, target=entry,
           details={"event": entry.event.slug, "title": entry.title,
                    "starts_on": entry.starts_on.isoformat(), "body": entry.body})  # fmt: skip
    session.delete(entry)


# --- talking points --------------------------------------------------------------------------


def get_talking_points(session: Session, event: Event) -> TalkingPoints | None:
    """An event's talking points, if any were written."""
    return session.scalar(select(TalkingPoints).where(TalkingPoints.event_id == event.id))


def save_talking_points(
    session: Session, event: Event, body: str, actor: User | str
) -> TalkingPoints:
    """Write an event's talking points (Markdown), keeping the previous text in the audit log."""
    body = str(clean_block(body or ""))
    if len(body) > MAX_MARKDOWN:
        raise TimelineError(N_("This text is too long (at most %(n)d characters)."), n=MAX_MARKDOWN)
    points = get_talking_points(session, event)
    if points is None:
        points = TalkingPoints(event_id=event.id, body="")
        session.add(points)
    previous = points.body
    if previous != body:
        points.body = body
        points.updated_at = utcnow()
        points.updated_by_id = actor.id if isinstance(actor, User) else None
        session.flush()
        record(session, "talking_points.edited", actor=actor, target=points,
               details={"event": event.slug, "previous": previous})  # fmt: skip
    return points


# --- demo data -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoReport:
    """What loading a demo file did: rows added, and rows left as organizers have them."""

    event: str
    resources_added: int
    resources_kept: int
    timeline_added: int
    timeline_kept: int
    talking_points_added: bool


def read_demo(path: Path) -> dict:
    """Parse a demo file; raise ResourceError naming the problem."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ResourceError(f"{path}: file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ResourceError(f"{path}: {exc}") from exc
    if not isinstance(data.get("event"), str):
        raise ResourceError(f'{path}: the file must name its event (event = "slug")')
    return data


def load_demo(session: Session, path: Path) -> DemoReport:
    """Add a demo file's resources, timeline and talking points, skipping what already exists.

    Rows are matched by event and title, and existing ones are never changed, so loading twice
    adds nothing and the links organizers filled in are kept. The caller commits.
    """
    data = read_demo(path)
    event = session.scalar(select(Event).where(Event.slug == data["event"]))
    if event is None:
        raise ResourceError(
            f"{path}: there is no event {data['event']!r}; run `toolkit data load` first"
        )
    existing = set(session.scalars(select(Resource.title).where(Resource.event_id == event.id)))
    added = kept = 0
    for number, item in enumerate(data.get("resource", []), start=1):
        if item.get("title") in existing:
            kept += 1
            continue
        try:
            values = ResourceValues(
                title=item["title"], url=item.get("url", ""), author=item.get("author", ""),
                summary=item.get("summary", ""), category=item.get("category", ""),
                language=item.get("language", "en"), event_id=event.id,
            )  # fmt: skip
            create_resource(session, values, "cli")
        except (KeyError, ResourceError) as exc:
            raise ResourceError(f"{path}: resource {number}: {exc}") from exc
        existing.add(item["title"])
        added += 1
    titles = {entry.title for entry in list_timeline(session, event)}
    timeline_added = timeline_kept = 0
    for number, item in enumerate(data.get("timeline", []), start=1):
        if item.get("title") in titles:
            timeline_kept += 1
            continue
        try:
            values = TimelineValues(
                starts_on=item["starts_on"], ends_on=item.get("ends_on"), title=item["title"],
                place=item.get("place", ""), body=item.get("body", ""),
            )  # fmt: skip
            add_timeline_entry(session, event, values, "cli")
        except (KeyError, TimelineError) as exc:
            raise ResourceError(f"{path}: timeline entry {number}: {exc}") from exc
        titles.add(item["title"])
        timeline_added += 1
    points_added = False
    body = (data.get("talking_points") or {}).get("body", "")
    current = get_talking_points(session, event)
    if body and (current is None or not current.body):
        try:
            save_talking_points(session, event, body, "cli")
        except TimelineError as exc:
            raise ResourceError(f"{path}: talking points: {exc}") from exc
        points_added = True
    return DemoReport(event.slug, added, kept, timeline_added, timeline_kept, points_added)
