"""A person on a phone fills the letter form in Chromium and downloads the PDF."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from tests.browser import chromium, live_server

pytestmark = pytest.mark.browser


def test_fill_the_form_and_download_the_pdf(sqlite_app, tmp_path):
    with live_server(sqlite_app) as base, chromium() as browser:
        context = browser.new_context(
            viewport={"width": 390, "height": 844}, accept_downloads=True, locale="en-GB"
        )
        page = context.new_page()
        page.goto(base + "/")
        page.get_by_role("link", name="Request to join the national delegation").click()

        page.get_by_label("Country you are writing to").select_option("KE")
        page.get_by_label("Organization name").fill("Kenya ICT Action Network")
        page.get_by_label("Your organization's country").select_option("KE")
        page.get_by_label("Postal address").fill("PO Box 12345\nNairobi")
        page.get_by_label("Contact person").fill("Grace Wanjiru")
        page.get_by_label("Email").fill("grace@example.org")
        page.get_by_label("Proposed representative").fill("Grace Wanjiru")
        page.get_by_label("A paragraph in your own words").fill(
            "Most Kenyans reach the Internet through their phones."
        )
        # A mistake first: the form comes back with the message at the field.
        page.get_by_label("Email").fill("grace@")
        page.get_by_role("button", name="Preview the letter").click()
        assert page.locator("#email-error").inner_text().startswith("There must be something")
        page.get_by_label("Email").fill("grace@example.org")
        page.get_by_role("button", name="Preview the letter").click()

        assert page.get_by_role("heading", name="Read your letter").is_visible()
        assert "Republic of Kenya" in page.locator(".paper").inner_text()
        with page.expect_download() as download_info:
            page.get_by_role("button", name="Download PDF").first.click()
        download = download_info.value
        assert download.suggested_filename.startswith("delegation-request-KE-")
        path = tmp_path / download.suggested_filename
        download.save_as(path)
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(path.read_bytes())).pages)
        assert "Kenya ICT Action Network" in text
        assert "Most Kenyans reach the Internet through their phones." in text
        context.close()
