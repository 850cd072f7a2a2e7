"""Sending a sign-on letter to governments, through a real SMTP server."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from io import BytesIO

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from tests.campaigns.helpers import make_campaign
from tests.conftest import csrf_token, login, make_user
from tests.smtp import mail_config, smtp_server  # noqa: F401
from toolkit.campaigns.models import Campaign, Delivery, Signature
from toolkit.contacts.models import ContactPoint
from toolkit.db import utcnow
from toolkit.extensions import db
from toolkit.jobs import wait_for_jobs
from toolkit.mail.outbox import wait_for_deliveries

ADDRESSEES = {"KE": "Eng. Wanjiru Kamau", "SN": "Mme Awa Ndiaye", "BR": "Sr. João Silva"}
BATCH_RE = re.compile(r'name="batch" type="hidden" value="([^"]+)"')


@pytest.fixture(autouse=True)
def jobs_dir(app, tmp_path) -> None:
    """The sending jobs' files go to the test's folder, never the real instance folder."""
    app.config["JOBS_DIR"] = str(tmp_path / "jobs")


def setup_campaign(app) -> None:
    """A closed sign-on letter with signatories, and contact points in five countries."""
    organizer = make_user(app, "org@example.org")
    make_user(app, "other@example.org")
    campaign_id = make_campaign(app, "open-the-itu", organizer_id=organizer)
    with app.app_context():
        db.session.add_all(
            Signature(campaign_id=campaign_id, kind="organization", name=f"Person {i}",
                      organization=f"Network {i}", email=f"s{i}@example.org",
                      email_normalized=f"s{i}@example.org", country=code, status="approved",
                      confirmed_at=utcnow(), approved_at=utcnow())
            for i, code in enumerate(["KE", "SN", "BR"])
        )  # fmt: skip
        for code, name in ADDRESSEES.items():
            db.session.add(ContactPoint(country=code, role="ministry", organization=f"Ministry {code}",
                                        addressee_name=name, email=f"itu@gov-{code.lower()}.example",
                                        source="https://example.org/source", status="verified"))  # fmt: skip
        db.session.add(ContactPoint(country="FR", role="ministry", organization="Ministère",
                                    email="itu@gov-fr.example", source="https://example.org",
                                    status="unverified"))  # fmt: skip
        db.session.add(ContactPoint(country="DE", role="ministry", organization="Ministerium",
                                    email="", source="https://example.org", status="verified"))  # fmt: skip
        db.session.get(Campaign, campaign_id).state = "closed"
        db.session.commit()


def review(client, codes: str, resend: bool = False):
    data = {"countries": "codes", "codes": codes, "reply_to": "coalition@example.org",
            "csrf_token": csrf_token(client, "/admin/campaigns/open-the-itu/send")}  # fmt: skip
    if resend:
        data["resend"] = "y"
    return client.post("/admin/campaigns/open-the-itu/send", data=data)


def confirm(client, page: str, codes: str, resend: bool = False):
    data = {"countries": "codes", "codes": codes, "reply_to": "coalition@example.org",
            "batch": BATCH_RE.search(page).group(1),
            "csrf_token": csrf_token(client, "/admin/campaigns/open-the-itu/send")}  # fmt: skip
    if resend:
        data["resend"] = "y"
    response = client.post("/admin/campaigns/open-the-itu/send/confirm", data=data)
    assert wait_for_jobs(60)
    assert wait_for_deliveries(30)
    return response


def test_each_country_gets_one_message_with_its_own_letter(app, client, smtp_server):  # noqa: F811
    mail_config(app, smtp_server)
    app.config["MAIL_BATCH_INTERVAL"] = 0
    setup_campaign(app)
    login(client, "org@example.org")
    page = review(client, "KE, SN, BR, FR, DE")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "3 countries will receive the letter." in text
    assert "2 countries cannot receive it by email." in text
    assert "France (FR)" in text and "Germany (DE)" in text
    assert "itu@gov-ke.example" in text and "coalition@example.org" in text
    with app.app_context():  # reviewing changes nothing
        assert db.session.scalar(select(func.count()).select_from(Delivery)) == 0

    response = confirm(client, text, "KE, SN, BR, FR, DE")
    assert response.status_code == 302
    messages = smtp_server.wait_for(3)
    assert len(messages) == 3
    by_recipient = {str(m["To"]): m for m in messages}
    assert set(by_recipient) == {f"itu@gov-{c.lower()}.example" for c in ADDRESSEES}
    for code, name in ADDRESSEES.items():
        message = by_recipient[f"itu@gov-{code.lower()}.example"]
        assert message["Reply-To"] == "coalition@example.org"
        (attachment,) = list(message.iter_attachments())
        assert attachment.get_content_type() == "application/pdf"
        assert attachment.get_filename() == f"{code}-open-the-itu.pdf"
        data = attachment.get_content()
        pdf_text = " ".join(p.extract_text() for p in PdfReader(BytesIO(data)).pages)
        assert name in pdf_text
        others = [n for c, n in ADDRESSEES.items() if c != code]
        assert not any(other in pdf_text for other in others)
        assert "Network 0" in pdf_text  # the signatories are in every letter
        body = message.get_body(preferencelist=("plain",)).get_content()
        assert name in body and "3 signatories" in body
        with app.app_context():
            row = db.session.scalar(select(Delivery).where(Delivery.country == code))
            assert row.sha256 == hashlib.sha256(data).hexdigest()

    page = client.get("/admin/campaigns/open-the-itu/deliveries").get_data(as_text=True)
    assert "sent: 3" in page and "skipped: 2" in page
    report = client.get("/admin/campaigns/open-the-itu/deliveries.csv")
    rows = list(csv.DictReader(io.StringIO(report.get_data(as_text=True).lstrip("\ufeff"))))
    assert {(r["country"], r["status"]) for r in rows} == {
        ("KE", "sent"),
        ("SN", "sent"),
        ("BR", "sent"),
        ("FR", "skipped"),
        ("DE", "skipped"),
    }
    assert all(r["sent_by"] == "org@example.org" for r in rows)
    assert {r["reason"] for r in rows if r["status"] == "skipped"} == {
        "no verified email address for its contact point"
    }


def test_sending_again_needs_an_explicit_choice(app, client, smtp_server):  # noqa: F811
    mail_config(app, smtp_server)
    app.config["MAIL_BATCH_INTERVAL"] = 0
    setup_campaign(app)
    login(client, "org@example.org")
    confirm(client, review(client, "KE").get_data(as_text=True), "KE")
    assert len(smtp_server.wait_for(1)) == 1

    page = review(client, "KE").get_data(as_text=True)
    assert "0 countries will receive the letter." in page
    assert "1 country received it before and will be skipped." in page
    assert "/send/confirm" not in page  # nothing to confirm

    page = review(client, "KE", resend=True).get_data(as_text=True)
    assert "1 country will receive the letter." in page
    confirm(client, page, "KE", resend=True)
    assert len(smtp_server.wait_for(2)) == 2
    client.get("/admin/campaigns/open-the-itu/deliveries")  # brings statuses up to date
    with app.app_context():
        rows = db.session.scalars(select(Delivery).order_by(Delivery.id)).all()
        assert [(r.country, r.status, r.resend) for r in rows] == [
            ("KE", "sent", False),
            ("KE", "sent", True),
        ]


def test_a_second_click_on_confirm_sends_nothing_more(app, client, smtp_server):  # noqa: F811
    mail_config(app, smtp_server)
    app.config["MAIL_BATCH_INTERVAL"] = 0
    setup_campaign(app)
    login(client, "org@example.org")
    page = review(client, "SN").get_data(as_text=True)
    confirm(client, page, "SN")
    again = confirm(client, page, "SN")
    assert again.status_code == 302
    follow = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "already started" in follow
    assert len(smtp_server.wait_for(1)) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Delivery)) == 1


def test_bad_choices_are_refused_with_a_message(app, client):
    setup_campaign(app)
    login(client, "org@example.org")
    for codes, message in [("", "Choose the countries"), ("XX, KE", "XX"),
                           ("DE", "can receive")]:  # fmt: skip
        response = review(client, codes)
        text = response.get_data(as_text=True)
        if codes == "DE":  # a valid choice where nobody can receive it: said plainly
            assert "None of the chosen countries can receive the letter by email." in text
            continue
        assert response.status_code == 422, codes
        assert message in text, codes
    data = {"countries": "Atlantis", "reply_to": "coalition@example.org",
            "csrf_token": csrf_token(client, "/admin/campaigns/open-the-itu/send")}  # fmt: skip
    response = client.post("/admin/campaigns/open-the-itu/send", data=data)
    assert response.status_code == 422


def test_only_the_campaigns_organizers_may_send(app, client):
    setup_campaign(app)
    paths = ["/admin/campaigns/open-the-itu/send", "/admin/campaigns/open-the-itu/deliveries",
             "/admin/campaigns/open-the-itu/deliveries.csv"]  # fmt: skip
    for path in paths:
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    login(client, "other@example.org")
    for path in paths:
        assert client.get(path).status_code == 403
    response = client.post("/admin/campaigns/open-the-itu/send/confirm", data={
        "csrf_token": csrf_token(client, "/admin/")})  # fmt: skip
    assert response.status_code == 403
    assert not re.search(r"/send", client.get("/campaigns/open-the-itu").get_data(as_text=True))


def test_a_sending_run_again_queues_no_second_message(app, client, smtp_server):  # noqa: F811
    """A job retried after its worker died runs from the start: countries already queued are
    not queued again, and a country left half-way (no message, still preparing) gets one."""
    from toolkit.campaigns.models import DeliveryStatus
    from toolkit.campaigns.sending import _deliver
    from toolkit.jobs import get_job, start_job
    from toolkit.mail.models import OutboxMessage

    mail_config(app, smtp_server)
    app.config["MAIL_BATCH_INTERVAL"] = 0
    setup_campaign(app)
    login(client, "org@example.org")
    page = review(client, "KE, SN, BR").get_data(as_text=True)
    confirm(client, page, "KE, SN, BR")
    assert len(smtp_server.wait_for(3)) == 3
    with app.app_context():
        rows = db.session.scalars(select(Delivery).order_by(Delivery.country)).all()
        batch, campaign_id = rows[0].batch, rows[0].campaign_id
        # As a worker killed between two countries leaves it: SN has no message yet.
        senegal = next(row for row in rows if row.country == "SN")
        db.session.delete(db.session.get(OutboxMessage, senegal.outbox_message_id))
        senegal.outbox_message_id, senegal.status = None, DeliveryStatus.PREPARING.value
        db.session.commit()

    job_id = start_job(app, "campaign-send", _deliver, campaign_id, batch, "coalition@example.org")
    assert wait_for_jobs(60) and wait_for_deliveries(30)
    assert get_job(app, job_id).state == "done"
    messages = smtp_server.wait_for(4)
    assert sorted(str(m["To"]) for m in messages) == [
        "itu@gov-br.example", "itu@gov-ke.example", "itu@gov-sn.example", "itu@gov-sn.example"
    ]  # fmt: skip
    start_job(app, "campaign-send", _deliver, campaign_id, batch, "coalition@example.org")
    assert wait_for_jobs(60) and wait_for_deliveries(30)
    client.get("/admin/campaigns/open-the-itu/deliveries")  # brings statuses up to date
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 3
        statuses = {row.country: row.status for row in db.session.scalars(select(Delivery))}
    assert statuses == {"BR": "sent", "KE": "sent", "SN": "sent"}
    assert len(smtp_server.messages) == 4  # the three first, and Senegal's once more
