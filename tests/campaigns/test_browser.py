"""A signer on a phone: open a sign-on letter, sign, follow the mailed link, confirm."""

from __future__ import annotations

import csv
import io
import subprocess
import unicodedata

import pytest
from flask_babel import force_locale, gettext
from pypdf import PdfReader

from tests.browser import chromium, live_server
from tests.campaigns.helpers import links, make_campaign
from tests.conftest import login, make_user
from tests.smtp import mail_config, smtp_server  # noqa: F401
from toolkit.campaigns.languages import set_translation
from toolkit.campaigns.models import Campaign
from toolkit.extensions import db


def words(app, language: str, message: str) -> str:
    """A string of the interface as a reader of that language sees it."""
    with app.test_request_context(), force_locale(language):
        return gettext(message)


pytestmark = pytest.mark.browser


def test_sign_on_a_phone_and_confirm_from_the_mail(sqlite_app, smtp_server):  # noqa: F811
    mail_config(sqlite_app, smtp_server)
    make_campaign(sqlite_app)
    with live_server(sqlite_app) as base, chromium() as browser:
        sqlite_app.config["BASE_URL"] = base
        context = browser.new_context(viewport={"width": 360, "height": 740}, locale="fr-FR")
        page = context.new_page()
        fr = lambda message: words(sqlite_app, "fr", message)  # noqa: E731 - the browser is French
        page.goto(base + "/campaigns/let-us-in")
        assert page.locator("html").get_attribute("lang") == "fr"
        assert page.get_by_role("heading", name="Let civil society in").is_visible()
        page.get_by_label(fr("An organization")).check()
        page.get_by_role("textbox", name=fr("Your name")).fill("Awa Ndiaye")
        page.get_by_role("textbox", name=fr("Your email")).fill("awa@example.org")
        page.get_by_role("textbox", name=fr("Organization")).fill("Réseau des blogueurs du Sénégal")
        page.get_by_role("combobox", name=fr("Country")).select_option("SN")
        page.get_by_role("button", name=fr("Sign"), exact=True).click()
        assert page.get_by_role("heading", name=fr("Check your email")).is_visible()

        (message,) = smtp_server.wait_for(1)
        confirm_link = next(link for link in links(message) if "/confirm/" in link)
        page.goto(confirm_link)
        page.get_by_role("button", name=fr("Confirm")).click()
        assert page.get_by_role("heading", name=fr("Thank you: your signature counts")).is_visible()
        context.close()


def test_petition_on_a_phone_sign_confirm_and_see_the_count_go_up(sqlite_app, smtp_server):  # noqa: F811
    """A shared petition link on a phone: the progress bar, the form, the mail, the count."""
    mail_config(sqlite_app, smtp_server)
    make_campaign(sqlite_app, "open-drafts", kind="petition", goal=50,
                  require_moderation=False, introduction="Publish the drafts.",
                  field_rules={"country": "required"})  # fmt: skip
    with live_server(sqlite_app) as base, chromium() as browser:
        sqlite_app.config["BASE_URL"] = base
        context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
        page = context.new_page()
        page.goto(base + "/campaigns/open-drafts")
        assert page.locator(".count-line").inner_text().startswith("0 signatures")
        assert page.locator("progress").get_attribute("value") == "0"
        assert page.get_by_role("textbox", name="Organization").count() == 0
        # nothing on the page comes from another site
        assert page.evaluate("document.querySelectorAll('script').length") == 0
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"the page scrolls sideways on a phone ({width}px)"
        page.get_by_role("textbox", name="Your name").fill("Nadia Benali")
        page.get_by_role("textbox", name="Your email").fill("nadia@example.org")
        page.get_by_role("combobox", name="Country").select_option("MA")
        page.get_by_role("button", name="Sign").click()
        assert page.get_by_role("heading", name="Check your email").is_visible()

        (message,) = smtp_server.wait_for(1)
        confirm_link = next(link for link in links(message) if "/confirm/" in link)
        page.goto(confirm_link)
        page.get_by_role("button", name="Confirm").click()
        assert page.get_by_role("heading", name="Thank you: your signature counts").is_visible()

        page.goto(base + "/campaigns/open-drafts")
        assert page.locator(".count-line").inner_text().startswith("1 signature")
        assert page.locator("progress").get_attribute("value") == "1"
        assert "Nadia" in page.locator(".signers").inner_text()
        assert "Benali" not in page.locator(".signers").inner_text()
        context.close()


