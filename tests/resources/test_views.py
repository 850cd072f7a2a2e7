"""The resource bank's pages, walked as the public and as organizers, with nothing mocked."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from tests.conftest import PASSWORD, csrf_token, login, make_user
from toolkit.accounts.models import AuditEvent, User
from toolkit.events.catalog import get_event
from toolkit.extensions import db
from toolkit.resources.bank import ResourceValues, create_resource
from toolkit.resources.models import Resource, ResourceStatus, TalkingPoints, TimelineEntry

SUGGESTION = {"title": "Why the ITRs matter", "url": "https://example.org/itrs",
              "organization": "Example Rights", "why": "A clear primer.", "event": "",
              "email": "helper@example.org", "nickname": ""}  # fmt: skip


def suggest(client: FlaskClient, **changes: str):
    data = {**SUGGESTION, **changes, "csrf_token": csrf_token(client, "/resources/suggest")}
    return client.post("/resources/suggest", data=data)


def resources(app: Flask) -> list[Resource]:
    with app.app_context():
        found = list(db.session.scalars(select(Resource).order_by(Resource.id)))
        db.session.expunge_all()
        return found


def add_approved(app: Flask, title: str, **values: object) -> int:
    with app.app_context():
        values.setdefault("category", "policy-analysis")
        resource = create_resource(db.session, ResourceValues(title=title, **values), "test")
        db.session.commit()
        return resource.id


def as_organizer(app: Flask, client: FlaskClient) -> FlaskClient:
    make_user(app, "org@example.org")
    response = login(client, "org@example.org")
    assert response.status_code == 302, response.status_code
    return client


def post(client: FlaskClient, form_page: str, target: str, /, **data: str):
    """A POST with the CSRF token a browser would have from the form page."""
    return client.post(target, data={**data, "csrf_token": csrf_token(client, form_page)})


def text(response) -> str:
    return response.get_data(as_text=True)


# --- the public -----------------------------------------------------------------------------


def test_the_bank_shows_approved_resources_by_category_with_filters_and_search(app, client):
    with app.app_context():
        wcit = get_event(db.session, "wcit-12").id
    add_approved(app, "ITU and voluntary standards", author="CDT", event_id=wcit,
                 summary="Why mandatory standards would hurt.", url="https://cdt.example/s")  # fmt: skip
    add_approved(app, "Sample delegation letter", author="Access Now",
                 category="advocacy-resource", event_id=wcit)  # fmt: skip
    add_approved(app, "A film about WTPF", category="multimedia", language="fr")
    page = text(client.get("/resources"))
    assert (
        page.index("Policy analyses") < page.index("Advocacy resources") < page.index("Multimedia")
    )
    assert '<a href="https://cdt.example/s" rel="nofollow noopener" hreflang="en">' in page
    assert "The link to this resource is still to be added." in page  # the letter has no link
    assert "French" in page
    only_letters = text(client.get("/resources?category=advocacy-resource"))
    assert "Sample delegation letter" in only_letters and "voluntary" not in only_letters
    found = text(client.get("/resources?q=MANDATORY"))
    assert "ITU and voluntary standards" in found and "Sample delegation" not in found
    assert "No resource matches your search." in text(client.get("/resources?q=nothing-like-it"))
    on_wcit = text(client.get("/events/wcit-12/resources"))
    assert "Sample delegation letter" in on_wcit and "A film about WTPF" not in on_wcit
    assert "3–14 December 2012" in on_wcit
    assert "A film" not in text(client.get("/resources?event=wcit-12"))
    assert client.get("/resources?event=nowhere").status_code == 404
    assert client.get("/events/nowhere/resources").status_code == 404
    # an unknown category or a page number that is not one is ignored, not an error
    assert client.get("/resources?category=<script>&page=abc").status_code == 200


def test_the_pager_keeps_the_filters(app, client):
    with app.app_context():
        for number in range(53):
            create_resource(db.session, ResourceValues(title=f"Paper {number:02}",
                                                       category="policy-analysis"), "test")  # fmt: skip
        db.session.commit()
    first = text(client.get("/resources?q=paper&category=policy-analysis"))
    assert first.count('class="resource"') == 50 and "Page 1 of 2" in first
    link = re.search(r'rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    assert "q=paper" in link and "category=policy-analysis" in link and "page=2" in link
    assert text(client.get(link)).count('class="resource"') == 3


def test_a_suggestion_waits_for_organizers_and_its_email_is_never_shown(app, client):
    form = text(client.get("/resources/suggest?event=wcit-12"))
    honeypot = re.search(r'<div class="honeypot" aria-hidden="true">.*?</div>', form, re.S).group(0)
    assert 'name="nickname"' in honeypot and 'tabindex="-1"' in honeypot
    assert 'autocomplete="off"' in honeypot
    response = suggest(client)
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/resources/suggest/thank-you"
    )
    assert "helper@example.org" not in response.headers["Location"]
    assert "Organizers will read it" in text(client.get(response.headers["Location"]))
    (stored,) = resources(app)
    assert (
        stored.status == ResourceStatus.SUGGESTED and stored.suggester_email == "helper@example.org"
    )
    assert stored.author == "Example Rights" and stored.suggestion_reason == "A clear primer."
    for page in ("/resources", "/events/wcit-12/resources", "/resources?q=ITRs"):
        assert "Why the ITRs matter" not in text(client.get(page)), page


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,<script>alert(1)</script>",
                                 "file:///etc/passwd", "JAVASCRIPT:alert(1)", "not a link"])  # fmt: skip
def test_a_link_that_is_not_http_is_refused_with_a_message(app, client, url):
    response = suggest(client, url=url)
    assert response.status_code == 422
    assert "Enter a link starting with http:// or https://." in text(response)
    assert resources(app) == []


def test_missing_title_and_bad_email_are_explained(app, client):
    response = suggest(client, title="", email="not-an-email")
    page = text(response)
    assert response.status_code == 422 and "Please correct the following" in page
    assert "This field is required." in page and "email" in page.lower()
    assert resources(app) == []


def test_a_filled_honeypot_is_refused_in_plain_words_and_nothing_is_stored(app, client):
    response = suggest(client, nickname="Best prices")
    assert response.status_code == 400
    page = text(response)
    assert "This looked like an automated submission, so it was not accepted." in page
    assert "Traceback" not in page
    assert resources(app) == []


def test_html_in_any_field_is_shown_as_text(app, client):
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    add_approved(app, hostile, author=hostile, summary=hostile, url='https://example.org/?q="><b>')
    page = text(client.get("/resources"))
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert 'href="https://example.org/?q=&#34;&gt;&lt;b&gt;"' in page


# --- organizers ---------------------------------------------------------------------------

ORGANIZER_PAGES = [
    ("get", "/admin/resources"), ("get", "/admin/resources/suggestions"),
    ("get", "/admin/resources/new"), ("post", "/admin/resources/new"),
    ("get", "/admin/resources/{rid}/edit"), ("post", "/admin/resources/{rid}/edit"),
    ("post", "/admin/resources/{rid}/approve"), ("post", "/admin/resources/{rid}/reject"),
    ("post", "/admin/resources/{rid}/delete"),
    ("get", "/admin/events/wcit-12/timeline"), ("post", "/admin/events/wcit-12/timeline"),
    ("get", "/admin/events/wcit-12/timeline/{eid}/edit"),
    ("post", "/admin/events/wcit-12/timeline/{eid}/edit"),
    ("post", "/admin/events/wcit-12/timeline/{eid}/delete"),
    ("get", "/admin/events/wcit-12/talking-points"),
    ("post", "/admin/events/wcit-12/talking-points"),
]  # fmt: skip


def _ids(app: Flask, runner) -> dict[str, int]:
    assert runner.invoke(args=["resources", "load-demo"]).exit_code == 0
    with app.app_context():
        return {"rid": db.session.scalar(select(func.min(Resource.id))),
                "eid": db.session.scalar(select(func.min(TimelineEntry.id)))}  # fmt: skip


def test_organizer_pages_send_the_anonymous_to_login(app, client, runner):
    ids = _ids(app, runner)
    token = csrf_token(client, "/resources/suggest")
    for method, path in ORGANIZER_PAGES:
        path = path.format(**ids)
        response = getattr(client, method)(path, data={"csrf_token": token})
        assert response.status_code == 302, (method, path, response.status_code)
        assert "/login" in response.headers["Location"], (method, path)
    assert len(resources(app)) == 26


def test_organizer_pages_refuse_accounts_that_are_not_organizers(app, client, runner):
    ids = _ids(app, runner)
    with app.app_context():
        db.session.add(User(email="member@example.org", role="member",
                            password_hash=generate_password_hash(PASSWORD)))  # fmt: skip
        db.session.commit()
    assert login(client, "member@example.org").status_code == 302
    token = csrf_token(client, "/resources/suggest")
    for method, path in ORGANIZER_PAGES:
        path = path.format(**ids)
        response = getattr(client, method)(path, data={"csrf_token": token})
        assert response.status_code == 403, (method, path, response.status_code)
    assert len(resources(app)) == 26


def _resource_form(**changes: str) -> dict[str, str]:
    data = {"title": "Why the ITRs matter", "author": "Example Rights",
            "url": "https://example.org/itrs", "category": "advocacy-resource",
            "summary": "A primer on the treaty, for newcomers.", "event": "", "language": "en"}  # fmt: skip
    data.update(changes)
    return data


def test_an_organizer_approves_a_suggestion_with_edits(app, client):
    suggest(client, email="")
    as_organizer(app, client)
    (suggested,) = resources(app)
    queue = text(client.get("/admin/resources/suggestions"))
    assert "Why the ITRs matter" in queue
    dashboard = text(client.get("/admin/"))
    assert re.search(r'class="count">\s*1\s*<', dashboard)
    edit = f"/admin/resources/{suggested.id}/edit"
    page = text(client.get(edit))
    assert f'action="/admin/resources/{suggested.id}/approve"' in page
    assert "left no email address" in page
    # no category chosen: refused with a message, nothing published
    response = post(client, edit, f"/admin/resources/{suggested.id}/approve",
                    **_resource_form(category=""))  # fmt: skip
    assert response.status_code == 422 and "Choose a category." in text(response)
    response = post(client, edit, f"/admin/resources/{suggested.id}/approve",
                    **_resource_form(title="The ITRs, explained"))  # fmt: skip
    assert response.status_code == 302
    (approved,) = resources(app)
    assert approved.status == ResourceStatus.APPROVED and approved.title == "The ITRs, explained"
    assert approved.category == "advocacy-resource"
    assert approved.summary == "A primer on the treaty, for newcomers."
    public = text(client.get("/resources"))
    assert "The ITRs, explained" in public and "A primer on the treaty" in public
    with app.app_context():
        audit = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "resources.approved")
        )
        assert audit.actor == "org@example.org"
        assert audit.details["changes"]["title"] == ["Why the ITRs matter", "The ITRs, explained"]
    # approving twice is refused in plain words
    response = post(client, edit, f"/admin/resources/{suggested.id}/approve", **_resource_form())
    assert response.status_code == 302
    assert "already decided" in text(client.get(response.headers["Location"]))


def test_a_rejection_needs_a_reason(app, client):
    suggest(client, email="")
    as_organizer(app, client)
    (suggested,) = resources(app)
    edit = f"/admin/resources/{suggested.id}/edit"
    response = post(client, edit, f"/admin/resources/{suggested.id}/reject", reason="  ")
    assert response.status_code == 422 and "Give a reason for the rejection." in text(response)
    assert resources(app)[0].status == ResourceStatus.SUGGESTED
    response = post(client, edit, f"/admin/resources/{suggested.id}/reject",
                    reason="We list only analyses that name their sources.")  # fmt: skip
    assert response.status_code == 302
    (rejected,) = resources(app)
    assert rejected.status == ResourceStatus.REJECTED
    assert rejected.rejection_reason == "We list only analyses that name their sources."
    assert "was rejected" in text(client.get(response.headers["Location"]))
    assert "Why the ITRs matter" not in text(client.get("/resources"))
    listing = text(client.get("/admin/resources?status=rejected"))
    assert "Why the ITRs matter" in listing
    assert "Why the ITRs matter" not in text(client.get("/admin/resources?status=approved"))
    with app.app_context():
        assert (
            db.session.scalar(select(AuditEvent).where(AuditEvent.action == "resources.rejected"))
            .details["reason"]
            .startswith("We list only")
        )


def test_an_organizer_adds_edits_and_deletes_a_resource(app, client):
    as_organizer(app, client)
    response = post(client, "/admin/resources/new", "/admin/resources/new",
                    **_resource_form(url="javascript:alert(1)"))  # fmt: skip
    assert response.status_code == 422
    assert "Enter a link starting with http:// or https://." in text(response)
    response = post(client, "/admin/resources/new", "/admin/resources/new",
                    **_resource_form(url=""))  # fmt: skip
    assert response.status_code == 302
    (resource,) = resources(app)
    assert resource.status == ResourceStatus.APPROVED and resource.url == ""
    edit = f"/admin/resources/{resource.id}/edit"
    response = post(client, edit, edit, **_resource_form(url="https://example.org/found"))
    assert response.status_code == 302
    assert resources(app)[0].url == "https://example.org/found"
    # deleting needs the box ticked (there is no JavaScript confirmation dialog)
    response = post(client, edit, f"/admin/resources/{resource.id}/delete")
    assert response.status_code == 302 and len(resources(app)) == 1
    assert "Tick the box to confirm the deletion." in text(client.get(edit))
    response = post(client, edit, f"/admin/resources/{resource.id}/delete", confirm="y")
    assert response.status_code == 302 and resources(app) == []
    with app.app_context():
        actions = set(db.session.scalars(select(AuditEvent.action)))
        assert {"resources.created", "resources.edited", "resources.deleted"} <= actions
    assert client.get(edit).status_code == 404


# --- timelines and talking points ----------------------------------------------------------

HOSTILE_MARKDOWN = (
    "**Ask** your delegation.\n\n<script>alert(1)</script>\n\n"
    "[click](javascript:alert(1)) <img src=x onerror=alert(1)> [ok](https://example.org)"
)


class _Elements(HTMLParser):
    """Every element and attribute of a page, as a browser's parser sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def assert_markdown_is_safe(page: str) -> None:
    """The Markdown was rendered, and nothing in the page can run a script."""
    assert "<strong>Ask</strong>" in page
    assert '<a href="https://example.org" rel="nofollow noopener">ok</a>' in page
    parser = _Elements()
    parser.feed(page)
    for tag, attrs in parser.found:
        assert tag not in ("script", "img", "iframe"), tag
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert not (value or "").lower().startswith("javascript:"), (tag, name, value)


