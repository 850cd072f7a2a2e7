"""The interface in six languages: choosing, switching, remembering, right-to-left, plurals, dates."""

from __future__ import annotations

from datetime import date

import pytest
from flask_babel import force_locale, format_date, gettext, ngettext

from toolkit.i18n import SUPPORTED_LOCALES


def translated(app, language: str, message: str) -> str:
    with app.test_request_context(), force_locale(language):
        return gettext(message)


@pytest.mark.parametrize("language", [code for code in SUPPORTED_LOCALES if code != "en"])
def test_accept_language_picks_the_interface_language(app, client, language):
    expected = translated(app, language, "Skip to content")
    assert expected != "Skip to content"  # the catalog is compiled and has the string

    page = client.get("/", headers={"Accept-Language": f"{language};q=0.9, en;q=0.5"})

    html = page.get_data(as_text=True)
    lang = "zh-CN" if language == "zh" else language
    assert f'<html lang="{lang}" dir="{"rtl" if language == "ar" else "ltr"}">' in html
    assert expected in html


def test_regional_variants_fall_back_to_their_language(client):
    html = client.get("/", headers={"Accept-Language": "es-MX, es;q=0.8"}).get_data(as_text=True)
    assert '<html lang="es" dir="ltr">' in html


@pytest.mark.parametrize("header", ["xx", "tlh-KX", "*", "", "de;q=abc, !!!"])
def test_unsupported_languages_fall_back_to_english(client, header):
    response = client.get("/", headers={"Accept-Language": header})
    assert response.status_code == 200
    assert '<html lang="en" dir="ltr">' in response.get_data(as_text=True)


def test_switcher_on_every_page_remembers_the_choice(app, client):
    page = client.get("/campaigns/").get_data(as_text=True)
    assert 'href="/language/ar?next=/campaigns/"' in page
    assert 'lang="ar"' in page and "العربية" in page and "Français" in page

    response = client.get("/language/ar?next=/campaigns/")
    assert response.status_code == 302 and response.headers["Location"] == "/campaigns/"
    assert "lang=ar" in response.headers["Set-Cookie"]
    assert "HttpOnly" in response.headers["Set-Cookie"]

    # Remembered, and stronger than the browser's own preference.
    html = client.get("/", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in html
    assert translated(app, "ar", "Skip to content") in html
    assert 'aria-current="true">العربية' in html


@pytest.mark.parametrize("code", ["xx", "EN-gb", "zz-ZZ", "ar%00"])
def test_switching_to_an_unknown_code_falls_back_to_english(client, code):
    response = client.get(f"/language/{code}?next=/")
    assert response.status_code == 302
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="en" dir="ltr">' in html


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil", "x"])
def test_switcher_never_redirects_off_the_site(client, target):
    response = client.get("/language/fr", query_string={"next": target})
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_russian_plurals_follow_babel_rules(app):
    with app.test_request_context(), force_locale("ru"):
        forms = {n: ngettext("%(num)d signatory", "%(num)d signatories", n) for n in (1, 2, 5, 21)}
    # one: 1, 21; few: 2; many: 5. Each is its own word form, and the number is kept.
    assert forms[1] != forms[2] != forms[5] != forms[1]
    assert forms[21].replace("21", "1") == forms[1]
    assert all(str(n) in text for n, text in forms.items())


def test_arabic_plurals_have_six_forms(app):
    with app.test_request_context(), force_locale("ar"):
        forms = [
            ngettext("%(num)d signatory", "%(num)d signatories", n) for n in (0, 1, 2, 3, 11, 100)
        ]
    words = [
        text.replace(str(n), "#") for n, text in zip((0, 1, 2, 3, 11, 100), forms, strict=True)
    ]
    # The dual (2), the few-form (3-10) and the many-form (11-99) are each their own word;
    # zero, one and other (100) may share the singular, as Arabic grammar allows.
    assert len({words[2], words[3], words[4]}) == 3
    assert all(str(n) in text for n, text in zip((0, 1, 2, 3, 11, 100), forms, strict=True))


def test_dates_are_written_in_the_language(app):
    day = date(2012, 12, 3)
    with app.test_request_context():
        with force_locale("ru"):
            russian = format_date(day, "long")
        with force_locale("ar"):
            arabic = format_date(day, "long")
        with force_locale("fr"):
            french = format_date(day, "long")
    assert "декабря 2012" in russian
    assert "ديسمبر" in arabic
    assert french == "3 décembre 2012"


def test_home_page_event_is_named_in_the_visitors_language(client):
    html = client.get("/", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "décembre 2012" in html and "Dubaï" in html
