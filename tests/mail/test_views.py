"""The admin outbox pages: who may see them, what they show, sending a failed message again."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from tests.smtp import mail_config, smtp_server  # noqa: F401
from toolkit.accounts.models import AuditEvent, User
from toolkit.extensions import db
from toolkit.mail.models import MessageStatus, OutboxMessage
from toolkit.mail.outbox import deliver_pending, queue_message, wait_for_deliveries

CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')  # as in conftest


def make_account(app: Flask, email: str, role: str) -> int:
    with app.app_context():
        user = User(email=email, name=email, role=role,
                    password_hash=generate_password_hash("not used in these tests"))  # fmt: skip
        db.session.add(user)
        db.session.commit()
        return user.id


def log_in(app: Flask, client: FlaskClient, user_id: int) -> None:
    """Log the test client in by writing the session as Flask-Login would.

    Session protection is "strong": the session must carry `_id`, the hash of the client's
    address and User-Agent, made from a request with the test client's own environ.
    """
    with app.test_request_context(environ_base=client.environ_base):
        identifier = app.login_manager._session_identifier_generator()
    with client.session_transaction() as session:
        session["_user_id"] = str(user_id)
        session["_fresh"] = True
        session["_id"] = identifier


@pytest.fixture
def admin_client(app: Flask, client: FlaskClient) -> FlaskClient:
    log_in(app, client, make_account(app, "admin@example.org", "admin"))
    return client


@pytest.fixture
def outbox_dir(app, tmp_path: Path) -> Path:
    folder = tmp_path / "outbox"
    app.config["OUTBOX_DIR"] = str(folder)
    return folder


def queue(app, subject: str = "Hello", status: MessageStatus | None = None, **fields) -> int:
    with app.app_context():
        message = queue_message(db.session, to=fields.pop("to", "grace@example.org"),
                                subject=subject, text=fields.pop("text", "Hi."), **fields)  # fmt: skip
        if status is not None:
            message.status = status.value
            message.attempts = 8
            message.last_error = "gave up after 8 attempts: connection refused"
        db.session.commit()
        return message.id


@pytest.mark.parametrize(
    "method, path",
    [("get", "/admin/outbox/"), ("get", "/admin/outbox/1"), ("get", "/admin/outbox/1/eml")],
)
def test_anonymous_visitors_are_sent_to_login(client, method, path):
    response = getattr(client, method)(path)
    assert response.status_code == 302
    assert "login" in response.headers["Location"]


def test_organizers_may_not_see_the_outbox(app, client):
    message_id = queue(app)
    log_in(app, client, make_account(app, "organizer@example.org", "organizer"))
    assert client.get("/admin/outbox/").status_code == 403
    assert client.get(f"/admin/outbox/{message_id}").status_code == 403
    assert client.post(f"/admin/outbox/{message_id}/retry").status_code in (400, 403)


def test_the_list_shows_messages_newest_first_with_counts(app, admin_client):
    queue(app, "first <b>bold</b>")
    queue(app, "second", status=MessageStatus.FAILED)
    response = admin_client.get("/admin/outbox/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.index("second") < page.index("first")
    assert "first &lt;b&gt;bold&lt;/b&gt;" in page and "<b>bold" not in page
    assert "gave up after 8 attempts: connection refused" in page
    assert ">queued</a>: 1" in page and ">failed</a>: 1" in page
    assert "style=" not in page and "<script" not in page

    failed_only = admin_client.get("/admin/outbox/?status=failed").get_data(as_text=True)
    assert "second" in failed_only and "first" not in failed_only
    assert admin_client.get("/admin/outbox/?status=nonsense&page=-3").status_code == 200


def test_a_message_page_shows_headers_text_and_the_eml(app, admin_client, outbox_dir):
    message_id = queue(app, "请确认 <script>", text="Line one\n<script>alert(1)</script>",
                       to="محمد <m@example.org>", kind="signature-confirm")  # fmt: skip
    with app.app_context():
        assert deliver_pending(db.session, app.config).sent == 1
    response = admin_client.get(f"/admin/outbox/{message_id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Message-ID" in page and "محمد &lt;m@example.org&gt;" in page
    assert "请确认 &lt;script&gt;" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>" not in page
    assert f"/admin/outbox/{message_id}/eml" in page
    assert "Send again" not in page

    with admin_client.get(f"/admin/outbox/{message_id}/eml") as download:  # closes the file
        assert download.status_code == 200
        assert download.mimetype == "message/rfc822"
        assert b"Subject: =?utf-8?" in download.data
        assert "attachment" in download.headers["Content-Disposition"]


def test_an_eml_outside_the_outbox_dir_is_never_served(app, admin_client, outbox_dir, tmp_path):
    secret = tmp_path / "secret.eml"
    secret.write_text("Subject: not for you\n\nsecret")
    message_id = queue(app)
    with app.app_context():
        message = db.session.get(OutboxMessage, message_id)
        message.eml_path = str(outbox_dir / ".." / "secret.eml")
        db.session.commit()
    assert "/eml" not in admin_client.get(f"/admin/outbox/{message_id}").get_data(as_text=True)
    assert admin_client.get(f"/admin/outbox/{message_id}/eml").status_code == 404
    assert admin_client.get("/admin/outbox/99999").status_code == 404


def test_sending_a_failed_message_again_is_audited(app, admin_client, smtp_server):  # noqa: F811
    mail_config(app, smtp_server)
    message_id = queue(app, "try me again", status=MessageStatus.FAILED)
    page = admin_client.get(f"/admin/outbox/{message_id}").get_data(as_text=True)
    assert "Send again" in page
    token = CSRF_RE.search(page.split(f"/admin/outbox/{message_id}/retry", 1)[1]).group(1)

    without_token = admin_client.post(f"/admin/outbox/{message_id}/retry")
    assert without_token.status_code == 400

    response = admin_client.post(f"/admin/outbox/{message_id}/retry", data={"csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/outbox/{message_id}")
    assert wait_for_deliveries(10)
    [received] = smtp_server.wait_for(1)
    assert received["Subject"] == "try me again"
    with app.app_context():
        message = db.session.get(OutboxMessage, message_id)
        assert message.status == MessageStatus.SENT
        assert message.attempts == 1
        [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "mail.requeue"))
        assert (event.actor, event.target_type, event.target_id) == (
            "admin@example.org", "outbox_messages", str(message_id),
        )  # fmt: skip


def test_only_failed_messages_can_be_sent_again(app, admin_client, outbox_dir):
    message_id = queue(app, "already queued")
    page = admin_client.get(f"/admin/outbox/{message_id}").get_data(as_text=True)
    assert "Send again" not in page
    failed_id = queue(app, "failed", status=MessageStatus.FAILED)  # its page has the form
    page = admin_client.get(f"/admin/outbox/{failed_id}").get_data(as_text=True)
    token = CSRF_RE.search(page).group(1)
    response = admin_client.post(
        f"/admin/outbox/{message_id}/retry", data={"csrf_token": token}, follow_redirects=True
    )
    assert "Only a message that failed can be sent again." in response.get_data(as_text=True)
    with app.app_context():
        assert (
            db.session.scalar(select(AuditEvent).where(AuditEvent.action == "mail.requeue")) is None
        )