def test_an_organizer_keeps_the_timeline(app, client):
    as_organizer(app, client)
    admin = "/admin/events/wcit-12/timeline"
    entry = {"starts_on": "2012-12-03", "ends_on": "2012-12-14", "title": "WCIT-12",
             "place": "Dubai", "body": HOSTILE_MARKDOWN}  # fmt: skip
    response = post(client, admin, admin, **{**entry, "ends_on": "2012-11-01"})
    assert response.status_code == 422
    assert "The last day cannot be before the first day." in text(response)
    assert post(client, admin, admin, **entry).status_code == 302
    assert post(client, admin, admin, starts_on="2013-05-14", ends_on="2013-05-16",
                title="WTPF-13", place="Geneva", body="").status_code == 302  # fmt: skip
    public = text(client.get("/events/wcit-12/timeline"))
    assert public.index("3–14 December 2012") < public.index("14–16 May 2013")
    assert_markdown_is_safe(public)
    assert "No date has been added" in text(client.get("/events/wtpf-13/timeline"))
    with app.app_context():
        first = db.session.scalar(select(TimelineEntry).where(TimelineEntry.title == "WCIT-12"))
    edit = f"{admin}/{first.id}/edit"
    assert 'value="2012-12-03"' in text(client.get(edit))
    response = post(client, edit, edit, **{**entry, "title": "WCIT-12 in Dubai"})
    assert response.status_code == 302
    assert "WCIT-12 in Dubai" in text(client.get("/events/wcit-12/timeline"))
    # an entry is reached only through its own event
    assert client.get(f"/admin/events/wtpf-13/timeline/{first.id}/edit").status_code == 404
    assert post(client, edit, f"{admin}/{first.id}/delete").status_code == 302
    assert "WCIT-12 in Dubai" in text(client.get("/events/wcit-12/timeline"))
    assert post(client, edit, f"{admin}/{first.id}/delete", confirm="y").status_code == 302
    assert "WCIT-12 in Dubai" not in text(client.get("/events/wcit-12/timeline"))


