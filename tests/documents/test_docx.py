"""DOCX copies of letters: built with python-docx and read back with it, nothing mocked."""

from __future__ import annotations

import zipfile
from dataclasses import replace
from datetime import date
from io import BytesIO

import pytest
from docx import Document
from docx.oxml.ns import qn
from docx.shared import Mm
from markupsafe import Markup
from sqlalchemy import select

from tests.campaigns.helpers import make_campaign
from tests.conftest import csrf_token, login, make_user
from tests.letters.helpers import delegation_form
from toolkit.accounts.models import AuditEvent
from toolkit.campaigns.final_letter import (
    CountryGroup,
    CountryTotal,
    FinalLetter,
    PetitionDelivery,
    PetitionSigners,
    Signatory,
    SignatoryList,
)
from toolkit.campaigns.models import Signature
from toolkit.campaigns.service import get_campaign
from toolkit.config import PROJECT_ROOT
from toolkit.contacts.directory import Recipient
from toolkit.db import utcnow
from toolkit.documents.docx import MIMETYPE, final_letter_docx, letter_docx, petition_docx
from toolkit.extensions import db
from toolkit.letters.catalog import get_catalog
from toolkit.letters.compose import Letter
from toolkit.letters.context import SAMPLE_EVENT, SenderView
from toolkit.letters.fill import FilledLetter

BODY = Markup(
    "<p>We write ahead of <strong>WCIT-12</strong> in Dubai.</p>\n"
    "<p>Please include <em>civil society</em> in the delegation:</p>\n"
    "<ul><li>open <strong>documents</strong></li><li>public consultation</li></ul>\n"
    "<ol><li>first step</li><li>second step</li></ol>\n"
    "<p>With &lt;thanks&gt; &amp; respect.</p>"
)

SENDER = SenderView(
    name="Kenya ICT Action Network",
    description="A coalition for an open Internet.",
    website="https://example.org",
    address=("PO Box 12345", "Nairobi"),
    contact_name="Grace Wanjiru",
    contact_role="Coordinator",
    email="grace@example.org",
    phone="+254 20 123 4567",
    country_code="KE",
    country_name="Kenya",
)

RECIPIENT = Recipient(
    kind="government",
    country_code="KE",
    country_name="Kenya",
    organization="Ministry of Information and Communications",
    name="",
    title="Permanent Secretary",
    address_lines=("Permanent Secretary", "Ministry of Information and Communications", "Nairobi"),
    email="ps@example.org",
    has_contact_point=True,
)


def make_letter(**changes: object) -> Letter:
    template = get_catalog(PROJECT_ROOT / "letter_templates").get("delegation-request")
    letter = Letter(
        template=template,
        language="en",
        sender=SENDER,
        recipient=RECIPIENT,
        event=SAMPLE_EVENT,
        letter_date=date(2012, 11, 20),
        date_text="20 November 2012",
        filled=FilledLetter(
            subject="Civil society in the WCIT-12 delegation",
            salutation="Dear Permanent Secretary,",
            body=BODY,
            closing="Yours sincerely,",
        ),
        page_size="A4",
    )
    return replace(letter, **changes)


def read(data: bytes):
    assert data[:4] == b"PK\x03\x04"
    assert "word/document.xml" in zipfile.ZipFile(BytesIO(data)).namelist()
    return Document(BytesIO(data))


def texts(document) -> list[str]:
    return [p.text for p in document.paragraphs]


def test_letter_has_the_pdf_content_in_the_pdf_order():
    document = read(letter_docx(make_letter()))
    lines = texts(document)
    expected = [
        "Kenya ICT Action Network",
        "A coalition for an open Internet.",
        "PO Box 12345",
        "Nairobi",
        "Kenya",
        "grace@example.org · +254 20 123 4567 · https://example.org",
        "20 November 2012",
        "Permanent Secretary",
        "Ministry of Information and Communications",
        "Nairobi",
        "Civil society in the WCIT-12 delegation",
        "Dear Permanent Secretary,",
        "We write ahead of WCIT-12 in Dubai.",
        "Please include civil society in the delegation:",
        "open documents",
        "public consultation",
        "first step",
        "second step",
        "With <thanks> & respect.",
        "Yours sincerely,",
        "Grace Wanjiru",
        "Coordinator",
        "Kenya ICT Action Network",
    ]
    assert lines == expected
    styles = {p.text: p.style.name for p in document.paragraphs}
    assert styles["Civil society in the WCIT-12 delegation"] == "Subject"
    assert styles["20 November 2012"] == "Letter Date"
    assert styles["Grace Wanjiru"] == "Signer Name"


