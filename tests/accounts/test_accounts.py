"""Organizer accounts: the CLI, login and logout, no account enumeration, rate limits, audit."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.conftest import PASSWORD, base_config, csrf_token, login, make_user
from toolkit import create_app
from toolkit.accounts.models import AuditEvent, User
from toolkit.extensions import db


def actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_users_create_from_the_cli_with_password_on_stdin(app, runner):
    result = runner.invoke(
        args=["users", "create", "Ama@Example.org", "--role", "admin", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert "created admin Ama@example.org" in result.output
    with app.app_context():
        user = db.session.scalar(select(User))
        assert user.role == "admin"
        assert user.password_hash.startswith(("scrypt:", "pbkdf2:"))
        assert PASSWORD not in user.password_hash
    assert actions(app) == ["users.create"]
    listed = runner.invoke(args=["users", "list"])
    assert "admin      Ama@example.org" in listed.output


def test_users_create_with_a_prompted_password(runner):
    result = runner.invoke(args=["users", "create", "kofi@example.org"],
                           input=f"{PASSWORD}\n{PASSWORD}\n")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "created organizer kofi@example.org" in result.output


@pytest.mark.parametrize(
    "args, stdin, message",
    [
        (["not-an-email"], PASSWORD, "An email address must have an @-sign."),
        (["a@example.org"], "short", "at least 10 characters"),
        (["a@example.org", "--role", "king"], PASSWORD, "Invalid value for '--role'"),
    ],
)
def test_users_create_refuses_bad_input(runner, args, stdin, message):
    result = runner.invoke(args=["users", "create", *args, "--password-stdin"], input=stdin + "\n")
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_users_create_refuses_a_duplicate(app, runner):
    make_user(app, "dup@example.org")
    result = runner.invoke(args=["users", "create", "DUP@example.org", "--password-stdin"],
                           input=PASSWORD + "\n")  # fmt: skip
    assert result.exit_code == 1
    assert "already exists" in result.output


def test_login_and_logout(app, client):
    make_user(app, "org@example.org")
    response = login(client, "org@example.org")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/")
    page = client.get("/").get_data(as_text=True)
    assert "Log out" in page
    token = csrf_token(client, "/")
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 302
    assert actions(app) == ["auth.login", "auth.logout"]


def test_wrong_password_and_unknown_account_get_the_same_message(app, client):
    make_user(app, "org@example.org")
    wrong = login(client, "org@example.org", "wrong password!!")
    unknown = login(client, "nobody@example.org", "wrong password!!")
    assert wrong.status_code == unknown.status_code == 401
    for response in (wrong, unknown):
        assert "Email or password is incorrect." in response.get_data(as_text=True)
    assert actions(app) == ["auth.login_failed", "auth.login_failed"]


def test_disabled_account_cannot_log_in(app, client):
    user_id = make_user(app, "gone@example.org")
    with app.app_context():
        db.session.get(User, user_id).active = False
        db.session.commit()
    assert login(client, "gone@example.org").status_code == 401


@pytest.mark.parametrize(
    "target, expected",
    [("/admin/users", "/admin/users"), ("https://evil.example/", "/admin/"),
     ("//evil.example/", "/admin/"), ("/\\evil.example", "/admin/")],
)  # fmt: skip
def test_next_only_goes_to_this_site(app, client, target, expected):
    make_user(app, "adm@example.org", role="admin")
    token = csrf_token(client, "/login")
    response = client.post(
        "/login?next=" + target,
        data={"email": "adm@example.org", "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == expected


def test_login_attempts_are_rate_limited(sqlite_app, tmp_path):
    config = base_config(sqlite_app.config["DATABASE_URL"], tmp_path)
    app = create_app({**config, "RATELIMIT_ENABLED": True})
    client = app.test_client()
    statuses = [login(client, "org@example.org", "wrong password!!").status_code for _ in range(6)]
    assert statuses[:5] == [401] * 5
    assert statuses[5] == 429
    assert "Too many requests" in login(client, "org@example.org", "x" * 12).get_data(as_text=True)


def test_session_cookie_is_httponly_and_samesite(app, client):
    make_user(app, "org@example.org")
    response = login(client, "org@example.org")
    (cookie,) = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