def test_an_organizer_writes_talking_points_that_cannot_inject_scripts(app, client):
    assert "No talking points have been written" in text(
        client.get("/events/wcit-12/talking-points")
    )
    as_organizer(app, client)
    admin = "/admin/events/wcit-12/talking-points"
    assert post(client, admin, admin, body=HOSTILE_MARKDOWN).status_code == 302
    public = text(client.get("/events/wcit-12/talking-points"))
    assert_markdown_is_safe(public)
    assert "&lt;script&gt;" in public  # the typed HTML is shown as text
    assert "**Ask**" in text(client.get(admin))  # organizers edit the Markdown, not the HTML
    with app.app_context():
        assert db.session.scalar(select(func.count(TalkingPoints.id))) == 1


def test_pages_of_an_event_link_to_each_other(client):
    for path in ("/events/wcit-12/resources", "/events/wcit-12/timeline",
                 "/events/wcit-12/talking-points"):  # fmt: skip
        page = text(client.get(path))
        for other in ("/events/wcit-12/resources", "/events/wcit-12/timeline",
                      "/events/wcit-12/talking-points"):  # fmt: skip
            assert other == path or f'href="{other}"' in page, (path, other)
        assert 'aria-current="page"' in page
        assert "style=" not in page and "<script" not in page
