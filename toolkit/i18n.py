"""The six UN languages: which one a visitor reads, how to switch, and how each is written.

The interface language comes from, in order: the visitor's own choice (a cookie set by the
switcher on every page), their browser's Accept-Language, English. Anything unknown falls back
to English, never an error. Letters and campaign texts choose their language separately.
"""

from __future__ import annotations

from dataclasses import dataclass

from babel import Locale
from flask import Blueprint, Flask, Response, has_request_context, redirect, request
from flask_babel import format_date, format_decimal, format_percent, get_locale

from toolkit.validation import safe_next

SUPPORTED_LOCALES = ("en", "fr", "es", "ru", "ar", "zh")
RTL_LOCALES = frozenset({"ar"})
DEFAULT_LOCALE = "en"
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
# The language tag documents carry: "zh-CN" makes fonts pick Simplified Chinese glyphs
# (a bare "zh" or "zh-Hans" lets some CJK fonts fall back to Japanese shapes).
HTML_LANG = {"zh": "zh-CN"}
DATE_LOCALES = {"en": "en_GB", "zh": "zh_Hans_CN"}

bp = Blueprint("i18n", __name__)


@dataclass(frozen=True)
class LanguageChoice:
    """One entry of the language switcher: the code and the language's name for itself."""

    code: str
    name: str
    html_lang: str
    direction: str


def N_(message: str) -> str:  # noqa: N802 - the name gettext tools look for
    """Mark a message for the catalogs without translating it yet: whoever shows it to a
    reader translates it then, in the reader's language (``_(reason)``)."""
    return message


def normalize(code: str | None) -> str:
    """A supported language code for any input ("fr-CA" -> "fr", "xx" or None -> "en")."""
    if not code:
        return DEFAULT_LOCALE
    primary = code.replace("_", "-").split("-", 1)[0].lower()
    return primary if primary in SUPPORTED_LOCALES else DEFAULT_LOCALE


def direction(code: str) -> str:
    """ "rtl" for right-to-left scripts, else "ltr"."""
    return "rtl" if normalize(code) in RTL_LOCALES else "ltr"


def html_lang(code: str) -> str:
    """The value for an element's lang attribute."""
    code = normalize(code)
    return HTML_LANG.get(code, code)


def own_name(code: str) -> str:
    """A language's name in itself ("français", "العربية"), capitalised where scripts have case."""
    name = Locale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]


CHOICES = tuple(
    LanguageChoice(code, own_name(code), html_lang(code), direction(code))
    for code in SUPPORTED_LOCALES
)


# One Locale object per language, made once: every request's language is one of these.
_LOCALES = {code: Locale.parse(code) for code in SUPPORTED_LOCALES}


def select_locale() -> Locale:
    """The visitor's language (see the module's docstring); English outside a request."""
    if not has_request_context():
        return _LOCALES[DEFAULT_LOCALE]
    chosen = request.cookies.get(COOKIE)
    if chosen in _LOCALES:
        return _LOCALES[chosen]
    if not request.headers.get("Accept-Language"):
        return _LOCALES[DEFAULT_LOCALE]
    return _LOCALES[request.accept_languages.best_match(SUPPORTED_LOCALES) or DEFAULT_LOCALE]


def current_language() -> str:
    """The interface language of this request (or of the mail being written) as a plain
    code."""
    locale = get_locale()
    return normalize(locale.language if locale is not None else None)


def date_locale(language: str) -> str:
    """The Babel locale that writes dates for a language: British English for English
    ("3 December 2012", as letters to ministries are dated), Simplified Chinese for Chinese."""
    return DATE_LOCALES.get(language, language)


def page_locale() -> str:
    """The Babel locale for dates written on this request's pages."""
    return date_locale(current_language())


@bp.get("/language/<code>")
def switch(code: str) -> Response:
    """Remember the chosen language and go back to the page it was chosen on.

    A GET, so it works as a plain link on any page without JavaScript; it only sets a cookie.
    An unknown code chooses English.
    """
    response = redirect(safe_next(request.args.get("next")) or "/")
    response.set_cookie(COOKIE, normalize(code), max_age=COOKIE_MAX_AGE, samesite="Lax",
                        secure=request.is_secure, httponly=True)  # fmt: skip
    return response


def register(app: Flask) -> None:
    """The switcher's route and what every template needs to speak the visitor's language."""
    app.register_blueprint(bp)

    @app.template_filter("localized")
    def localized(campaign):  # noqa: ANN001, ANN202 - a Campaign; imported late (models)
        """A campaign's words in the language being written (the reader's, or a mail's)."""
        return campaign.text_in(current_language())

    app.add_template_filter(html_lang, "html_lang")
    app.add_template_filter(direction, "text_direction")

    @app.context_processor
    def language_helpers() -> dict:
        code = current_language()
        return {
            "current_locale": code,
            "html_lang": html_lang(code),
            "text_direction": direction(code),
            "language_choices": CHOICES,
            "format_number": format_decimal,
            "format_date": format_date,
            "format_percent": format_percent,
        }
