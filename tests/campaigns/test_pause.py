"""Pausing signing: organizers switch it from the campaign's page or the CLI; while paused the
public page says so instead of showing the form, and a signature sent anyway gets a 409."""

from __future__ import annotations

from sqlalchemy import select

from tests.campaigns.helpers import make_campaign, sign
from tests.conftest import csrf_token, login, make_user
from toolkit.accounts.models import AuditEvent
from toolkit.campaigns.models import Signature
from toolkit.campaigns.service import get_campaign
from toolkit.extensions import db

PAUSED = "Signing is paused for a short while. Please come back later."
ADMIN = "/admin/campaigns/let-us-in"
FORM = 'action="/campaigns/let-us-in/sign'  # the signing form (its action ends in #sign)


def is_paused(app) -> bool:
    with app.app_context():
        return get_campaign(db.session, "let-us-in").signing_paused


def audit(app) -> list[tuple[str, str]]:
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action.in_(["campaigns.pause", "campaigns.resume"]))
            .order_by(AuditEvent.id)
        )
        return [(e.action, e.actor) for e in events]


def signatures(app) -> int:
    with app.app_context():
        return len(db.session.scalars(select(Signature)).all())


def switch(client, action: str):
    token = csrf_token(client, ADMIN)
    return client.post(f"{ADMIN}/signing", data={"action": action, "csrf_token": token},
                       follow_redirects=True)  # fmt: skip


def test_an_organizer_pauses_and_resumes_signing_from_the_campaign_page(app, client):
    owner = make_user(app, "owner@example.org")
    make_campaign(app, organizer_id=owner, require_confirmation=False)
    login(client, "owner@example.org")
    assert "Pause signing" in client.get(ADMIN).get_data(as_text=True)

    page = switch(client, "pause").get_data(as_text=True)
    assert is_paused(app)
    assert "Signing is paused: the public page says so" in page  # the flash message
    assert "Resume signing" in page and "Pause signing" not in page
    assert audit(app) == [("campaigns.pause", "owner@example.org")]

    public = app.test_client()
    page = public.get("/campaigns/let-us-in").get_data(as_text=True)
    assert PAUSED in page and FORM not in page
    response = sign(public)
    assert response.status_code == 409
    assert PAUSED in response.get_data(as_text=True)
    assert signatures(app) == 0

    page = switch(client, "resume").get_data(as_text=True)
    assert not is_paused(app)
    assert "Signing is resumed" in page
    assert audit(app)[-1] == ("campaigns.resume", "owner@example.org")
    assert FORM in public.get("/campaigns/let-us-in").get_data(as_text=True)
    assert sign(public).status_code == 302
    assert signatures(app) == 1


def test_pausing_twice_is_recorded_once(app, client):
    owner = make_user(app, "owner@example.org")
    make_campaign(app, organizer_id=owner)
    login(client, "owner@example.org")
    switch(client, "pause")
    assert switch(client, "pause").status_code == 200
    assert audit(app) == [("campaigns.pause", "owner@example.org")]


def test_only_the_campaigns_organizers_may_pause(app, client):
    owner = make_user(app, "owner@example.org")
    make_user(app, "other@example.org")
    make_campaign(app, organizer_id=owner)
    response = client.post(f"{ADMIN}/signing", data={"action": "pause"})
    assert response.status_code in (302, 400)  # no session: the login page, or no CSRF token
    login(client, "other@example.org")
    token = csrf_token(client, "/admin/campaigns/")
    response = client.post(f"{ADMIN}/signing", data={"action": "pause", "csrf_token": token})
    assert response.status_code == 403
    assert not is_paused(app) and audit(app) == []


def test_a_pause_needs_the_csrf_token_and_a_known_action(app, client):
    owner = make_user(app, "owner@example.org")
    make_campaign(app, organizer_id=owner)
    login(client, "owner@example.org")
    assert client.post(f"{ADMIN}/signing", data={"action": "pause"}).status_code == 400
    token = csrf_token(client, ADMIN)
    response = client.post(f"{ADMIN}/signing", data={"action": "stop", "csrf_token": token})
    assert response.status_code == 400
    assert not is_paused(app) and audit(app) == []


def test_the_cli_pauses_and_resumes(app, runner):
    make_campaign(app)
    result = runner.invoke(args=["campaigns", "pause", "let-us-in"])
    assert result.exit_code == 0 and result.output == "'let-us-in': signing paused.\n"
    assert is_paused(app)
    again = runner.invoke(args=["campaigns", "pause", "let-us-in"])
    assert again.output == "'let-us-in': signing was already paused.\n"
    page = app.test_client().get("/campaigns/let-us-in").get_data(as_text=True)
    assert PAUSED in page and FORM not in page
    result = runner.invoke(args=["campaigns", "resume", "let-us-in"])
    assert result.exit_code == 0 and result.output == "'let-us-in': signing resumed.\n"
    assert not is_paused(app)
    assert audit(app) == [("campaigns.pause", "cli"), ("campaigns.resume", "cli")]
    missing = runner.invoke(args=["campaigns", "pause", "nope"])
    assert missing.exit_code == 1 and "no campaign 'nope'" in missing.output


def test_the_cli_says_when_the_campaign_is_not_open(app, runner):
    make_campaign(app, open_it=False)
    result = runner.invoke(args=["campaigns", "pause", "let-us-in"])
    assert result.output == "'let-us-in': signing paused (the campaign is draft).\n"
