"""The bank's services, without the web: listing, search, suggestions, decisions, timelines."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from toolkit.accounts.models import AuditEvent, User
from toolkit.events.catalog import get_event
from toolkit.extensions import db
from toolkit.resources.bank import (
    PAGE_SIZE,
    ResourceError,
    ResourceValues,
    Suggestion,
    TimelineError,
    TimelineValues,
    add_timeline_entry,
    approve_resource,
    count_pending_suggestions,
    create_resource,
    delete_resource,
    delete_timeline_entry,
    get_talking_points,
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
from toolkit.resources.models import Resource, ResourceStatus, TimelineEntry


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield db.session


@pytest.fixture
def organizer(ctx) -> User:
    user = User(email="org@example.org", password_hash=generate_password_hash("x"),
                role="organizer")  # fmt: skip
    ctx.add(user)
    ctx.commit()
    return user


def add(session, title: str, **values) -> Resource:
    values.setdefault("category", "policy-analysis")
    resource = create_resource(session, ResourceValues(title=title, **values), "test")
    session.commit()
    return resource


def titles(page) -> list[str]:
    return [r.title for r in page.items]


def test_search_is_case_insensitive_over_title_author_and_summary(ctx):
    add(ctx, "Voluntary Technical Standards", author="CDT", summary="How standards are made.")
    add(ctx, "Net neutrality and the ITU", author="La Quadrature du Net")
    add(ctx, "Interconnection", author="Internet Society", summary="Sending party NETWORK pays")
    assert titles(list_resources(ctx, query="voluntary")) == ["Voluntary Technical Standards"]
    assert titles(list_resources(ctx, query="QUADRATURE")) == ["Net neutrality and the ITU"]
    assert titles(list_resources(ctx, query="network pays")) == ["Interconnection"]
    assert titles(list_resources(ctx, query="standards cdt")) == ["Voluntary Technical Standards"]
    assert titles(list_resources(ctx, query="standards quadrature")) == []
    assert len(list_resources(ctx, query="   ").items) == 3


def test_search_treats_like_wildcards_as_plain_characters(ctx):
    add(ctx, "100% open", summary="percent")
    add(ctx, "Open under_score")
    assert titles(list_resources(ctx, query="%")) == ["100% open"]
    assert titles(list_resources(ctx, query="_")) == ["Open under_score"]
    assert titles(list_resources(ctx, query="'; drop table resources; --")) == []


def test_filters_by_category_and_event_and_orders_by_category(ctx):
    wcit = get_event(ctx, "wcit-12")
    add(ctx, "A letter", category="advocacy-resource", event_id=wcit.id)
    add(ctx, "An analysis", category="policy-analysis", event_id=wcit.id)
    add(ctx, "A video", category="multimedia")
    assert titles(list_resources(ctx)) == ["An analysis", "A letter", "A video"]
    assert titles(list_resources(ctx, category="multimedia")) == ["A video"]
    assert titles(list_resources(ctx, event=wcit)) == ["An analysis", "A letter"]
    assert titles(list_resources(ctx, event=get_event(ctx, "wtpf-13"))) == []


def test_pages_of_fifty(ctx):
    for number in range(PAGE_SIZE + 3):
        create_resource(ctx, ResourceValues(title=f"Resource {number:03}"), "test")
    ctx.commit()
    first = list_resources(ctx)
    assert (len(first.items), first.total, first.pages, first.has_next) == (50, 53, 2, True)
    second = list_resources(ctx, page=2)
    assert len(second.items) == 3 and second.has_previous and not second.has_next
    assert list_resources(ctx, page=99).page == 2 and list_resources(ctx, page=-4).page == 1


def test_suggestions_are_never_listed_publicly_until_approved(ctx, organizer):
    resource = suggest_resource(ctx, Suggestion(title="A guide", url="https://example.org/g",
                                                email="Someone@Example.org"))  # fmt: skip
    ctx.commit()
    assert resource.status == ResourceStatus.SUGGESTED and resource.category == ""
    assert resource.suggester_email == "Someone@example.org"
    assert list_resources(ctx).total == 0
    assert count_pending_suggestions(ctx) == 1 and pending_suggestions(ctx) == [resource]
    assert list_resources(ctx, status=None).total == 1

    values = ResourceValues(title="A guide for advocates", url="https://example.org/g",
                            author="Access Now", summary="In our words.",
                            category="advocacy-resource")  # fmt: skip
    approve_resource(ctx, resource, organizer, values)
    ctx.commit()
    assert titles(list_resources(ctx)) == ["A guide for advocates"]
    assert count_pending_suggestions(ctx) == 0
    assert resource.reviewed_by_id == organizer.id and resource.reviewed_at is not None
    audit = ctx.scalar(select(AuditEvent).where(AuditEvent.action == "resources.approved"))
    assert audit.details["changes"]["title"] == ["A guide", "A guide for advocates"]
    assert "Someone@example.org" not in str(audit.details)
    with pytest.raises(ResourceError, match="already decided"):
        approve_resource(ctx, resource, organizer, values)


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,x", "file:///etc/passwd",
                                 "ftp://example.org", "https://", "example.org", ""])  # fmt: skip
def test_a_suggested_link_must_be_http(ctx, url):
    with pytest.raises(ResourceError, match="http:// or https://"):
        suggest_resource(ctx, Suggestion(title="T", url=url))


def test_suggestion_checks_title_email_and_event(ctx):
    with pytest.raises(ResourceError, match="title"):
        suggest_resource(ctx, Suggestion(title="  ", url="https://example.org"))
    with pytest.raises(ResourceError):
        suggest_resource(ctx, Suggestion(title="T", url="https://example.org", email="not-mail"))
    with pytest.raises(ResourceError, match="conference"):
        suggest_resource(ctx, Suggestion(title="T", url="https://example.org", event_id=99999))


def test_approval_needs_a_category_and_a_safe_link(ctx, organizer):
    resource = suggest_resource(ctx, Suggestion(title="T", url="https://example.org"))
    ctx.commit()
    with pytest.raises(ResourceError, match="category"):
        approve_resource(ctx, resource, organizer)
    with pytest.raises(ResourceError, match="http"):
        approve_resource(ctx, resource, organizer,
                         ResourceValues(title="T", url="javascript:x", category="multimedia"))  # fmt: skip
    with pytest.raises(ResourceError, match="two-letter"):
        approve_resource(ctx, resource, organizer,
                         ResourceValues(title="T", category="multimedia", language="eng"))  # fmt: skip
    assert resource.status == ResourceStatus.SUGGESTED


def test_rejection_needs_a_reason_and_is_audited(ctx, organizer):
    resource = suggest_resource(ctx, Suggestion(title="Spam", url="https://spam.example",
                                                email="s@example.org"))  # fmt: skip
    ctx.commit()
    with pytest.raises(ResourceError, match="reason"):
        reject_resource(ctx, resource, organizer, "  \n ")
    reject_resource(ctx, resource, organizer, "Off topic.")
    ctx.commit()
    assert resource.status == ResourceStatus.REJECTED and resource.rejection_reason == "Off topic."
    assert list_resources(ctx).total == 0
    audit = ctx.scalar(select(AuditEvent).where(AuditEvent.action == "resources.rejected"))
    assert audit.details["reason"] == "Off topic." and audit.actor == "org@example.org"
    assert take_suggester_email(resource) == "s@example.org"
    assert resource.suggester_email == "" and take_suggester_email(resource) == ""


def test_edit_and_delete_are_audited(ctx, organizer):
    resource = add(ctx, "Old title")
    changed = update_resource(ctx, resource, organizer, ResourceValues(
        title="New title", url="https://example.org/new", category="multimedia"))  # fmt: skip
    assert set(changed) == {"title", "url", "category"}
    assert update_resource(ctx, resource, organizer, ResourceValues(
        title="New title", url="https://example.org/new", category="multimedia")) == {}  # fmt: skip
    delete_resource(ctx, resource, organizer)
    ctx.commit()
    assert ctx.scalar(select(Resource)) is None
    actions = list(ctx.scalars(select(AuditEvent.action).where(
        AuditEvent.action.like("resources.%")).order_by(AuditEvent.id)))  # fmt: skip
    assert actions == ["resources.created", "resources.edited", "resources.deleted"]


def test_timeline_is_ordered_and_checks_dates(ctx, organizer):
    wcit = get_event(ctx, "wcit-12")
    later = add_timeline_entry(ctx, wcit, TimelineValues(
        starts_on=date(2013, 5, 14), ends_on=date(2013, 5, 16), title="WTPF-13"), organizer)  # fmt: skip
    first = add_timeline_entry(ctx, wcit, TimelineValues(
        starts_on=date(2012, 12, 3), ends_on=date(2012, 12, 3), title="Opening"), organizer)  # fmt: skip
    ctx.commit()
    assert list_timeline(ctx, wcit) == [first, later]
    assert first.ends_on is None  # a one-day entry has no end date
    assert list_timeline(ctx, get_event(ctx, "wtpf-13")) == []
    with pytest.raises(TimelineError, match="before"):
        add_timeline_entry(ctx, wcit, TimelineValues(
            starts_on=date(2012, 12, 14), ends_on=date(2012, 12, 3), title="Backwards"), organizer)  # fmt: skip
    with pytest.raises(TimelineError, match="title"):
        add_timeline_entry(ctx, wcit, TimelineValues(starts_on=date(2012, 12, 3), title=" "),
                           organizer)  # fmt: skip
    changed = update_timeline_entry(ctx, later, TimelineValues(
        starts_on=date(2013, 5, 14), ends_on=date(2013, 5, 16), title="WTPF-13",
        place="Geneva"), organizer)  # fmt: skip
    assert changed == {"place": ["", "Geneva"]}
    delete_timeline_entry(ctx, later, organizer)
    ctx.commit()
    assert list_timeline(ctx, wcit) == [first]


def test_the_database_refuses_a_timeline_entry_that_ends_before_it_starts(ctx):
    wcit = get_event(ctx, "wcit-12")
    ctx.add(TimelineEntry(event_id=wcit.id, starts_on=date(2012, 12, 14),
                          ends_on=date(2012, 12, 3), title="x"))  # fmt: skip
    with pytest.raises(Exception, match="(?i)check|constraint"):
        ctx.flush()
    ctx.rollback()


def test_talking_points_are_one_document_per_event_with_history_in_the_audit_log(ctx, organizer):
    wcit = get_event(ctx, "wcit-12")
    assert get_talking_points(ctx, wcit) is None
    save_talking_points(ctx, wcit, "## First", organizer)
    ctx.commit()
    points = save_talking_points(ctx, wcit, "## Second", organizer)
    ctx.commit()
    assert points.body == "## Second" and points.updated_by_id == organizer.id
    assert get_talking_points(ctx, wcit).id == points.id
    history = list(ctx.scalars(select(AuditEvent).where(
        AuditEvent.action == "talking_points.edited").order_by(AuditEvent.id)))  # fmt: skip
    assert [h.details["previous"] for h in history] == ["", "## First"]
