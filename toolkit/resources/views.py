"""Resource bank pages: the public bank, timelines and talking points; the organizers' editors."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby
from operator import attrgetter

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from werkzeug.wrappers import Response

from toolkit.accounts.access import organizer_required
from toolkit.events.catalog import event_view, format_date_range, get_event, list_events
from toolkit.events.models import Event
from toolkit.extensions import db, limiter
from toolkit.i18n import page_locale
from toolkit.mail.outbox import deliver_soon, queue_message
from toolkit.markup import render_markdown
from toolkit.resources.bank import (
    BankError,
    ResourceError,
    TimelineError,
    add_timeline_entry,
    approve_resource,
    create_resource,
    delete_resource,
    delete_timeline_entry,
    get_resource,
    get_talking_points,
    get_timeline_entry,
    list_resources,
    list_timeline,
    pending_suggestions,
    reject_resource,
    save_talking_points,
    suggest_resource,
    take_suggester_email,
    update_resource,
    update_timeline_entry,
)
from toolkit.resources.forms import (
    DeleteForm,
    RejectForm,
    ResourceForm,
    SuggestForm,
    TalkingPointsForm,
    TimelineEntryForm,
    category_choices,
    category_label,
    event_choices,
    language_label,
    status_label,
)
from toolkit.resources.models import Resource, ResourceCategory, ResourceStatus, TimelineEntry

bp = Blueprint("resources", __name__)


@dataclass(frozen=True)
class TimelineRow:
    """A timeline entry as pages show it: dates written out, Markdown made safe HTML."""

    entry: TimelineEntry
    dates: str
    body: Markup


def _rows(entries: list[TimelineEntry]) -> list[TimelineRow]:
    return [
        TimelineRow(e, format_date_range(e.starts_on, e.ends_on or e.starts_on, page_locale()),
                    render_markdown(e.body))
        for e in entries
    ]  # fmt: skip


@bp.context_processor
def resource_helpers() -> dict:
    """Templates of this blueprint name categories the way the forms do."""
    return {"category_label": category_label, "language_label": language_label,
            "status_label": status_label}  # fmt: skip


def _error(exc: BankError) -> str:
    """A service's refusal, in the reader's language."""
    return _(exc.message, **exc.params)


def _event_or_404(slug: str) -> Event:
    event = get_event(db.session, slug)
    if event is None:
        abort(404, description=_("There is no event called “%(slug)s”.", slug=slug))
    return event


def _page_number() -> int:
    return request.args.get("page", 1, type=int) or 1


def _listing(template: str, *, event: Event | None, **context: object) -> str:
    """The public bank, filtered by category, search words and event."""
    category = request.args.get("category", "")
    if category not in {c.value for c in ResourceCategory}:
        category = ""
    query = (request.args.get("q") or "").strip()[:200]
    page = list_resources(
        db.session, category=category or None, query=query, event=event, page=_page_number()
    )
    filters = {"category": category, "q": query}
    if request.endpoint == "resources.index" and event is not None:
        filters["event"] = event.slug
    pager_args = {**(request.view_args or {}), **{k: v for k, v in filters.items() if v}}
    return render_template(
        template, page=page, category=category, query=query, event=event, pager_args=pager_args,
        groups=[(key, list(items)) for key, items in groupby(page.items, attrgetter("category"))],
        categories=category_choices(blank=_("All categories")), **context,
    )  # fmt: skip


@bp.get("/resources")
def index() -> str:
    """The resource bank: every approved resource, filterable and searchable."""
    slug = request.args.get("event", "")
    event = _event_or_404(slug) if slug else None
    return _listing("resources/index.html", event=event, events=list_events(db.session))


@bp.get("/events/<slug>/resources")
def event_resources(slug: str) -> str:
    """The resources about one event."""
    event = _event_or_404(slug)
    view = event_view(event, page_locale())
    return _listing("resources/event_resources.html", event=event, view=view)


@bp.get("/events/<slug>/timeline")
def timeline(slug: str) -> str:
    """The dates on the road to an event, and what each means for advocates."""
    event = _event_or_404(slug)
    view = event_view(event, page_locale())
    return render_template("resources/timeline.html", event=event, view=view,
                           rows=_rows(list_timeline(db.session, event)))  # fmt: skip


@bp.get("/events/<slug>/talking-points")
def talking_points(slug: str) -> str:
    """What advocates can say about an event."""
    event = _event_or_404(slug)
    points = get_talking_points(db.session, event)
    body = render_markdown(points.body) if points else Markup("")
    view = event_view(event, page_locale())
    return render_template("resources/talking_points.html", event=event, view=view,
                           points=points, body=body)  # fmt: skip


def _suggest_form(**kwargs: object) -> SuggestForm:
    form = SuggestForm(**kwargs)
    form.event.choices = event_choices(list_events(db.session), _("Not about one conference"))
    return form


def _suggest_page(form: SuggestForm, status: int = 200) -> tuple[str, int]:
    return render_template("resources/suggest.html", form=form), status


@bp.route("/resources/suggest", methods=["GET", "POST"])
@limiter.limit("5 per hour;20 per day", methods=["POST"])
def suggest() -> Response | tuple[str, int]:
    """Anyone may suggest a link; it waits for organizers before it is shown."""
    if request.method == "GET":
        event = get_event(db.session, request.args.get("event", ""))
        return _suggest_page(_suggest_form(data={"event": str(event.id) if event else ""}))
    form = _suggest_form()
    if form.nickname.data:
        message = _("This looked like an automated submission, so it was not accepted.")
        return render_template("errors/error.html", code=400, title=_("Not accepted"),
                               message=message), 400  # fmt: skip
    if not form.validate():
        return _suggest_page(form, 422)
    try:
        suggest_resource(db.session, form.suggestion())
    except ResourceError as exc:
        db.session.rollback()
        form.url.errors.append(_error(exc))
        return _suggest_page(form, 422)
    db.session.commit()
    return redirect(url_for("resources.thank_you"))


@bp.get("/resources/suggest/thank-you")
def thank_you() -> str:
    """Say what happens next to a suggestion."""
    return render_template("resources/thank_you.html")


# Organizers


def _resource_or_404(resource_id: int) -> Resource:
    resource = get_resource(db.session, resource_id)
    if resource is None:
        abort(404)
    return resource


def _resource_form(**kwargs: object) -> ResourceForm:
    form = ResourceForm(**kwargs)
    form.category.choices = category_choices(blank=_("Choose a category"))
    form.event.choices = event_choices(list_events(db.session), _("Not about one conference"))
    return form


def _form_data(resource: Resource) -> dict[str, object]:
    return {
        "title": resource.title, "author": resource.author, "url": resource.url,
        "category": resource.category, "summary": resource.summary,
        "language": resource.language or "en",
        "event": str(resource.event_id) if resource.event_id else "",
    }  # fmt: skip


@bp.get("/admin/resources")
@organizer_required
def admin_index() -> str:
    """Every resource, whatever its status, newest first; filter by status and words."""
    status = request.args.get("status", "")
    if status not in {s.value for s in ResourceStatus}:
        status = ""
    query = (request.args.get("q") or "").strip()[:200]
    page = list_resources(db.session, status=status or None, query=query, page=_page_number(),
                          newest_first=True)  # fmt: skip
    return render_template(
        "resources/admin_index.html", page=page, status=status, query=query,
        statuses=list(ResourceStatus), events=list_events(db.session),
    )  # fmt: skip


@bp.get("/admin/resources/suggestions")
@organizer_required
def admin_queue() -> str:
    """Suggestions waiting for a decision, oldest first."""
    return render_template("resources/admin_queue.html",
                           suggestions=pending_suggestions(db.session))  # fmt: skip


@bp.route("/admin/resources/new", methods=["GET", "POST"])
@organizer_required
def admin_new() -> Response | tuple[str, int]:
    """Add a resource directly: it is published at once."""
    form = _resource_form()
    if form.validate_on_submit():
        try:
            resource = create_resource(db.session, form.values(), current_user)
        except ResourceError as exc:
            db.session.rollback()
            form.title.errors.append(_error(exc))
        else:
            db.session.commit()
            flash(_("“%(title)s” is now in the resource bank.", title=resource.title))
            return redirect(url_for("resources.admin_index"))
    status = 422 if request.method == "POST" else 200
    return render_template("resources/admin_new.html", form=form), status


def _edit_page(resource: Resource, form: ResourceForm, reject: RejectForm,
               status: int = 200) -> tuple[str, int]:  # fmt: skip
    page = render_template("resources/admin_edit.html", resource=resource, form=form,
                           reject_form=reject, delete_form=DeleteForm(formdata=None))  # fmt: skip
    return page, status


@bp.route("/admin/resources/<int:resource_id>/edit", methods=["GET", "POST"])
@organizer_required
def admin_edit(resource_id: int) -> Response | tuple[str, int]:
    """Edit a resource; for a suggestion, the same form approves it (with the edits)."""
    resource = _resource_or_404(resource_id)
    if request.method == "GET":
        return _edit_page(resource, _resource_form(data=_form_data(resource)), RejectForm())
    form = _resource_form()
    if not form.validate():
        return _edit_page(resource, form, RejectForm(), 422)
    try:
        update_resource(db.session, resource, current_user, form.values())
    except ResourceError as exc:
        db.session.rollback()
        form.title.errors.append(_error(exc))
        return _edit_page(resource, form, RejectForm(), 422)
    db.session.commit()
    flash(_("Saved."))
    return redirect(url_for("resources.admin_edit", resource_id=resource.id))


def _notify(resource: Resource, approved: bool) -> bool:
    """Tell the suggester the outcome, once, if they asked to be told; then forget the address."""
    email = take_suggester_email(resource)
    if not email:
        return False

    link = current_app.config["BASE_URL"] + url_for("resources.index")
    text = render_template(
        "resources/email/outcome.txt", resource=resource, approved=approved, link=link
    )
    queue_message(db.session, to=email, text=text, kind="resource-outcome",
                  subject=_("Your suggestion for the resource bank"))  # fmt: skip
    return True


def _deliver() -> None:

    deliver_soon()


@bp.post("/admin/resources/<int:resource_id>/approve")
@organizer_required
def admin_approve(resource_id: int) -> Response | tuple[str, int]:
    """Publish a suggestion with the organizer's edits; tell the suggester."""
    resource = _resource_or_404(resource_id)
    form = _resource_form()
    if not form.validate():
        return _edit_page(resource, form, RejectForm(), 422)
    try:
        approve_resource(db.session, resource, current_user, form.values())
    except ResourceError as exc:
        db.session.rollback()
        flash(_error(exc))
        return redirect(url_for("resources.admin_edit", resource_id=resource_id))
    notified = _notify(resource, approved=True)
    db.session.commit()
    if notified:
        _deliver()
    flash(_("“%(title)s” is approved and now in the resource bank.", title=resource.title))
    return redirect(url_for("resources.admin_queue"))


