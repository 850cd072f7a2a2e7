"""The issues' "done when", walked end to end through the real app, CLI and SMTP server."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.conftest import PASSWORD, csrf_token, login
from tests.smtp import mail_config, smtp_server  # noqa: F401
from toolkit.extensions import db
from toolkit.resources.models import Resource

RESET_LINK = re.compile(r"http://[^\s\"<>]+/reset/[A-Za-z0-9_.\-]+")


def test_new_organizer_approves_a_suggestion_and_resets_a_password(app, client, runner,
                                                                  smtp_server):  # noqa: F811  # fmt: skip
    result = runner.invoke(args=["users", "create", "new@example.org", "--password-stdin"],
                           input=PASSWORD + "\n")  # fmt: skip
    assert result.exit_code == 0, result.output

    # Someone suggests a resource through the public form.
    token = csrf_token(client, "/resources/suggest")
    response = client.post("/resources/suggest", data={
        "csrf_token": token, "title": "A civil-society guide to the ITRs",
        "url": "https://example.org/guide", "organization": "Example Network",
        "why": "A clear summary for newcomers.", "email": "", "nickname": ""})  # fmt: skip
    assert response.status_code == 302
    assert "A civil-society guide" not in client.get("/resources").get_data(as_text=True)

    # The new organizer logs in and approves it, with a category.
    assert login(client, "new@example.org").status_code == 302
    with app.app_context():
        resource = db.session.scalar(select(Resource).where(Resource.title.like("A civil%")))
    edit = f"/admin/resources/{resource.id}/edit"
    page = client.get(edit).get_data(as_text=True)
    fields = dict(re.findall(r'name="(\w+)"[^>]*value="([^"]*)"', page))
    fields.update({"csrf_token": csrf_token(client, edit), "category": "advocacy-resource",
                   "summary": "A clear summary for newcomers.", "language": "en"})  # fmt: skip
    approved = client.post(f"/admin/resources/{resource.id}/approve", data=fields)
    assert approved.status_code == 302, approved.get_data(as_text=True)[:2000]
    assert "A civil-society guide to the ITRs" in client.get("/resources").get_data(as_text=True)

    # A password reset through a real SMTP server.
    mail_config(app, smtp_server)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    token = csrf_token(client, "/reset")
    client.post("/reset", data={"csrf_token": token, "email": "new@example.org"})
    (message,) = smtp_server.wait_for(1)
    assert RESET_LINK.search(message.get_body(preferencelist=("plain",)).get_content())
