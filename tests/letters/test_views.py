"""The letter pages, through the real app with CSRF on: form, preview, PDF, text, bad input."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from tests.conftest import csrf_token
from tests.letters.helpers import delegation_form
from toolkit.contacts.models import ContactPoint
from toolkit.extensions import db

FORM_URL = "/letters/delegation-request"


def post(client, url: str, data: dict, token_url: str = FORM_URL):
    return client.post(url, data={**data, "csrf_token": csrf_token(client, token_url)})


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_home_lists_the_letters_and_the_event(client):
    page = client.get("/").get_data(as_text=True)
    assert "WCIT-12" in page and "Dubai" in page and "3–14 December 2012" in page
    for slug in ("delegation-request", "consultation-request", "participation-letter"):
        assert f"/letters/{slug}" in page


def test_form_has_labelled_fields_and_preselects_the_country(client):
    page = client.get(FORM_URL + "?country=ke").get_data(as_text=True)
    for name in ("name", "email", "contact_name", "recipient_country", "own_words", "date"):
        assert re.search(rf'<label for="{name}">', page), name
    assert '<option selected value="KE">Kenya</option>' in page
    website = re.search(r'<input[^>]*name="website"[^>]*>', page).group(0)
    assert "required" not in website and 'type="url"' in website
    assert re.search(r'<input[^>]*name="email"[^>]*required[^>]*>', page)
    assert 'name="csrf_token"' in page


@pytest.mark.parametrize(
    "url",
    ["/letters/no-such-letter", FORM_URL + "?country=ZZ", FORM_URL + "?event=wcit-99"],
)
def test_unknown_template_country_or_event_is_a_404_page(client, url):
    response = client.get(url)
    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in response.get_data(as_text=True)


def test_language_the_template_lacks_is_explained(client):
    page = client.get(FORM_URL + "?lang=xx").get_data(as_text=True)
    assert "not yet written in “xx”" in page and "available in: en" in page


def test_post_without_csrf_token_is_refused_with_a_message(client):
    response = client.post(FORM_URL, data=delegation_form())
    assert response.status_code == 400
    assert "Your form expired" in response.get_data(as_text=True)


def test_preview_shows_the_letter_and_remembers_the_sender(client):
    response = post(client, FORM_URL, delegation_form())
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Kenya ICT Action Network" in page
    assert "The Minister responsible for telecommunications" in page
    assert "no national contact point on file for Kenya" in page
    assert "Kenyans rely on mobile Internet" in page
    assert "20 November 2012" in page
    # The next letter needs no retyping.
    form = client.get("/letters/consultation-request").get_data(as_text=True)
    assert 'value="Kenya ICT Action Network"' in form
    assert 'value="grace@example.org"' in form


def test_pdf_download_is_named_and_contains_the_letter(client):
    response = post(client, FORM_URL + "/pdf", delegation_form())
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert (
        response.headers["Content-Disposition"]
        == 'attachment; filename="delegation-request-KE-2012-11-20.pdf"'
    )
    text = pdf_text(response.data)
    assert "Kenya ICT Action Network" in text
    assert "The Minister responsible for telecommunications" in text
    assert "Republic of Kenya" in text
    assert "Grace Wanjiru" in text
    assert PdfReader(io.BytesIO(response.data)).pages[0].mediabox.width == pytest.approx(595, abs=1)


def test_letter_paper_for_countries_that_use_it(client):
    response = post(client, FORM_URL + "/pdf", delegation_form(recipient_country="MX"))
    page = PdfReader(io.BytesIO(response.data)).pages[0]
    assert (round(page.mediabox.width), round(page.mediabox.height)) == (612, 792)


def test_letter_goes_to_the_best_known_contact_point(app, client):
    with app.app_context():
        db.session.add_all(
            [
                ContactPoint(
                    country="KE",
                    role="regulator",
                    organization="Unverified Regulator",
                    email="reg@example.org",
                    source="test",
                    status="unverified",
                ),
                ContactPoint(
                    country="KE",
                    role="ministry",
                    organization="Ministry of Information and Communications",
                    addressee_title="Permanent Secretary",
                    address="PO Box 00000\nNairobi",
                    email="ps@example.org",
                    source="https://example.org/source",
                    status="verified",
                ),
            ]
        )
        db.session.commit()
    page = post(client, FORM_URL, delegation_form()).get_data(as_text=True)
    assert "This letter goes to Ministry of Information and Communications" in page
    assert "Permanent Secretary" in page
    text_page = post(client, FORM_URL + "/text", delegation_form()).get_data(as_text=True)
    assert 'href="mailto:ps@example.org?subject=' in text_page


def test_text_page_without_known_email_has_no_mailto(client):
    response = post(client, FORM_URL + "/text", delegation_form())
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "mailto:" not in page
    assert "We have no email address for this recipient" in page
    download = post(client, FORM_URL + "/text", {**delegation_form(), "download": "1"})
    assert download.mimetype == "text/plain"
    assert "delegation-request-KE-2012-11-20.txt" in download.headers["Content-Disposition"]
    assert "Grace Wanjiru" in download.get_data(as_text=True)


def test_itu_letter_needs_no_recipient_country(client):
    data = delegation_form()
    data.pop("recipient_country")
    url = "/letters/participation-letter"
    response = post(client, url + "/pdf", data, token_url=url)
    assert response.status_code == 200
    assert "participation-letter-ITU-2012-11-20.pdf" in response.headers["Content-Disposition"]
    assert "International Telecommunication Union" in pdf_text(response.data)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"name": ""}, "This field is required."),
        ({"representative_name": ""}, "This field is required."),
        ({"email": "grace@"}, "There must be something after the @-sign."),
        ({"email": "not-an-email"}, "An email address must have an @-sign."),
        ({"website": "javascript:alert(1)"}, "starting with http:// or https://"),
        ({"name": "x" * 201}, "Field cannot be longer than 200 characters."),
        ({"phone": "call me"}, "Use digits, spaces and"),
        ({"recipient_country": "ZZ"}, "Not a valid choice"),
        ({"date": "20/11/2012"}, "Not a valid date value."),
    ],
)
def test_bad_input_returns_the_form_with_the_message_at_the_field(client, changes, message):
    response = post(client, FORM_URL, delegation_form(**changes))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in page
    field = next(iter(changes))
    assert f'id="{field}-error"' in page
    assert f'aria-describedby="{field}-help {field}-error"' in page or (
        f'aria-describedby="{field}-error"' in page
    )


def test_control_characters_are_stripped_and_scripts_kept(client):
    name = "Réseau\x00 des\x07 Droits — شبكة الحقوق — 数字权利网络 — Сеть"
    response = post(client, FORM_URL, delegation_form(name=name))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Réseau des Droits — شبكة الحقوق — 数字权利网络 — Сеть" in page
    assert "\x00" not in page and "\x07" not in page


def test_decomposed_unicode_is_normalised_to_nfc(client):
    decomposed = "Ngu\u0303gi\u0303 Network"
    page = post(client, FORM_URL, delegation_form(name=decomposed)).get_data(as_text=True)
    assert "Ngũgĩ Network" in page


def test_body_over_the_size_limit_is_a_413_page(client):
    response = post(client, FORM_URL, delegation_form(own_words="x" * 300_000))
    assert response.status_code == 413
    assert "larger than the 256 KB" in response.get_data(as_text=True)


def test_hostile_html_in_a_field_is_shown_as_text(client):
    hostile = '<img src="file:///etc/passwd"><script>alert(1)</script>'
    page = post(client, FORM_URL, delegation_form(own_words=hostile)).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_security_headers_on_every_page(client):
    response = client.get("/")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
