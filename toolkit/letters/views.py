"""Letter pages: pick a letter, fill the form, preview, download PDF or plain text."""

from __future__ import annotations

import json
from urllib.parse import quote

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    make_response,
    render_template,
    request,
    session,
)
from flask_babel import get_locale
from flask_babel import gettext as _

from toolkit.contacts.directory import (
    get_member_state,
    government_recipient,
    member_state_choices,
)
from toolkit.documents.html import letter_html
from toolkit.documents.pdf import PdfError, render_pdf
from toolkit.documents.text import letter_text
from toolkit.events.catalog import get_event, list_events
from toolkit.extensions import db
from toolkit.letters.catalog import Catalog, LetterTemplate, get_catalog
from toolkit.letters.compose import Letter, LetterError, NotFound, compose_letter
from toolkit.letters.fill import LetterFillError
from toolkit.letters.forms import SENDER_FIELDS, build_letter_form, letter_request

bp = Blueprint("letters", __name__, url_prefix="/letters")

# Browsers drop cookies over 4 KB; a sender too long to remember is simply not remembered.
SESSION_SENDER_LIMIT = 3000


def _catalog() -> Catalog:
    return get_catalog(current_app.config["LETTER_TEMPLATES_DIR"])


def _template_or_404(slug: str) -> LetterTemplate:
    template = _catalog().get(slug)
    if template is None:
        abort(404, description=_("There is no letter called “%(slug)s”.", slug=slug))
    return template


def _form(template: LetterTemplate, **kwargs: object):
    language = str(get_locale() or "en")
    countries = member_state_choices(db.session, language)
    events = [(e.slug, f"{e.name}: {e.full_name}") for e in list_events(db.session)]
    return build_letter_form(
        template,
        countries=countries,
        events=events,
        default_event=current_app.config["DEFAULT_EVENT"],
        **kwargs,
    )


def _compose(template: LetterTemplate, form) -> Letter:
    try:
        return compose_letter(db.session, _catalog(), letter_request(template, form))
    except NotFound as exc:
        abort(404, description=str(exc))
    except LetterFillError as exc:
        current_app.logger.error("letter template %s failed: %s", template.slug, exc)
        abort(422, description=_("This letter template has an error; please try another one."))
    except LetterError as exc:
        abort(422, description=str(exc))


def _remember_sender(form) -> None:
    """Keep the sender's details in the browser session so the next letter needs no retyping."""
    sender = {name: form[name].data or "" for name in SENDER_FIELDS}
    if len(json.dumps(sender, ensure_ascii=False).encode()) <= SESSION_SENDER_LIMIT:
        session["sender"] = sender


def _invalid(template: LetterTemplate, form) -> tuple[str, int]:
    return render_template("letters/new.html", template=template, form=form), 422


@bp.get("/")
def index() -> str:
    """Every letter one can write."""
    return render_template("letters/index.html", templates=list(_catalog().templates.values()))


@bp.get("/<slug>")
def new(slug: str) -> str:
    """The letter form, filled with what this browser used last time."""
    template = _template_or_404(slug)
    data = dict(session.get("sender", {}))
    country = request.args.get("country", "")
    if country:
        state = get_member_state(db.session, country)
        if state is None:
            abort(
                404,
                description=_("There is no member state with the code “%(code)s”.", code=country),
            )
        data["recipient_country"] = state.iso2
    event = request.args.get("event", "")
    if event:
        if get_event(db.session, event) is None:
            abort(404, description=_("There is no event called “%(slug)s”.", slug=event))
        data["event"] = event
    recipient = None
    if template.recipient == "government" and data.get("recipient_country"):
        state = get_member_state(db.session, data["recipient_country"])
        if state is not None:
            recipient = government_recipient(
                db.session, state, str(get_locale() or "en"), template.contact_roles
            )
    notice = None
    language = request.args.get("lang", "")
    if language:
        if language in template.languages:
            data["language"] = language
        else:
            notice = _(
                "This letter is not yet written in “%(lang)s”. It is available in: %(langs)s.",
                lang=language,
                langs=", ".join(template.languages),
            )
    form = _form(template, data=data)
    return render_template(
        "letters/new.html", template=template, form=form, notice=notice, recipient=recipient
    )


@bp.post("/<slug>")
def preview(slug: str) -> str | tuple[str, int]:
    """Check the form; show the letter exactly as the PDF will have it."""
    template = _template_or_404(slug)
    form = _form(template)
    if not form.validate():
        return _invalid(template, form)
    letter = _compose(template, form)
    _remember_sender(form)
    return render_template("letters/preview.html", template=template, form=form, letter=letter)


@bp.post("/<slug>/pdf")
def pdf(slug: str) -> Response | tuple[str, int]:
    """The letter as a PDF download."""
    template = _template_or_404(slug)
    form = _form(template)
    if not form.validate():
        return _invalid(template, form)
    letter = _compose(template, form)
    try:
        data = render_pdf(letter_html(letter), timeout=current_app.config["PDF_TIMEOUT"])
    except PdfError as exc:
        current_app.logger.error("PDF of %s failed: %s", letter.filename("pdf"), exc)
        abort(503, description=_("The PDF could not be made just now. Please try again."))
    return _download(data, letter.filename("pdf"), "application/pdf")


@bp.post("/<slug>/text")
def text(slug: str) -> Response | str | tuple[str, int]:
    """The letter as plain text, to copy into an email, with a mailto: link when one is known."""
    template = _template_or_404(slug)
    form = _form(template)
    if not form.validate():
        return _invalid(template, form)
    letter = _compose(template, form)
    body = letter_text(letter)
    if request.form.get("download"):
        return _download(body.encode(), letter.filename("txt"), "text/plain; charset=utf-8")
    mailto = None
    if letter.recipient.email:
        mailto = (
            f"mailto:{quote(letter.recipient.email, safe='@')}"
            f"?subject={quote(letter.filled.subject)}&body={quote(body)}"
        )
    return render_template(
        "letters/text.html", template=template, form=form, letter=letter, body=body, mailto=mailto
    )


def _download(data: bytes, filename: str, mimetype: str) -> Response:
    response = make_response(data)
    response.headers["Content-Type"] = mimetype
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