def test_body_html_becomes_runs_and_list_paragraphs_not_markup():
    document = read(letter_docx(make_letter()))
    by_text = {p.text: p for p in document.paragraphs}
    first = by_text["We write ahead of WCIT-12 in Dubai."]
    assert [(r.text, bool(r.bold)) for r in first.runs] == [
        ("We write ahead of ", False),
        ("WCIT-12", True),
        (" in Dubai.", False),
    ]
    italic = [
        r.text for r in by_text["Please include civil society in the delegation:"].runs if r.italic
    ]
    assert italic == ["civil society"]
    assert by_text["open documents"].style.name == "List Bullet"
    assert [r.text for r in by_text["open documents"].runs if r.bold] == ["documents"]
    assert by_text["public consultation"].style.name == "List Bullet"
    assert by_text["first step"].style.name == "List Number"
    assert by_text["second step"].style.name == "List Number"
    xml = document.element.xml
    assert "<strong>" not in xml and "&lt;p&gt;" not in xml and "&lt;li&gt;" not in xml


def test_each_numbered_list_starts_again_at_one():
    body = Markup("<ol><li>a</li><li>b</li></ol><p>between</p><ol><li>c</li></ol>")
    filled = replace(make_letter().filled, body=body)
    document = read(letter_docx(make_letter(filled=filled)))
    nums = {
        p.text: p._p.pPr.numPr.numId.val for p in document.paragraphs if p.text in ("a", "b", "c")
    }
    assert nums["a"] == nums["b"] != nums["c"]


def test_page_language_and_properties():
    document = read(letter_docx(make_letter()))
    section = document.sections[0]
    assert abs(section.page_width - Mm(210)) < Mm(1) and abs(section.page_height - Mm(297)) < Mm(1)
    lang = document.styles["Normal"].element.rPr.find(qn("w:lang"))
    assert lang.get(qn("w:val")) == "en-GB"
    assert document.core_properties.title == "Civil society in the WCIT-12 delegation"
    assert document.core_properties.language == "en-GB"
    assert document.core_properties.author == "Kenya ICT Action Network"
    letter_paper = read(letter_docx(make_letter(page_size="Letter"))).sections[0]
    assert abs(letter_paper.page_width - Mm(215.9)) < Mm(1)


@pytest.mark.parametrize(
    "language, bidi",
    [("ar", True), ("ru", False), ("zh", False)],
)
def test_other_languages_are_set_on_the_styles(language, bidi):
    document = read(letter_docx(make_letter(language=language)))
    normal = document.styles["Normal"].element
    lang = normal.rPr.find(qn("w:lang"))
    assert lang.get(qn("w:val")).startswith(language)
    assert (normal.pPr.find(qn("w:bidi")) is not None) is bidi
    fonts = normal.rPr.find(qn("w:rFonts"))
    assert fonts.get(qn("w:eastAsia")) == "Microsoft YaHei"  # Chinese text, in any letter
    assert fonts.get(qn("w:cs")) == ("Amiri" if language == "ar" else "DejaVu Sans")
    if language == "zh":
        assert lang.get(qn("w:eastAsia")) == "zh-CN"


def test_non_latin_text_is_kept_exactly():
    names = {
        "name": "شبكة الحقوق الرقمية",
        "contact_name": "王小明",
        "contact_role": "Координатор",
    }
    body = Markup("<p>Мы просим <strong>открытости</strong>. 我们请求透明。 نطلب الشفافية.</p>")
    letter = make_letter(
        sender=replace(SENDER, **names),
        filled=replace(make_letter().filled, body=body, subject="Открытость — 透明 — الشفافية"),
        language="ar",
    )
    lines = texts(read(letter_docx(letter)))
    for text in (*names.values(), "Открытость — 透明 — الشفافية"):
        assert text in lines
    assert "Мы просим открытости. 我们请求透明。 نطلب الشفافية." in lines


def test_links_line_breaks_and_headings():
    body = Markup(
        '<h2>Why</h2><p>See <a href="https://example.org/wcit">the analysis</a>,<br>'
        "and more.</p><blockquote><p>A quote.</p></blockquote>"
    )
    document = read(letter_docx(make_letter(filled=replace(make_letter().filled, body=body))))
    by_text = {p.text: p for p in document.paragraphs}
    assert by_text["Why"].style.name == "Heading 2"
    assert "See the analysis,\nand more." in by_text
    assert by_text["A quote."].style.name == "Quote"
    links = [r.target_ref for r in document.part.rels.values() if r.reltype.endswith("/hyperlink")]
    assert links == ["https://example.org/wcit"]


