"""Reach: the flyer with its QR code, the paper signature sheet, and entering paper signatures."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET

import segno
from pypdf import PdfReader
from sqlalchemy import select

from tests.campaigns.helpers import make_campaign
from tests.conftest import csrf_token, login, make_user
from toolkit.accounts.models import AuditEvent
from toolkit.campaigns.models import Signature
from toolkit.campaigns.paper import campaign_url, paper_counts, qr_svg
from toolkit.campaigns.service import get_campaign
from toolkit.campaigns.signing import SignerDetails, count_signatures, sign
from toolkit.extensions import db

URL = "http://127.0.0.1:5000/campaigns/let-us-in"
PAPER = "/admin/campaigns/let-us-in/paper"


def pdf_text(data: bytes) -> list[str]:
    """The text of each page, with runs of white space folded to one space."""
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(data)).pages]


def web_signature(app, email: str = "amina@example.org", status: str = "approved") -> None:
    """A signature made on the web, through the signing service."""
    with app.app_context():
        campaign = get_campaign(db.session, "let-us-in")
        details = SignerDetails(name="Amina Diallo", email=email, email_normalized=email.lower(),
                                country="SN")  # fmt: skip
        sign(db.session, campaign, details).signature.status = status
        db.session.commit()


def rows(*filled: dict[str, str], note: str = "Nairobi market stall, 2 Dec") -> dict[str, str]:
    """The entry form's fields: ten rows, the given ones filled, the others empty."""
    data = {"note": note}
    for index in range(10):
        values = filled[index] if index < len(filled) else {}
        for name in ("name", "country", "email"):
            data[f"rows-{index}-{name}"] = values.get(name, "")
        if values.get("list_publicly"):
            data[f"rows-{index}-list_publicly"] = "y"
    return data


def post_rows(client, data: dict[str, str]):
    data["csrf_token"] = csrf_token(client, PAPER)
    return client.post(PAPER, data=data)


def test_flyer_and_sheet_carry_the_title_and_the_address(app, client):
    make_campaign(app, kind="petition", introduction="Sign to **open** the conference to all.")
    flyer = client.get("/campaigns/let-us-in/flyer.pdf")
    assert flyer.status_code == 200 and flyer.mimetype == "application/pdf"
    [page] = pdf_text(flyer.data)  # one A4 page
    assert "Let civil society in" in page and URL in page and "open the conference" in page

    sheet = client.get("/campaigns/let-us-in/sheet.pdf")
    assert sheet.status_code == 200 and sheet.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(sheet.data))
    box = reader.pages[0].mediabox
    assert box.width > box.height  # landscape
    [page] = [" ".join(p.extract_text().split()) for p in reader.pages]
    assert "Let civil society in" in page and URL in page and "Page 1 of 1" in page
    assert "Signature" in page and "only this campaign's organizers see it" in page
    assert " 14 15 " in page and " 16 " not in page

    long_sheet = client.get("/campaigns/let-us-in/sheet.pdf?rows=40")
    pages = pdf_text(long_sheet.data)
    assert len(pages) >= 2
    for number, text in enumerate(pages, start=1):  # headings and footer on every page
        assert "Signature" in text and "Country" in text and URL in text
        assert f"Page {number} of {len(pages)}" in text


