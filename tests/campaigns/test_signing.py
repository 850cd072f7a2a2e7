"""Signing a sign-on letter: sign → mail → confirm → approve → in the PDF and the CSV."""

from __future__ import annotations

import csv
import io
import threading
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from tests.campaigns.helpers import links, make_campaign, path_of, sign
from tests.conftest import csrf_token, login, make_user
from tests.smtp import mail_config, smtp_server  # noqa: F401
from toolkit.campaigns.models import Signature
from toolkit.campaigns.service import get_campaign
from toolkit.campaigns.signing import count_signatures
from toolkit.db import utcnow
from toolkit.extensions import db


def signature_rows(app) -> list[Signature]:
    with app.app_context():
        rows = list(db.session.scalars(select(Signature).order_by(Signature.id)))
        db.session.expunge_all()
        return rows


def test_the_whole_cycle(app, client, smtp_server):  # noqa: F811
    mail_config(app, smtp_server)
    organizer = make_user(app, "org@example.org")
    make_campaign(app, organizer_id=organizer)
    response = sign(client, name="Amina Diallo", email="Amina@Example.org")
    assert response.status_code == 302 and response.headers["Location"].endswith("/check-email")
    (message,) = smtp_server.wait_for(1)
    assert message["To"] == "Amina@example.org"
    confirm_link, manage_link = links(message)
    assert "/confirm/" in confirm_link and "/manage/" in manage_link
    assert "amina" not in confirm_link.lower()  # no email in links

    # Opening the link (as a mail scanner would) changes nothing.
    page = client.get(path_of(confirm_link))
    assert page.status_code == 200 and "Confirm" in page.get_data(as_text=True)
    assert signature_rows(app)[0].status == "pending"
    token = csrf_token(client, path_of(confirm_link))
    assert client.post(path_of(confirm_link), data={"csrf_token": token}).status_code == 302
    (signature,) = signature_rows(app)
    assert signature.status == "confirmed" and signature.confirmed_at is not None

    login(client, "org@example.org")
    token = csrf_token(client, "/admin/campaigns/let-us-in/signatures")
    client.post("/admin/campaigns/let-us-in/signatures/decide",
                data={"csrf_token": token, "ids": [str(signature.id)], "action": "approve"})  # fmt: skip
    assert signature_rows(app)[0].status == "approved"

    pdf = client.get("/admin/campaigns/let-us-in/letter.pdf")
    assert pdf.status_code == 200
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Jonction" in text and "Senegal" in text and "1 signatory" in text

    export = client.get("/admin/campaigns/let-us-in/export?format=csv&shape=full")
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True).removeprefix("\ufeff"))))
    assert rows[0]["name"] == "Amina Diallo" and rows[0]["email"] == "Amina@example.org"
    public = client.get("/campaigns/let-us-in").get_data(as_text=True)
    assert "Jonction" in public and "Amina@example.org" not in public


def test_signing_twice_never_makes_a_second_signature_and_tells_nobody(app, client, smtp_server):  # noqa: F811
    mail_config(app, smtp_server)
    make_campaign(app)
    first = sign(client, email="twice@example.org")
    second = sign(client, email="TWICE@example.org", name="Someone Else")
    assert first.headers["Location"] == second.headers["Location"]
    assert len(signature_rows(app)) == 1
    messages = smtp_server.wait_for(2)
    assert "again" in messages[1].get_body(preferencelist=("plain",)).get_content()
    assert any("/manage/" in link for link in links(messages[1]))


def test_confirmation_links_expired_tampered_or_withdrawn(app, client, smtp_server):  # noqa: F811
    mail_config(app, smtp_server)
    make_campaign(app)
    sign(client)
    confirm_link, manage_link = links(smtp_server.wait_for(1)[0])
    tampered = client.get(path_of(confirm_link)[:-3] + "abc")
    assert tampered.status_code == 400 and "not valid" in tampered.get_data(as_text=True)
    app.config["SIGNATURE_CONFIRM_MAX_AGE"] = -1
    expired = client.get(path_of(confirm_link))
    assert expired.status_code == 400 and "expired" in expired.get_data(as_text=True)
    app.config["SIGNATURE_CONFIRM_MAX_AGE"] = 3600
    token = csrf_token(client, path_of(manage_link))
    client.post(path_of(manage_link), data={"csrf_token": token, "action": "withdraw"})
    assert signature_rows(app)[0].status == "withdrawn"
    after = client.post(path_of(confirm_link), data={"csrf_token": token})
    assert after.status_code == 400 and "withdrawn" in after.get_data(as_text=True)
    assert signature_rows(app)[0].status == "withdrawn"


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"name": "x" * 201}, "Field cannot be longer than 200 characters."),
        ({"name": "Amina\x07"}, "Remove the invisible control characters"),
        ({"email": "amina@"}, "There must be something after the @-sign."),
        ({"country": ""}, "This field is required."),
        ({"country": "ZZ"}, "Not a valid choice."),
        ({"country": "ke"}, "Not a valid choice."),
        ({"organization": "", "kind": "organization"}, "Name the organization you sign for."),
    ],
)
def test_bad_input_gets_a_message_at_the_field(app, client, changes, message):
    make_campaign(app)
    response = sign(client, **changes)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert signature_rows(app) == []