def test_a_letter_with_signatories_lists_them():
    letter = make_letter(
        signatories=(Signatory("Jonction", ""), Signatory("Anna Berg", "Univ. Oslo"), "Zoë")
    )
    lines = texts(read(letter_docx(letter)))
    assert lines[lines.index("Signatories") + 1 :] == ["Jonction", "Anna Berg (Univ. Oslo)", "Zoë"]


def final_letter(**changes: object) -> FinalLetter:
    listing = SignatoryList(
        groups=(
            CountryGroup("Kenya", (Signatory("KICTANet", ""), Signatory("Ushahidi", ""))),
            CountryGroup("Senegal", (Signatory("Jonction", ""),)),
        ),
        individuals=(
            Signatory("Ольга Петрова", "Researcher, Russian Federation"),
            Signatory("王小明", ""),
        ),
        total=5,
    )
    values = {
        "title": "Let civil society in",
        "language": "en",
        "addressee": "To the Secretary-General\nInternational Telecommunication Union",
        "text_html": "<p>We, the undersigned, ask to <strong>take part</strong>.</p>",
        "signatories": listing,
        "letter_date": date(2012, 11, 20),
        "date_text": "20 November 2012",
    }
    values.update(changes)
    return FinalLetter(**values)


def test_final_letter_lists_organizations_by_country_then_individuals():
    document = read(final_letter_docx(final_letter()))
    lines = texts(document)
    assert lines == [
        "20 November 2012",
        "To the Secretary-General",
        "International Telecommunication Union",
        "Let civil society in",
        "We, the undersigned, ask to take part.",
        "Signatories",
        "5 signatories",
        "Organizations",
        "Kenya",
        "KICTANet",
        "Ushahidi",
        "Senegal",
        "Jonction",
        "Individuals",
        "Affiliations are given for identification only.",
        "Ольга Петрова (Researcher, Russian Federation)",
        "王小明",
    ]
    styles = {p.text: p.style.name for p in document.paragraphs}
    assert styles["Kenya"] == styles["Senegal"] == "Heading 4"
    assert styles["Organizations"] == styles["Individuals"] == "Heading 3"
    assert styles["Let civil society in"] == "Heading 1"
    assert document.core_properties.title == "Let civil society in"


def test_final_letter_uses_the_labels_given():
    labels = {
        "signatories": "Signataires",
        "total": "5 signataires",
        "organizations": "Organisations",
        "individuals": "Personnes",
        "affiliation_note": "Les affiliations sont données à titre indicatif.",
    }
    document = read(final_letter_docx(final_letter(language="fr"), labels=labels))
    lines = texts(document)
    for label in labels.values():
        assert label in lines
    assert "Signatories" not in lines
    assert document.core_properties.language == "fr-FR"


def test_petition_delivery():
    delivery = PetitionDelivery(
        title="Open the WCIT",
        language="en",
        addressee="To the governments of the Member States of the ITU",
        introduction_html="<p>Publish the documents.</p>",
        text_html="<p>We ask for openness.</p>",
        signers=PetitionSigners(
            total=1234,
            paper=12,
            by_country=(CountryTotal("Kenya", 1200), CountryTotal("Senegal", 34)),
            names=(Signatory("Amina Diallo", "Senegal"),),
        ),
        date_text="20 November 2012",
    )
    document = read(petition_docx(delivery))
    lines = texts(document)
    assert lines[:5] == [
        "20 November 2012",
        "To the governments of the Member States of the ITU",
        "Open the WCIT",
        "Publish the documents.",
        "We ask for openness.",
    ]
    assert "1,234 people signed this petition. Online signers confirmed from their own email " \
        "address; 12 signed on paper." in lines  # fmt: skip
    rows = [[cell.text for cell in row.cells] for row in document.tables[0].rows]
    assert rows == [["Kenya", "1,200"], ["Senegal", "34"]]
    assert lines[-1] == "Amina Diallo (Senegal)"


# -- through the web ---------------------------------------------------------------------------

FORM_URL = "/letters/delegation-request"


def post(client, url: str, data: dict):
    return client.post(url, data={**data, "csrf_token": csrf_token(client, FORM_URL)})


