"""Password reset by an emailed, expiring, single-use link, through a real SMTP server."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.conftest import PASSWORD, csrf_token, login, make_user
from tests.smtp import mail_config, smtp_server  # noqa: F401
from toolkit.accounts.models import AuditEvent
from toolkit.extensions import db

LINK = re.compile(r"http://[^\s\"<>]+/reset/[A-Za-z0-9_.\-]+")


def ask_reset(client, email: str):
    token = csrf_token(client, "/reset")
    return client.post("/reset", data={"email": email, "csrf_token": token})


def test_reset_by_mail_then_the_link_is_used_up(app, client, smtp_server):  # noqa: F811
    mail_config(app, smtp_server)
    make_user(app, "org@example.org")
    response = ask_reset(client, "org@example.org")
    assert "If an organizer account exists" in response.get_data(as_text=True)
    (message,) = smtp_server.wait_for(1)
    assert message["To"] == "org@example.org"
    link = LINK.search(message.get_body(preferencelist=("plain",)).get_content()).group(0)
    path = "/" + link.split("/", 3)[3]

    page = client.get(path)
    assert page.status_code == 200 and "Choose a new password" in page.get_data(as_text=True)
    token = csrf_token(client, path)
    new_password = "a brand new passphrase"
    mismatch = client.post(path, data={"csrf_token": token, "password": new_password,
                                       "confirm": "something else"})  # fmt: skip
    assert "The two passwords differ." in mismatch.get_data(as_text=True)
    done = client.post(path, data={"csrf_token": token, "password": new_password,
                                   "confirm": new_password})  # fmt: skip
    assert done.status_code == 302 and done.headers["Location"].endswith("/login")
    assert login(client, "org@example.org", PASSWORD).status_code == 401
    assert login(client, "org@example.org", new_password).status_code == 302

    again = client.get(path)
    assert again.status_code == 400
    assert "already been used" in again.get_data(as_text=True)
    with app.app_context():
        actions = list(db.session.scalars(select(AuditEvent.action)))
        assert "auth.password_reset" in actions


def test_reset_for_an_unknown_email_says_the_same_and_sends_nothing(app, client, smtp_server):  # noqa: F811
    mail_config(app, smtp_server)
    known = ask_reset(client, "nobody@example.org").get_data(as_text=True)
    assert "If an organizer account exists for nobody@example.org" in known
    from toolkit.mail.outbox import wait_for_deliveries

    wait_for_deliveries()
    assert smtp_server.messages == []


def test_expired_and_tampered_links(app, client, smtp_server):  # noqa: F811
    mail_config(app, smtp_server)
    make_user(app, "org@example.org")
    ask_reset(client, "org@example.org")
    (message,) = smtp_server.wait_for(1)
    link = LINK.search(message.get_body(preferencelist=("plain",)).get_content()).group(0)
    path = "/" + link.split("/", 3)[3]
    assert "not valid" in client.get(path[:-4] + "AAAA").get_data(as_text=True)
    app.config["PASSWORD_RESET_MAX_AGE"] = -1
    expired = client.get(path)
    assert expired.status_code == 400 and "expired" in expired.get_data(as_text=True)


def test_without_smtp_the_mail_lands_in_the_outbox_folder(app, client, tmp_path):
    app.config["MAIL_SERVER"] = None
    app.config["OUTBOX_DIR"] = str(tmp_path / "outbox")
    make_user(app, "org@example.org")
    ask_reset(client, "org@example.org")
    import time

    for _ in range(100):
        files = list((tmp_path / "outbox").glob("*.eml")) if (tmp_path / "outbox").exists() else []
        if files:
            break
        time.sleep(0.05)
    assert len(files) == 1
    content = files[0].read_text()
    assert "org@example.org" in content and "/reset/" in content
