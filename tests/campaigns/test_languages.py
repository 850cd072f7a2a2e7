"""One campaign in several languages: each signer reads theirs, one count, mail and letters in each."""

from __future__ import annotations

import csv
import io
import subprocess

from pypdf import PdfReader

from tests.campaigns.helpers import links, make_campaign, path_of, sign
from tests.conftest import csrf_token, login, make_user
from tests.smtp import mail_config, smtp_server  # noqa: F401
from toolkit.campaigns.languages import set_translation
from toolkit.campaigns.models import Campaign, Signature
from toolkit.campaigns.signing import count_signatures
from toolkit.extensions import db

FRENCH = "Nous, soussignés, demandons que la société civile puisse **suivre la conférence**."
ARABIC = "نحن الموقعين أدناه نطلب أن يتمكن المجتمع المدني من متابعة المؤتمر."
CHINESE = "我们，下列签署者，要求民间社会能够参与会议。"


def campaign_in_three_languages(app, organizer: int) -> int:
    campaign_id = make_campaign(app, organizer_id=organizer, require_moderation=False)
    with app.app_context():
        campaign = db.session.get(Campaign, campaign_id)
        set_translation(db.session, campaign, "fr", "Laissez entrer la société civile", FRENCH)
        set_translation(db.session, campaign, "ar", "دعوا المجتمع المدني يشارك", ARABIC)
        set_translation(db.session, campaign, "zh", "让民间社会参与", CHINESE)
        db.session.commit()
    return campaign_id


def test_signers_read_their_language_and_pool_into_one_count(app, client, smtp_server):  # noqa: F811
    mail_config(app, smtp_server)
    organizer = make_user(app, "org@example.org")
    campaign_id = campaign_in_three_languages(app, organizer)

    page = client.get("/campaigns/let-us-in", headers={"Accept-Language": "fr"})
    html = page.get_data(as_text=True)
    assert "Laissez entrer la société civile" in html and "suivre la conférence" in html
    assert 'lang="fr"' in html and "العربية" in html  # links to its other languages

    arabic = client.get("/campaigns/let-us-in", headers={"Accept-Language": "ar"})
    html = arabic.get_data(as_text=True)
    assert "دعوا المجتمع المدني يشارك" in html
    assert 'class="paper campaign-text" lang="ar" dir="rtl"' in html

    # A language the campaign lacks shows its own text.
    assert "Let civil society in" in client.get(
        "/campaigns/let-us-in", headers={"Accept-Language": "ru"}
    ).get_data(as_text=True)

    client.set_cookie("lang", "fr")
    sign(client, name="Awa Ndiaye", email="awa@example.org", kind="individual")
    client.set_cookie("lang", "ar")
    sign(client, name="ليلى حسن", email="layla@example.org", country="EG", kind="individual")
    client.set_cookie("lang", "en")
    sign(client, name="Jane Doe", email="jane@example.org", country="KE", kind="individual")

    messages = {m["To"]: m for m in smtp_server.wait_for(3)}
    french = messages["awa@example.org"]
    assert "Laissez entrer la société civile" in french["Subject"]
    body = french.get_body(preferencelist=("plain",)).get_content()
    assert "Laissez entrer la société civile" in body
    assert "Thank you for signing" not in body  # the mail itself speaks French
    arabic_mail = messages["layla@example.org"]
    assert "دعوا المجتمع المدني يشارك" in arabic_mail["Subject"]

    for message in messages.values():
        confirm = next(link for link in links(message) if "/confirm/" in link)
        token = csrf_token(client, path_of(confirm))
        assert client.post(path_of(confirm), data={"csrf_token": token}).status_code == 302

    with app.app_context():
        campaign = db.session.get(Campaign, campaign_id)
        assert count_signatures(db.session, campaign) == 3
        languages = sorted(s.language for s in db.session.query(Signature))
        assert languages == ["ar", "en", "fr"]

    # The final letter in each of its languages, every name in one list.
    login(client, "org@example.org")
    for language, words in (("fr", "suivre la conférence"), ("en", "follow and take part")):
        pdf = client.get(f"/admin/campaigns/let-us-in/letter.pdf?lang={language}")
        assert pdf.status_code == 200, pdf.get_data(as_text=True)[:500]
        text = " ".join(
            " ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf.data)).pages
        )
        assert words in text and "Awa Ndiaye" in text and "Jane Doe" in text
    arabic_pdf = client.get("/admin/campaigns/let-us-in/letter.pdf?lang=ar")
    assert arabic_pdf.status_code == 200
    fonts = subprocess.run(["pdffonts", "-"], input=arabic_pdf.data, capture_output=True,
                           check=True).stdout.decode()  # fmt: skip
    assert "Amiri" in fonts

    missing = client.get("/admin/campaigns/let-us-in/letter.pdf?lang=ru")
    assert missing.status_code == 404
    message = missing.get_data(as_text=True)
    assert "is not in" in message and "It is in: English, " in message
    assert all(name in message for name in ("Français", "العربية", "中文"))


