"""`toolkit templates check` and `toolkit letters render`: the same code as the web."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from werkzeug.datastructures import MultiDict

from toolkit.contacts.directory import list_member_states
from toolkit.documents.html import letter_html
from toolkit.documents.pdf import PdfError, render_pdf
from toolkit.documents.text import letter_text
from toolkit.events.catalog import list_events
from toolkit.extensions import db
from toolkit.letters.batch import (
    BatchError,
    BatchLetter,
    BatchReport,
    make_batch,
    select_countries,
    template_letters,
)
from toolkit.letters.catalog import get_catalog, load_catalog
from toolkit.letters.compose import LetterError, compose_letter
from toolkit.letters.fill import LetterFillError
from toolkit.letters.forms import SENDER_FIELDS, build_letter_form, letter_request

templates_cli = AppGroup("templates", help="Letter templates in letter_templates/.")
letters_cli = AppGroup("letters", help="Render letters from the command line.")

FORMATS = ("pdf", "html", "txt")


@templates_cli.command("check")
def check() -> None:
    """Validate every template: metadata, and a render with sample data in each language."""
    directory = Path(current_app.config["LETTER_TEMPLATES_DIR"])
    catalog = load_catalog(directory)
    for template in catalog.templates.values():
        click.echo(f"ok      {template.slug} ({', '.join(template.languages)})")
    for problem in catalog.problems:
        click.echo(f"error   {problem}", err=True)
    if catalog.problems:
        raise click.ClickException(f"{len(catalog.problems)} problem(s) in {directory}")
    if not catalog.templates:
        raise click.ClickException(f"no letter templates in {directory}")


@letters_cli.command("render")
@click.option("--template", "slug", required=True, help="Template slug, e.g. delegation-request.")
@click.option("--country", default="", help="ISO code of the recipient country, e.g. KE.")
@click.option(
    "--org",
    "org_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON file with the sender's details.",
)
@click.option("--lang", "language", default="en", show_default=True)
@click.option("--event", default="", help="Event slug (default: the configured event).")
@click.option(
    "--date", "letter_date", default="", help="Date of the letter, YYYY-MM-DD (default: today)."
)
@click.option("--field", "extra", multiple=True, metavar="NAME=VALUE", help="A template field.")
@click.option("--own-words", default="", help="A paragraph in your own words.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="pdf", show_default=True)
@click.option("--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
def render(
    slug: str,
    country: str,
    org_file: Path,
    language: str,
    event: str,
    letter_date: str,
    extra: tuple[str, ...],
    own_words: str,
    fmt: str,
    output: Path,
) -> None:
    """Render one letter to PDF, HTML or plain text."""
    catalog = get_catalog(current_app.config["LETTER_TEMPLATES_DIR"])
    template = catalog.get(slug)
    if template is None:
        known = ", ".join(sorted(catalog.templates)) or "none"
        raise click.ClickException(f"unknown template '{slug}' (known: {known})")
    org = _read_org(org_file)
    fields = {}
    for item in extra:
        name, sep, value = item.partition("=")
        if not sep:
            raise click.ClickException(f"--field takes NAME=VALUE, got '{item}'")
        fields[name] = value
    values = {
        **{name: org.get(name, "") for name in SENDER_FIELDS},
        "country": str(org.get("country", "")).upper(),
        "recipient_country": country.upper(),
        "event": event or current_app.config["DEFAULT_EVENT"],
        "language": language,
        "date": letter_date or date.today().isoformat(),
        "own_words": own_words,
        **fields,
    }
    form = build_letter_form(
        template,
        countries=[(s.iso2, s.name_en) for s in list_member_states(db.session)],
        events=[(e.slug, e.name) for e in list_events(db.session)],
        default_event=current_app.config["DEFAULT_EVENT"],
        formdata=MultiDict({k: str(v) for k, v in values.items()}),
        meta={"csrf": False},
    )
    if not form.validate():
        problems = "; ".join(
            f"{name}: {' '.join(str(e) for e in errors)}" for name, errors in form.errors.items()
        )
        raise click.ClickException(problems)

    try:
        letter = compose_letter(db.session, catalog, letter_request(template, form))
    except (LetterError, LetterFillError) as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        if fmt == "pdf":
            data = render_pdf(letter_html(letter), timeout=current_app.config["PDF_TIMEOUT"])
        elif fmt == "html":
            data = letter_html(letter).encode()
        else:
            data = letter_text(letter).encode()
        output.write_bytes(data)
    except PdfError as exc:
        raise click.ClickException(f"the PDF could not be made: {exc}") from exc
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror}") from exc
    click.echo(f"wrote {output} ({letter.filename(fmt)}, {len(data):,} bytes)")


def _read_org(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError as exc:
        raise click.ClickException(f"{path}: file not found") from exc
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{path}: not UTF-8 text") from exc
    except json.JSONDecodeError as exc:
        raise click.ClickException(
            f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})"
        ) from exc
    if not isinstance(data, dict):
        raise click.ClickException(f"{path}: must hold a JSON object with the sender's details")
    unknown = sorted(set(data) - set(SENDER_FIELDS))
    if unknown:
        raise click.ClickException(
            f"{path}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(SENDER_FIELDS)}"
        )
    return data


@letters_cli.command("batch")
@click.option("--template", "slug", required=True, help="Template slug, e.g. delegation-request.")
@click.option(
    "--org",
    "org_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON file with the sender's details.",
)
@click.option(
    "--countries",
    "spec",
    required=True,
    help="all, an M49 region (e.g. Africa, 'Western Africa') or ISO codes: KE,SN,BR.",
)
@click.option("--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--lang", "language", default="en", show_default=True)
@click.option("--event", default="", help="Event slug (default: the configured event).")
@click.option(
    "--date", "letter_date", default="", help="Date of the letters, YYYY-MM-DD (default: today)."
)
@click.option("--field", "extra", multiple=True, metavar="NAME=VALUE", help="A template field.")
@click.option("--own-words", default="", help="A paragraph in your own words.")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Processes rendering PDFs (default: one per core).")  # fmt: skip
def batch(
    slug: str,
    org_file: Path,
    spec: str,
    output: Path,
    language: str,
    event: str,
    letter_date: str,
    extra: tuple[str, ...],
    own_words: str,
    workers: int | None,
) -> None:
    """One letter per country, each to its best contact point: a ZIP of PDFs, DOCX and index."""
    catalog = get_catalog(current_app.config["LETTER_TEMPLATES_DIR"])
    template = catalog.get(slug)
    if template is None:
        known = ", ".join(sorted(catalog.templates)) or "none"
        raise click.ClickException(f"unknown template '{slug}' (known: {known})")
    org = _read_org(org_file)
    try:
        states = select_countries(db.session, spec)
    except BatchError as exc:
        raise click.ClickException(str(exc)) from exc
    fields = {}
    for item in extra:
        name, sep, value = item.partition("=")
        if not sep:
            raise click.ClickException(f"--field takes NAME=VALUE, got '{item}'")
        fields[name] = value
    values = {
        **{name: org.get(name, "") for name in SENDER_FIELDS},
        "country": str(org.get("country", "")).upper(),
        "recipient_country": states[0].iso2,  # each letter gets its own below
        "event": event or current_app.config["DEFAULT_EVENT"],
        "language": language,
        "date": letter_date or date.today().isoformat(),
        "own_words": own_words,
        **fields,
    }
    form = build_letter_form(
        template,
        countries=[(s.iso2, s.name_en) for s in list_member_states(db.session)],
        events=[(e.slug, e.name) for e in list_events(db.session)],
        default_event=current_app.config["DEFAULT_EVENT"],
        formdata=MultiDict({k: str(v) for k, v in values.items()}),
        meta={"csrf": False},
    )
    if not form.validate():
        problems = "; ".join(
            f"{name}: {' '.join(str(e) for e in errors)}" for name, errors in form.errors.items()
        )
        raise click.ClickException(problems)
    request = letter_request(template, form)
    try:
        letters = template_letters(
            db.session, catalog, template, request.sender, states, language=request.language,
            event=request.event, letter_date=request.letter_date, fields=request.fields,
            own_words=request.own_words,
        )  # fmt: skip
    except BatchError as exc:
        raise click.ClickException(str(exc)) from exc
    report = make_batch_with_progress(letters, output, workers)
    batch_summary(report, output)


def make_batch_with_progress(
    letters: Sequence[BatchLetter], output: Path, workers: int | None
) -> BatchReport:
    """Render and zip the letters with a progress bar on stderr; one-line error on failure."""
    timeout = float(current_app.config["PDF_TIMEOUT"])
    with click.progressbar(length=len(letters), label="Rendering letters", file=sys.stderr,
                           show_pos=True) as bar:  # fmt: skip
        try:
            return make_batch(letters, output, workers=workers, timeout=timeout,
                              progress=lambda done, total: bar.update(done - bar.pos))  # fmt: skip
        except OSError as exc:
            raise click.ClickException(f"cannot write {output}: {exc.strerror}") from exc


def batch_summary(report: BatchReport, output: Path) -> None:
    """The summary line; exit non-zero only when no letter could be made."""
    made = len(report.made)
    line = f"wrote {output}: {made} letter{'s' if made != 1 else ''}, {len(report.failures)} failed"
    if report.failures:
        line += ": " + ", ".join(report.failed_names)
    click.echo(line)
    if not report.made:
        raise click.ClickException("no letter could be made; see index.csv in the ZIP for why")
