"""A letter as an HTML document: the one layout the preview, the PDF and later formats share."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from babel.numbers import format_decimal
from jinja2 import Environment, FileSystemLoader, select_autoescape

from toolkit.i18n import date_locale, direction, html_lang
from toolkit.letters.compose import Letter

if TYPE_CHECKING:
    from toolkit.campaigns.final_letter import FinalLetter, PetitionDelivery

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@cache
def _environment() -> Environment:
    """Our own trusted layout templates; autoescaped; independent of Flask so workers can use it."""
    environment = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(html_lang=html_lang, text_direction=direction, number=_number)
    return environment


def _number(value: int, language: str) -> str:
    """A count written as the document's language writes numbers ("1 234", "1,234")."""
    return format_decimal(value, locale=date_locale(language))


def letter_html(letter: Letter) -> str:
    """The full HTML document that WeasyPrint turns into the letter's PDF."""
    return _environment().get_template("documents/letter.html").render(letter=letter)


def final_letter_html(letter: FinalLetter, labels: dict[str, str]) -> str:
    """A sign-on letter followed by its signatories; ``labels`` are the headings, translated."""
    template = _environment().get_template("documents/signon.html")
    return template.render(letter=letter, labels=labels)


def petition_html(delivery: PetitionDelivery, labels: dict[str, str]) -> str:
    """A petition to hand over: its text, the totals by country, and the names listed."""
    template = _environment().get_template("documents/petition.html")
    return template.render(delivery=delivery, labels=labels)


def render_document(name: str, **context: object) -> str:
    """Any document layout under templates/documents/ (flyers, sheets), rendered to HTML."""
    return _environment().get_template(f"documents/{name}").render(**context)