@bp.post("/admin/resources/<int:resource_id>/reject")
@organizer_required
def admin_reject(resource_id: int) -> Response | tuple[str, int]:
    """Refuse a suggestion, with a reason the suggester is told."""
    resource = _resource_or_404(resource_id)
    reject = RejectForm()
    if not reject.validate():
        return _edit_page(resource, _resource_form(data=_form_data(resource)), reject, 422)
    try:
        reject_resource(db.session, resource, current_user, reject.reason.data)
    except ResourceError as exc:
        db.session.rollback()
        flash(_error(exc))
        return redirect(url_for("resources.admin_edit", resource_id=resource_id))
    notified = _notify(resource, approved=False)
    db.session.commit()
    if notified:
        _deliver()
    flash(_("The suggestion “%(title)s” was rejected.", title=resource.title))
    return redirect(url_for("resources.admin_queue"))


@bp.post("/admin/resources/<int:resource_id>/delete")
@organizer_required
def admin_delete(resource_id: int) -> Response:
    """Remove a resource for good (the audit log keeps its title and link)."""
    resource = _resource_or_404(resource_id)
    if not _confirmed():
        return redirect(url_for("resources.admin_edit", resource_id=resource.id) + "#delete")
    title = resource.title
    delete_resource(db.session, resource, current_user)
    db.session.commit()
    flash(_("“%(title)s” was deleted.", title=title))
    return redirect(url_for("resources.admin_index"))


