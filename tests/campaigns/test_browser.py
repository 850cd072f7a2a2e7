"""A signer on a phone: open a sign-on letter, sign, follow the mailed link, confirm."""

from __future__ import annotations

import pytest

from tests.browser import chromium, live_server
from tests.campaigns.helpers import links, make_campaign
from tests.smtp import mail_config, smtp_server  # noqa: F401

pytestmark = pytest.mark.browser


def test_sign_on_a_phone_and_confirm_from_the_mail(sqlite_app, smtp_server):  # noqa: F811
    mail_config(sqlite_app, smtp_server)
    make_campaign(sqlite_app)
    with live_server(sqlite_app) as base, chromium() as browser:
        sqlite_app.config["BASE_URL"] = base
        context = browser.new_context(viewport={"width": 360, "height": 740}, locale="fr-FR")
        page = context.new_page()
        page.goto(base + "/campaigns/let-us-in")
        assert page.get_by_role("heading", name="Let civil society in").is_visible()
        page.get_by_label("An organization").check()
        page.get_by_role("textbox", name="Your name").fill("Awa Ndiaye")
        page.get_by_role("textbox", name="Your email").fill("awa@example.org")
        page.get_by_role("textbox", name="Organization").fill("Réseau des blogueurs du Sénégal")
        page.get_by_role("combobox", name="Country").select_option("SN")
        page.get_by_role("button", name="Sign").click()
        assert page.get_by_role("heading", name="Check your email").is_visible()

        (message,) = smtp_server.wait_for(1)
        confirm_link = next(link for link in links(message) if "/confirm/" in link)
        page.goto(confirm_link)
        page.get_by_role("button", name="Confirm").click()
        assert page.get_by_role("heading", name="Thank you: your signature counts").is_visible()
        assert "now has 1 signature" in page.content()
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