def test_organizer_adds_a_language_in_the_browser_form(app, client):
    organizer = make_user(app, "org@example.org")
    make_campaign(app, organizer_id=organizer)
    login(client, "org@example.org")
    url = "/admin/campaigns/let-us-in/languages"
    token = csrf_token(client, url)

    empty = client.post(url, data={"csrf_token": token, "language": "es", "title": "",
                                   "text": ""})  # fmt: skip
    assert empty.status_code == 422
    same = client.post(url, data={"csrf_token": token, "language": "en", "title": "X",
                                  "text": "Y"})  # fmt: skip
    assert same.status_code == 422  # English is the campaign's own language: not offered

    saved = client.post(url, data={"csrf_token": token, "language": "es",
                                   "title": "Que entre la sociedad civil", "text": "Pedimos."})  # fmt: skip
    assert saved.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "Que entre la sociedad civil" in page
    assert "Que entre la sociedad civil" in client.get(
        "/campaigns/let-us-in", headers={"Accept-Language": "es"}
    ).get_data(as_text=True)

    removed = client.post(url, data={"csrf_token": token, "remove": "es"})
    assert removed.status_code == 302
    assert "Que entre la sociedad civil" not in client.get(url).get_data(as_text=True)


def test_cli_translates_and_refuses_bad_values(app, runner, tmp_path):
    make_campaign(app)
    text = tmp_path / "ru.md"
    text.write_text("Мы просим открыть документы конференции.", encoding="utf-8")
    result = runner.invoke(args=["campaigns", "translate", "--campaign", "let-us-in",
                                 "--language", "ru", "--title", "Пустите гражданское общество",
                                 "--text-file", str(text)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "is in: en, ru" in result.output
    bad = runner.invoke(args=["campaigns", "translate", "--campaign", "let-us-in",
                              "--language", "de", "--title", "X", "--text-file", str(text)])  # fmt: skip
    assert bad.exit_code != 0 and "Unknown language 'de'" in bad.output


def test_export_keeps_names_in_all_six_scripts(app, client):
    organizer = make_user(app, "org@example.org")
    make_campaign(app, organizer_id=organizer, require_moderation=False,
                  require_confirmation=False)  # fmt: skip
    names = ["Zoë Ångström", "ليلى حسن", "王小明", "Ольга Петрова", "José Núñez", "Amélie Côté"]
    for number, name in enumerate(names):
        response = sign(client, name=name, email=f"s{number}@example.org", kind="individual",
                        organization="")  # fmt: skip
        assert response.status_code == 302
    login(client, "org@example.org")
    data = client.get("/admin/campaigns/let-us-in/export?shape=full&format=csv").data
    assert data.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert sorted(row["name"] for row in rows) == sorted(names)