def _confirmed() -> bool:
    """True when the deletion's box was ticked; else say so (the page has no JavaScript dialog)."""
    form = DeleteForm()
    if form.validate():
        return True
    flash(" ".join(str(e) for e in form.confirm.errors) or _("The deletion was not confirmed."))
    return False


# Organizers: timelines and talking points


def _entry_or_404(event: Event, entry_id: int) -> TimelineEntry:
    entry = get_timeline_entry(db.session, event, entry_id)
    if entry is None:
        abort(404)
    return entry


@bp.route("/admin/events/<slug>/timeline", methods=["GET", "POST"])
@organizer_required
def admin_timeline(slug: str) -> Response | tuple[str, int]:
    """An event's timeline, and a form to add a date to it."""
    event = _event_or_404(slug)
    form = TimelineEntryForm()
    if form.validate_on_submit():
        try:
            add_timeline_entry(db.session, event, form.values(), current_user)
        except TimelineError as exc:
            db.session.rollback()
            form.title.errors.append(_error(exc))
        else:
            db.session.commit()
            flash(_("Added to the timeline."))
            return redirect(url_for("resources.admin_timeline", slug=event.slug))
    status = 422 if request.method == "POST" else 200
    page = render_template("resources/admin_timeline.html", event=event, form=form,
                           rows=_rows(list_timeline(db.session, event)))  # fmt: skip
    return page, status