@pytest.mark.parametrize(
    "name",
    ["عبد الله الشريف", "王小明", "Ольга Петрова", "देवनागरी नाम", "Ngu\u0303gi\u0303 wa Thiong'o"],
)
def test_names_in_any_script_are_kept(app, client, smtp_server, name):  # noqa: F811
    mail_config(app, smtp_server)
    make_campaign(app)
    assert sign(client, name=name).status_code == 302
    import unicodedata

    assert signature_rows(app)[0].name == unicodedata.normalize("NFC", name)


def test_honeypot_is_refused_in_plain_words(app, client):
    make_campaign(app)
    response = sign(client, nickname="bot")
    assert response.status_code == 400
    assert "automated submission" in response.get_data(as_text=True)
    assert signature_rows(app) == []


def test_closed_campaign_shows_a_notice_and_refuses_posts(app, client):
    make_campaign(app)
    with app.app_context():
        campaign = get_campaign(db.session, "let-us-in")
        campaign.deadline = utcnow() - timedelta(days=1)
        db.session.commit()
    page = client.get("/campaigns/let-us-in").get_data(as_text=True)
    assert (
        "deadline for signing has passed" in page
        and 'action="/campaigns/let-us-in/sign' not in page
    )
    response = sign(client)
    assert response.status_code == 409
    assert "deadline for signing has passed" in response.get_data(as_text=True)


def test_draft_is_hidden_from_the_public(app, client):
    make_campaign(app, open_it=False)
    assert client.get("/campaigns/let-us-in").status_code == 404


def test_concurrent_signers_with_repeated_emails(app, smtp_server):  # noqa: F811
    """50 signers at once, some with the same email: one signature per email, no error page."""
    mail_config(app, smtp_server)
    make_campaign(app, require_confirmation=False, require_moderation=False)
    emails = [f"signer{i % 35}@example.org" for i in range(50)]
    clients = [app.test_client() for _ in emails]
    statuses: list[int] = []
    barrier = threading.Barrier(len(emails))

    def post(index: int) -> None:
        data = {"kind": "individual", "name": f"Signer {index}", "email": emails[index],
                "country": "KE"}  # fmt: skip
        barrier.wait()
        statuses.append(clients[index].post("/campaigns/let-us-in/sign", data=data).status_code)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(emails))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(set(statuses)) == [302]
    with app.app_context():
        total = db.session.scalar(select(func.count()).select_from(Signature))
        assert total == 35
        assert count_signatures(db.session, get_campaign(db.session, "let-us-in")) == 35


# --- a page a cache in front can serve; a form only this site can send ---------------------


def test_public_page_is_cacheable_and_answers_a_repeat_with_304(app, client):
    make_campaign(app)
    first = client.get("/campaigns/let-us-in")
    assert first.status_code == 200
    control = first.cache_control
    assert control.public and control.max_age == app.config["PUBLIC_MAX_AGE"]
    assert control.stale_while_revalidate and control.stale_if_error
    assert {"Cookie", "Accept-Language"} <= set(first.vary)
    assert "Set-Cookie" not in first.headers  # one page for every anonymous reader
    assert 'name="csrf_token"' not in first.get_data(as_text=True)
    again = client.get("/campaigns/let-us-in", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and not again.data
    widget = client.get("/campaigns/let-us-in/widget")
    assert widget.cache_control.public and widget.headers.get("ETag")


def test_organizers_page_is_never_shared_by_a_cache(app, client):
    organizer = make_user(app, "org@example.org")
    make_campaign(app, organizer_id=organizer)
    login(client, "org@example.org")
    response = client.get("/campaigns/let-us-in")
    assert response.status_code == 200
    assert response.cache_control.private and response.cache_control.no_cache
    assert not response.cache_control.public


def test_a_form_sent_from_another_site_is_refused_with_a_page(app, client):
    make_campaign(app)
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"},
                    {"Origin": "null"}):  # fmt: skip
        response = client.post("/campaigns/let-us-in/sign", headers=headers, data={
            "kind": "organization", "name": "Amina", "email": "amina@example.org",
            "organization": "Jonction", "country": "SN"})  # fmt: skip
        assert response.status_code == 403, headers
        assert "another website" in response.get_data(as_text=True)
    same = client.post("/campaigns/let-us-in/sign", headers={
        "Sec-Fetch-Site": "same-origin", "Origin": "http://localhost"}, data={
        "kind": "organization", "name": "Amina", "email": "amina@example.org",
        "organization": "Jonction", "country": "SN"})  # fmt: skip
    assert same.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Signature)) == 1
