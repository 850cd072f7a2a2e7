"""A suggester who left an email hears the outcome once, through the outbox; then it is erased."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import csrf_token, login, make_user
from toolkit.extensions import db
from toolkit.resources.models import Resource

pytestmark = pytest.mark.skipif(
    not (Path(__file__).resolve().parents[2] / "toolkit" / "mail" / "outbox.py").exists(),
    reason="toolkit/mail/outbox.py is not written yet",
)


def _suggest(client, title: str, email: str = "helper@example.org") -> None:
    data = {"title": title, "url": "https://example.org/x", "email": email,
            "csrf_token": csrf_token(client, "/resources/suggest")}  # fmt: skip
    assert client.post("/resources/suggest", data=data).status_code == 302


def _messages(app):
    from toolkit.mail.models import OutboxMessage

    with app.app_context():
        found = list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        db.session.expunge_all()
        return found


def test_the_suggester_is_told_the_outcome_and_the_address_is_erased(app, client, tmp_path):
    from toolkit.mail.outbox import wait_for_deliveries

    app.config["OUTBOX_DIR"] = str(tmp_path / "outbox")
    _suggest(client, "Good <b>analysis</b>")
    _suggest(client, "Off-topic advert")
    _suggest(client, "Anonymous tip", email="")
    make_user(app, "org@example.org")
    login(client, "org@example.org")
    with app.app_context():
        ids = {r.title: r.id for r in db.session.scalars(select(Resource))}
    good, advert, anonymous = (ids["Good <b>analysis</b>"], ids["Off-topic advert"],
                               ids["Anonymous tip"])  # fmt: skip

    token = csrf_token(client, f"/admin/resources/{good}/edit")
    form = {"title": "Good <b>analysis</b>", "url": "https://example.org/x", "author": "",
            "category": "policy-analysis", "summary": "", "event": "", "language": "en",
            "csrf_token": token}  # fmt: skip
    assert client.post(f"/admin/resources/{good}/approve", data=form).status_code == 302
    assert client.post(f"/admin/resources/{advert}/reject", data={
        "reason": "We list analyses, not products.", "csrf_token": token}).status_code == 302  # fmt: skip
    assert client.post(f"/admin/resources/{anonymous}/reject", data={
        "reason": "Duplicate.", "csrf_token": token}).status_code == 302  # fmt: skip
    assert wait_for_deliveries(10)

    approved, rejected = _messages(app)  # nobody to tell about the anonymous one
    assert approved.kind == rejected.kind == "resource-outcome"
    assert approved.to_addresses == rejected.to_addresses == "helper@example.org"
    assert "Good <b>analysis</b>" in approved.text_body  # plain text: nothing escaped
    assert "http://127.0.0.1:5000/resources" in approved.text_body
    assert "We list analyses, not products." in rejected.text_body
    with app.app_context():
        assert set(db.session.scalars(select(Resource.suggester_email))) == {""}