@bp.route("/admin/events/<slug>/timeline/<int:entry_id>/edit", methods=["GET", "POST"])
@organizer_required
def admin_timeline_edit(slug: str, entry_id: int) -> Response | tuple[str, int]:
    """Change one date of an event's timeline."""
    event = _event_or_404(slug)
    entry = _entry_or_404(event, entry_id)
    form = TimelineEntryForm(obj=entry)
    if form.validate_on_submit():
        try:
            update_timeline_entry(db.session, entry, form.values(), current_user)
        except TimelineError as exc:
            db.session.rollback()
            form.title.errors.append(_error(exc))
        else:
            db.session.commit()
            flash(_("Saved."))
            return redirect(url_for("resources.admin_timeline", slug=event.slug))
    status = 422 if request.method == "POST" else 200
    page = render_template("resources/admin_timeline_edit.html", event=event, entry=entry,
                           form=form, delete_form=DeleteForm(formdata=None))  # fmt: skip
    return page, status


@bp.post("/admin/events/<slug>/timeline/<int:entry_id>/delete")
@organizer_required
def admin_timeline_delete(slug: str, entry_id: int) -> Response:
    """Remove one date from an event's timeline."""
    event = _event_or_404(slug)
    entry = _entry_or_404(event, entry_id)
    if not _confirmed():
        return redirect(
            url_for("resources.admin_timeline_edit", slug=event.slug, entry_id=entry.id) + "#delete"
        )
    delete_timeline_entry(db.session, entry, current_user)
    db.session.commit()
    flash(_("Removed from the timeline."))
    return redirect(url_for("resources.admin_timeline", slug=event.slug))


@bp.route("/admin/events/<slug>/talking-points", methods=["GET", "POST"])
@organizer_required
def admin_talking_points(slug: str) -> Response | tuple[str, int]:
    """Write an event's talking points in Markdown."""
    event = _event_or_404(slug)
    points = get_talking_points(db.session, event)
    form = TalkingPointsForm(data={"body": points.body if points else ""})
    if request.method == "POST":
        form = TalkingPointsForm()
        if form.validate():
            try:
                save_talking_points(db.session, event, form.body.data or "", current_user)
            except TimelineError as exc:
                db.session.rollback()
                form.body.errors.append(_error(exc))
            else:
                db.session.commit()
                flash(_("The talking points are saved."))
                return redirect(url_for("resources.admin_talking_points", slug=event.slug))
    status = 422 if request.method == "POST" else 200
    page = render_template("resources/admin_talking_points.html", event=event, form=form,
                           points=points)  # fmt: skip
    return page, status
