"""A letter as an HTML document: the one layout the preview, the PDF and later formats share."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from toolkit.letters.compose import Letter

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@cache
def _environment() -> Environment:
    """Our own trusted layout templates; autoescaped; independent of Flask so workers can use it."""
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def letter_html(letter: Letter) -> str:
    """The full HTML document that WeasyPrint turns into the letter's PDF."""
    return _environment().get_template("documents/letter.html").render(letter=letter)