def test_the_qr_code_carries_the_campaign_address(app, client):
    make_campaign(app)
    app.config["BASE_URL"] = "https://petitions.example.org/"
    expected = "https://petitions.example.org/campaigns/let-us-in"
    with app.test_request_context(), app.app_context():
        assert campaign_url(get_campaign(db.session, "let-us-in")) == expected
    response = client.get("/campaigns/let-us-in/qr.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert "max-age" in response.headers["Cache-Control"]
    root = ET.fromstring(response.data)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert response.data == qr_svg(expected)
    # The same symbol segno draws for that address, and not for another one.
    reference = io.BytesIO()
    segno.make(expected, error="m").save(reference, kind="svg", scale=10, border=4, title=expected)
    assert response.data == reference.getvalue()
    assert qr_svg(expected + "x") != response.data


def test_a_draft_is_hidden_from_the_public_and_shown_to_its_organizer(app, client):
    owner = make_user(app, "owner@example.org")
    make_campaign(app, open_it=False, organizer_id=owner)
    for path in ("flyer.pdf", "sheet.pdf", "qr.svg"):
        assert client.get(f"/campaigns/let-us-in/{path}").status_code == 404, path
    login(client, "owner@example.org")
    response = client.get("/campaigns/let-us-in/qr.svg")
    assert response.status_code == 200 and "no-store" in response.headers["Cache-Control"]
    page = client.get(PAPER)  # no paper entry before the campaign opens
    assert page.status_code == 200 and "Open the campaign first" in page.get_data(as_text=True)
    refused = client.post(PAPER, data={**rows({"name": "A", "country": "KE"}),
                                       "csrf_token": csrf_token(client, PAPER)})  # fmt: skip
    assert refused.status_code == 409
    with app.app_context():
        assert db.session.scalar(select(Signature.id)) is None


def test_paper_entry_adds_approved_paper_signatures(app, client):
    owner = make_user(app, "owner@example.org")
    make_campaign(app, organizer_id=owner)
    web_signature(app)
    login(client, "owner@example.org")
    response = post_rows(client, rows(
        {"name": "王小明", "country": "KE", "list_publicly": "y"},
        {},  # an empty line in the middle is skipped
        {"name": "فاطمة الزهراء", "country": "EG", "email": "Fatma@Example.ORG"},
    ))  # fmt: skip
    assert response.status_code == 302 and response.headers["Location"].endswith(PAPER)
    page = client.get(PAPER).get_data(as_text=True)
    assert "2 paper signature(s) added." in page
    assert "This campaign counts 2 paper signatures" in page
    with app.app_context():
        campaign = get_campaign(db.session, "let-us-in")
        paper = list(db.session.scalars(select(Signature).where(Signature.source == "paper")
                                        .order_by(Signature.id)))  # fmt: skip
        assert [s.name for s in paper] == ["王小明", "فاطمة الزهراء"]
        assert all(s.status == "approved" and s.kind == "individual" for s in paper)
        assert all(s.confirmed_at and s.approved_at for s in paper)
        assert paper[0].email is None and paper[0].email_normalized is None
        assert paper[0].list_publicly and not paper[1].list_publicly
        assert paper[1].email_normalized == "fatma@example.org"
        assert paper[1].extra["paper_note"] == "Nairobi market stall, 2 Dec"
        assert count_signatures(db.session, campaign) == 3
        assert paper_counts(db.session, campaign) == {"web": 1, "paper": 2}
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "signatures.paper_entry")
        )
        assert event.details["count"] == 2 and event.actor == "owner@example.org"
    export = client.get("/admin/campaigns/let-us-in/export?shape=full&format=csv")
    table = list(csv.DictReader(io.StringIO(export.get_data(as_text=True).removeprefix("\ufeff"))))
    sources = {row["name"]: row["source"] for row in table}
    assert sources == {"Amina Diallo": "web", "王小明": "paper", "فاطمة الزهراء": "paper"}


def test_invalid_rows_are_refused_at_their_field_and_nothing_is_saved(app, client):
    owner = make_user(app, "owner@example.org")
    make_campaign(app, organizer_id=owner)
    login(client, "owner@example.org")
    response = post_rows(client, rows(
        {"name": "Valid Person", "country": "KE"},
        {"name": "Bell\x07Ringer", "country": "KE"},
        {"email": "no-name@example.org", "country": "KE"},
        {"name": "Bad Email", "country": "KE", "email": "not an email"},
        {"name": "No Country"},
        {"name": "x" * 201, "country": "KE"},
    ))  # fmt: skip
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Nothing was saved" in page
    assert "Remove the invisible control characters" in page
    assert "Write the signer&#39;s name." in page
    assert "This campaign asks for the country." in page
    assert "Field cannot be longer than 200 characters." in page
    assert 'value="Valid Person"' in page and 'value="no-name@example.org"' in page  # kept
    assert 'aria-invalid="true"' in page
    empty = post_rows(client, rows(note=""))
    assert empty.status_code == 422
    text = empty.get_data(as_text=True)
    assert "every line is empty" in text and "This field is required." in text
    with app.app_context():
        assert db.session.scalar(select(Signature.id)) is None


def test_duplicates_are_named_by_row_and_nothing_is_saved(app, client):
    owner = make_user(app, "owner@example.org")
    make_campaign(app, organizer_id=owner)
    web_signature(app, "amina@example.org", status="pending")
    login(client, "owner@example.org")
    response = post_rows(client, rows(
        {"name": "Fresh Person", "country": "KE", "email": "fresh@example.org"},
        {"name": "Amina D.", "country": "SN", "email": "AMINA@example.org"},
        {"name": "Fresh Again", "country": "KE", "email": "Fresh@Example.org"},
    ))  # fmt: skip
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Row 2 is a duplicate: this email has already signed this campaign." in page
    assert "Row 3 is a duplicate: it has the same email as row 1." in page
    with app.app_context():
        assert db.session.scalar(select(Signature.id).where(Signature.source == "paper")) is None


def test_paper_entry_is_for_the_campaigns_organizers_only(app, client):
    owner = make_user(app, "owner@example.org")
    make_user(app, "other@example.org")
    make_campaign(app, organizer_id=owner)
    response = client.get(PAPER)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    anonymous = client.post(PAPER, data={**rows({"name": "A", "country": "KE"}),
                                         "csrf_token": csrf_token(client, "/login")})  # fmt: skip
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    login(client, "other@example.org")
    assert client.get(PAPER).status_code == 403
    token = csrf_token(client, "/admin/campaigns/")
    assert client.post(PAPER, data={**rows({"name": "A", "country": "KE"}),
                                    "csrf_token": token}).status_code == 403  # fmt: skip
    with app.app_context():
        assert db.session.scalar(select(Signature.id)) is None