def test_arabic_interface_is_right_to_left_and_keeps_an_arabic_name(sqlite_app, smtp_server):  # noqa: F811
    """Switch to Arabic, sign a petition with an Arabic name; the name comes back intact."""
    mail_config(sqlite_app, smtp_server)
    organizer = make_user(sqlite_app, "org@example.org")
    campaign_id = make_campaign(sqlite_app, "open-drafts", kind="petition", goal=10,
                                organizer_id=organizer, require_moderation=False,
                                field_rules={"country": "required"})  # fmt: skip
    with sqlite_app.app_context():
        campaign = db.session.get(Campaign, campaign_id)
        set_translation(
            db.session, campaign, "ar", "انشروا المسودات", "نطالب بنشر مسودات المعاهدة."
        )
        db.session.commit()
    ar = lambda message: words(sqlite_app, "ar", message)  # noqa: E731
    name = "ليلى عبد الرحمن"
    with live_server(sqlite_app) as base, chromium() as browser:
        sqlite_app.config["BASE_URL"] = base
        context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
        page = context.new_page()
        page.goto(base + "/campaigns/open-drafts")
        assert page.locator("html").get_attribute("dir") == "ltr"
        page.get_by_role("navigation", name="Language").get_by_role("link", name="العربية").click()
        assert page.locator("html").get_attribute("dir") == "rtl"
        assert page.locator("html").get_attribute("lang") == "ar"
        assert page.get_by_role("heading", name="انشروا المسودات").is_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"the page scrolls sideways on a phone ({width}px)"
        page.get_by_role("textbox", name=ar("Your name")).fill(name)
        page.get_by_role("textbox", name=ar("Your email")).fill("layla@example.org")
        page.get_by_role("combobox", name=ar("Country")).select_option("EG")
        page.get_by_role("button", name=ar("Sign"), exact=True).click()
        assert page.get_by_role("heading", name=ar("Check your email")).is_visible()

        (message,) = smtp_server.wait_for(1)
        assert "انشروا المسودات" in message["Subject"]  # the mail speaks the signer's language
        confirm_link = next(link for link in links(message) if "/confirm/" in link)
        page.goto(confirm_link)
        assert page.locator("html").get_attribute("dir") == "rtl"
        page.get_by_role("button", name=ar("Confirm")).click()
        assert page.get_by_role("heading", name=ar("Thank you: your signature counts")).is_visible()
        context.close()

    client = sqlite_app.test_client()
    login(client, "org@example.org")
    data = client.get("/admin/campaigns/open-drafts/export?shape=full&format=csv").data
    (row,) = csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    assert row["name"] == name and row["language"] == "ar"
    pdf = client.get("/admin/campaigns/open-drafts/letter.pdf?lang=ar")
    assert pdf.status_code == 200
    fonts = subprocess.run(["pdffonts", "-"], input=pdf.data, capture_output=True,
                           check=True).stdout.decode()  # fmt: skip
    assert "Amiri" in fonts
    text = unicodedata.normalize("NFKC", " ".join(p.extract_text() for p in
                                                  PdfReader(io.BytesIO(pdf.data)).pages))  # fmt: skip
    # Shaped Arabic comes back from a PDF as its letters, in reading or visual order.
    first = name.split()[0]
    assert first in text or first[::-1] in text, text
