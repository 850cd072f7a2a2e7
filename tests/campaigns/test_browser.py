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
