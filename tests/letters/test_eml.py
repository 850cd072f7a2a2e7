"""The .eml draft: a message the sender opens and sends from their own program; we send nothing."""

from __future__ import annotations

import email
import email.policy
import io
import re

from pypdf import PdfReader

from tests.conftest import csrf_token
from tests.letters.helpers import delegation_form
from toolkit.contacts.models import ContactPoint
from toolkit.extensions import db
from toolkit.mail.models import OutboxMessage

FORM_URL = "/letters/delegation-request"
SUBJECT = "Civil society"


def post(client, url: str, data: dict):
    return client.post(url, data={**data, "csrf_token": csrf_token(client, FORM_URL)})


def parse(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)


def add_contact_point(app) -> None:
    with app.app_context():
        db.session.add(
            ContactPoint(
                country="KE",
                role="ministry",
                organization="Ministry of Information and Communications",
                addressee_title="Permanent Secretary",
                address="PO Box 00000\nNairobi",
                email="ps@example.org",
                source="https://example.org/source",
                status="verified",
            )
        )
        db.session.commit()


def test_eml_is_a_draft_to_the_contact_point_with_the_pdf(app, client):
    add_contact_point(app)
    response = post(client, FORM_URL + "/eml", delegation_form())
    assert response.status_code == 200
    assert response.mimetype == "message/rfc822"
    assert (
        response.headers["Content-Disposition"]
        == 'attachment; filename="delegation-request-KE-2012-11-20.eml"'
    )
    assert b"\r\n" in response.data  # SMTP line endings, as mail programs expect
    message = parse(response.data)
    assert message["X-Unsent"] == "1"
    assert message["From"] is None  # the sender's own program fills it in
    assert [a.addr_spec for a in message["To"].addresses] == ["ps@example.org"]
    subject = message["Subject"]
    assert subject
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "Kenya ICT Action Network" in body and "Permanent Secretary" in body
    assert "Kenyans rely on mobile Internet for work and school." in body
    assert "<p>" not in body
    attachments = list(message.iter_attachments())
    assert len(attachments) == 1
    pdf = attachments[0]
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_filename() == "delegation-request-KE-2012-11-20.pdf"
    reader = PdfReader(io.BytesIO(pdf.get_content()))
    text = re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))
    assert re.sub(r"\s+", " ", subject) in text
    assert "Grace Wanjiru" in text


def test_eml_without_a_known_address_has_no_to(client):
    response = post(client, FORM_URL + "/eml", delegation_form())
    message = parse(response.data)
    assert message["To"] is None
    assert message["X-Unsent"] == "1"
    assert len(list(message.iter_attachments())) == 1


def test_eml_keeps_non_latin_names(client):
    name = "شبكة الحقوق — 数字权利网络 — Сеть"
    message = parse(post(client, FORM_URL + "/eml", delegation_form(name=name)).data)
    assert name in message.get_body(preferencelist=("plain",)).get_content()


def test_making_the_eml_sends_nothing(app, client):
    add_contact_point(app)
    post(client, FORM_URL + "/eml", delegation_form())
    with app.app_context():
        assert db.session.query(OutboxMessage).count() == 0


def test_bad_input_gives_the_form_again(client):
    response = post(client, FORM_URL + "/eml", delegation_form(email="grace@"))
    assert response.status_code == 422
    assert "There must be something after the @-sign." in response.get_data(as_text=True)


def test_text_and_preview_pages_offer_the_draft(app, client):
    add_contact_point(app)
    text_page = post(client, FORM_URL + "/text", delegation_form()).get_data(as_text=True)
    mailto = text_page.index('href="mailto:ps@example.org')
    draft = text_page.index(f'action="{FORM_URL}/eml"')
    assert mailto < draft and "Open as an email draft (.eml)" in text_page
    assert f'action="{FORM_URL}/docx"' in text_page
    preview = post(client, FORM_URL, delegation_form()).get_data(as_text=True)
    assert f'action="{FORM_URL}/eml"' in preview