def test_docx_download_is_named_and_holds_the_letter(client):
    response = post(client, FORM_URL + "/docx", delegation_form())
    assert response.status_code == 200
    assert response.mimetype == MIMETYPE
    assert (
        response.headers["Content-Disposition"]
        == 'attachment; filename="delegation-request-KE-2012-11-20.docx"'
    )
    lines = texts(read(response.data))
    assert lines[0] == "Kenya ICT Action Network"
    assert "The Minister responsible for telecommunications" in lines
    assert "20 November 2012" in lines
    assert "Grace Wanjiru" in lines
    assert any("Kenyans rely on mobile Internet for work and school." in line for line in lines)


def test_the_preview_offers_the_docx_next_to_the_pdf(client):
    page = post(client, FORM_URL, delegation_form()).get_data(as_text=True)
    after_pdf = page.split(f'action="{FORM_URL}/pdf"', 1)[1]
    assert after_pdf.split("<form", 1)[1].startswith(f' method="post" action="{FORM_URL}/docx"')
    assert "Download an editable copy (DOCX)" in page


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"name": ""}, "This field is required."),
        ({"email": "not-an-email"}, "An email address must have an @-sign."),
        ({"date": "20/11/2012"}, "Not a valid date value."),
    ],
)
def test_bad_input_gives_the_form_again_like_the_pdf_route(client, changes, message):
    for route in ("/pdf", "/docx"):
        response = post(client, FORM_URL + route, delegation_form(**changes))
        assert response.status_code == 422, route
        page = response.get_data(as_text=True)
        assert message in page and f'id="{next(iter(changes))}-error"' in page


def test_unknown_letter_is_a_404(client):
    response = post(client, "/letters/no-such-letter/docx", delegation_form())
    assert response.status_code == 404


def add_signature(app, name: str, country: str, kind: str = "individual", **extra: str) -> None:
    with app.app_context():
        campaign = get_campaign(db.session, "let-us-in")
        email = f"{abs(hash(name))}@example.org"
        db.session.add(Signature(campaign_id=campaign.id, kind=kind, name=name, email=email,
                                 email_normalized=email, country=country, status="approved",
                                 list_publicly=True, confirmed_at=utcnow(), approved_at=utcnow(),
                                 **extra))  # fmt: skip
        db.session.commit()


def test_admin_final_letter_docx_groups_signatories_and_is_audited(app, client):
    owner = make_user(app, "owner@example.org")
    make_campaign(app, organizer_id=owner)
    add_signature(app, "Jonction", "SN", kind="organization", organization="Jonction")
    add_signature(app, "KICTANet", "KE", kind="organization", organization="KICTANet")
    add_signature(app, "Ольга Петрова", "RU", role="Researcher")
    add_signature(app, "عبد الله الشريف", "EG")
    login(client, "owner@example.org")
    response = client.get("/admin/campaigns/let-us-in/letter.docx")
    assert response.status_code == 200 and response.mimetype == MIMETYPE
    assert 'filename="let-us-in-signed.docx"' in response.headers["Content-Disposition"]
    lines = texts(read(response.data))
    assert lines[lines.index("Organizations") :] == [
        "Organizations",
        "Kenya",
        "KICTANet",
        "Senegal",
        "Jonction",
        "Individuals",
        "Affiliations are given for identification only.",
        "Ольга Петрова (Researcher, Russia)",
        "عبد الله الشريف (Egypt)",
    ]
    assert "4 signatories" in lines and "Let civil society in" in lines
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "campaigns.final_letter")
        ).all()
        assert [e.details["format"] for e in events] == ["docx"]


def test_admin_petition_docx_is_the_delivery_document(app, client):
    owner = make_user(app, "owner@example.org")
    make_campaign(app, organizer_id=owner, kind="petition", goal=100,
                  introduction="Publish every draft.")  # fmt: skip
    add_signature(app, "Amina Diallo", "SN")
    add_signature(app, "王小明", "CN")
    login(client, "owner@example.org")
    document = read(client.get("/admin/campaigns/let-us-in/letter.docx").data)
    lines = texts(document)
    assert "Publish every draft." in lines and "2 people signed this petition." in lines
    assert {row.cells[0].text for row in document.tables[0].rows} == {"Senegal", "China"}
    assert "王小明 (China)" in lines


def test_admin_docx_is_for_the_campaigns_own_organizers(app, client):
    owner = make_user(app, "owner@example.org")
    make_user(app, "other@example.org")
    make_campaign(app, organizer_id=owner)
    response = client.get("/admin/campaigns/let-us-in/letter.docx")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    login(client, "other@example.org")
    assert client.get("/admin/campaigns/let-us-in/letter.docx").status_code == 403
