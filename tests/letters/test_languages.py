"""Every shipped letter in every language: a PDF with no missing glyph, the right faces, the words.

WeasyPrint logs a warning naming each character no font could draw (".notdef glyph rendered");
any such warning fails the test. The text read back must hold words of that language's script.
"""

from __future__ import annotations

import io
import logging
import re
import subprocess
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.conftest import csrf_token
from tests.letters.helpers import delegation_form
from toolkit.documents.html import letter_html
from toolkit.documents.pdf import render_pdf
from toolkit.extensions import db
from toolkit.letters.catalog import LETTER_LANGUAGES, get_catalog
from toolkit.letters.compose import LetterRequest, SenderDetails, compose_letter

ROOT = Path(__file__).resolve().parent.parent.parent
TEMPLATES = ROOT / "letter_templates"
SLUGS = ("delegation-request", "consultation-request", "participation-letter")
# One character class per script: the letter must be written in it, not left in English.
SCRIPTS = {
    "en": r"[A-Za-z]", "fr": r"[éèàçê]", "es": r"[ñáéíóú]", "ru": r"[а-яА-Я]",
    "ar": r"[\u0600-\u06FF]", "zh": r"[\u4e00-\u9fff]",
}  # fmt: skip
FACES = {"ar": "Amiri", "zh": "WenQuanYi"}
DATES = {"en": "20 November 2012", "fr": "20 novembre 2012", "es": "20 de noviembre de 2012",
         "ru": "20 ноября 2012", "zh": "2012年11月20日"}  # fmt: skip
# Names in other scripts in every letter: an Arabic name in a French letter, and so on.
MIXED = "Amina Diallo, ليلى حسن, 王小明, Ольга Петрова, Ngũgĩ wa Thiong'o, नेटवर्क"


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_every_template_is_written_in_all_six_languages(app):
    catalog = get_catalog(TEMPLATES)
    assert not catalog.problems, [str(p) for p in catalog.problems]
    for slug in SLUGS:
        assert catalog.get(slug).languages == LETTER_LANGUAGES, slug
        for language in LETTER_LANGUAGES[1:]:
            localized = catalog.get(slug).localized(language)
            assert localized.title != catalog.get(slug).title, (slug, language)
            assert re.search(SCRIPTS[language], localized.title + localized.purpose)


@pytest.mark.parametrize("language", LETTER_LANGUAGES)
@pytest.mark.parametrize("slug", SLUGS)
def test_letter_renders_with_every_glyph(app, caplog, slug, language):
    catalog = get_catalog(TEMPLATES)
    template = catalog.get(slug)
    fields = {spec.name: "Grace Wanjiru" for spec in template.fields}
    request = LetterRequest(
        template=slug,
        sender=SenderDetails(
            name="Réseau des droits numériques",
            country="SN",
            contact_name="Awa Ndiaye",
            address="BP 123\nDakar",
        ),  # fmt: skip
        recipient_country="SN",
        event="wcit-12",
        language=language,
        letter_date=date(2012, 11, 20),
        fields=fields,
        own_words=f"We are joined by {MIXED}.",
    )
    caplog.set_level(logging.WARNING, logger="weasyprint")
    with app.app_context():
        letter = compose_letter(db.session, catalog, request)
        data = render_pdf(letter_html(letter), timeout=60)

    missing = [r.getMessage() for r in caplog.records if ".notdef" in r.getMessage()]
    assert not missing, missing
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    assert len(re.findall(SCRIPTS[language], text)) > 20, text[:400]
    # The date written as that language writes it (Arabic comes back in visual order).
    if language != "ar":
        assert squeeze(DATES[language]) in squeeze(text)
    fonts = subprocess.run(["pdffonts", "-"], input=data, capture_output=True,
                           check=True).stdout.decode()  # fmt: skip
    for face in FACES.values():  # every letter carries Arabic and Chinese names
        assert face in fonts, fonts
    assert "Amina Diallo" in text


def test_the_form_offers_every_language_and_fills_it_in_french(client):
    page = client.get("/letters/delegation-request").get_data(as_text=True)
    for name in ("Français", "Español", "Русский", "العربية", "中文"):
        assert name in page
    token = csrf_token(client, "/letters/delegation-request")
    response = client.post("/letters/delegation-request/pdf",
                           data={**delegation_form(language="fr", recipient_country="SN"),
                                 "csrf_token": token})  # fmt: skip
    assert response.status_code == 200
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages)
    assert "20 novembre 2012" in text
    assert "République du Sénégal" in " ".join(text.split())


def test_arabic_letter_is_right_to_left_and_chinese_uses_simplified_glyphs(app):
    catalog = get_catalog(TEMPLATES)
    with app.app_context():
        for language, lang, direction in (("ar", "ar", "rtl"), ("zh", "zh-CN", "ltr")):
            letter = compose_letter(db.session, catalog, LetterRequest(
                template="delegation-request", sender=SenderDetails(name="X", country="EG"),
                recipient_country="EG", event="wcit-12", language=language,
                fields={"representative_name": "Y"}))  # fmt: skip
            html = letter_html(letter)
            assert f'<html lang="{lang}" dir="{direction}">' in html


def test_a_language_the_template_lacks_is_explained(client, tmp_path, app):
    page = client.get("/letters/delegation-request?lang=de")
    assert page.status_code == 200
    assert "available in: en, fr, es, ru, ar, zh" in page.get_data(as_text=True)


def test_organizers_override_a_formal_name_per_language(app, runner, client):
    def french_letter() -> str:
        token = csrf_token(client, "/letters/delegation-request")
        response = client.post("/letters/delegation-request/pdf",
                               data={**delegation_form(language="fr", recipient_country="SN"),
                                     "csrf_token": token})  # fmt: skip
        pages = PdfReader(io.BytesIO(response.data)).pages
        return " ".join(" ".join(p.extract_text() for p in pages).split())

    result = runner.invoke(args=["contacts", "formal-name", "--country", "sn", "--language", "fr",
                                 "--name", "  République   du Sénégal (Dakar) "])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "SN in fr: République du Sénégal (Dakar)" in result.output
    assert "République du Sénégal (Dakar)" in french_letter()

    for args, message in ((["--country", "XX", "--language", "fr"], "Unknown country code"),
                          (["--country", "SN", "--language", "de"], "Unknown language 'de'")):  # fmt: skip
        bad = runner.invoke(args=["contacts", "formal-name", *args, "--name", "X"])
        assert bad.exit_code != 0 and message in bad.output

    reset = runner.invoke(args=["contacts", "formal-name", "--country", "SN", "--language", "fr"])
    assert reset.exit_code == 0 and "SN in fr: République du Sénégal" in reset.output
    assert "(Dakar)" not in french_letter()
