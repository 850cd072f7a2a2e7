"""Letter pages: pick a letter, fill the form, preview, download PDF or plain text."""

from __future__ import annotations

import json
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
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
from flask_babel import gettext as _

from toolkit.accounts.access import organizer_required
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
from toolkit.i18n import current_language
from toolkit.letters.catalog import Catalog, LetterTemplate, get_catalog
from toolkit.letters.compose import Letter, LetterError, NotFound, SenderDetails, compose_letter
from toolkit.letters.fill import LetterFillError
from toolkit.letters.forms import SENDER_FIELDS, build_letter_form, letter_request

bp = Blueprint("letters", __name__, url_prefix="/letters")

# Browsers drop cookies over 4 KB; a sender too long to remember is simply not remembered.
SESSION_SENDER_LIMIT = 3000


def _catalog() -> Catalog:
    return get_catalog(current_app.config["LETTER_TEMPLATES_DIR"]).in_language(current_language())


def _template_or_404(slug: str) -> LetterTemplate:
    template = _catalog().get(slug)
    if template is None:
        abort(404, description=_("There is no letter called “%(slug)s”.", slug=slug))
    return template


def _form(template: LetterTemplate, **kwargs: object):
    language = current_language()
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
                db.session, state, current_language(), template.contact_roles
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


@bp.post("/<slug>/docx")
def docx(slug: str) -> Response | tuple[str, int]:
    """The letter as an editable DOCX: the PDF's content, for a word processor."""
    from toolkit.documents.docx import MIMETYPE, letter_docx  # noqa: PLC0415 - python-docx on demand

    template = _template_or_404(slug)
    form = _form(template)
    if not form.validate():
        return _invalid(template, form)
    letter = _compose(template, form)
    return _download(letter_docx(letter), letter.filename("docx"), MIMETYPE)


@bp.post("/<slug>/eml")
def eml(slug: str) -> Response | tuple[str, int]:
    """The letter as an unsent email (.eml) with the PDF attached, for the sender's own program.

    Nothing is sent from here: the file opens as a draft, and the sender sends it from their
    own address.
    """
    template = _template_or_404(slug)
    form = _form(template)
    if not form.validate():
        return _invalid(template, form)
    letter = _compose(template, form)
    try:
        pdf_data = render_pdf(letter_html(letter), timeout=current_app.config["PDF_TIMEOUT"])
    except PdfError as exc:
        current_app.logger.error("PDF of %s failed: %s", letter.filename("pdf"), exc)
        abort(503, description=_("The email draft could not be made just now. Please try again."))
    return _download(_draft(letter, pdf_data), letter.filename("eml"), "message/rfc822")


def _draft(letter: Letter, pdf_data: bytes) -> bytes:
    """An unsent message: To (when known), Subject, the letter as text, the PDF attached."""
    message = EmailMessage(policy=SMTP)
    recipient = letter.recipient
    if recipient.email:
        try:
            message["To"] = Address(
                display_name=recipient.organization or "", addr_spec=recipient.email.strip()
            )
        except (ValueError, IndexError):  # an address the email package cannot parse
            current_app.logger.warning("no To for %s: %r", letter.code, recipient.email)
    message["Subject"] = letter.filled.subject
    message["X-Unsent"] = "1"  # Outlook opens the file as a draft to send
    message.set_content(letter_text(letter))
    message.add_attachment(
        pdf_data, maintype="application", subtype="pdf", filename=letter.filename("pdf")
    )
    return bytes(message)


def _download(data: bytes, filename: str, mimetype: str) -> Response:
    response = make_response(data)
    response.headers["Content-Type"] = mimetype
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


# --- batch letters: one template letter per government, as a ZIP (organizers) ---------------

BATCH_KIND = "template-letters"


def _batch_targets() -> list[LetterTemplate]:
    return [t for t in _catalog().templates.values() if t.recipient == "government"]


def _org_upload() -> dict[str, str] | str:
    """The sender's details from an uploaded ORG.json, or a message saying what is wrong."""
    upload = request.files.get("org")
    if upload is None or not upload.filename:
        return {}
    try:
        data = json.loads(upload.read(20_000).decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return _("The ORG.json file is not valid JSON text.")
    if not isinstance(data, dict) or set(data) - set(SENDER_FIELDS):
        return _("The ORG.json file must hold an object with only these keys: %(keys)s.",
                 keys=", ".join(SENDER_FIELDS))  # fmt: skip
    values = {name: str(value) for name, value in data.items()}
    if "country" in values:
        values["country"] = values["country"].upper()
    return values


def _batch_job(context, slug: str, request_values: dict, codes: list[str]) -> str:  # noqa: ANN001
    """The background part: compose each country's letter, render on every core, zip.

    A job (toolkit.jobs): its arguments are JSON, the sender a dict and the date ISO text.
    """
    from datetime import date  # noqa: PLC0415

    from toolkit.contacts.models import MemberState  # noqa: PLC0415
    from toolkit.letters.batch import make_batch, template_letters  # noqa: PLC0415

    values = dict(request_values)
    values["sender"] = SenderDetails(**values["sender"])
    values["letter_date"] = date.fromisoformat(values["letter_date"])
    states = [db.session.get(MemberState, code) for code in codes]
    context.progress(0, len(states), "composing")
    letters = template_letters(db.session, _catalog(), slug, countries=states, **values)
    path = context.result_file(f"{slug}-letters.zip")
    report = make_batch(
        letters, path, workers=current_app.config.get("BATCH_WORKERS"),
        timeout=float(current_app.config["PDF_TIMEOUT"]),
        progress=lambda done, total: context.progress(done, total, "rendering"),
    )  # fmt: skip
    context.progress(report.total, report.total, f"{len(report.made)} made")
    return str(path)


def _batch_job_or_404(job_id: str):  # noqa: ANN202 - a toolkit.jobs.Job
    from flask_login import current_user  # noqa: PLC0415

    from toolkit.jobs import get_job  # noqa: PLC0415

    job = get_job(current_app._get_current_object(), job_id)  # type: ignore[attr-defined]
    if job is None or job.kind != BATCH_KIND or job.owner != str(current_user.id):
        abort(404)  # a batch holds its sender's details: only the organizer who made it sees it
    return job


@bp.route("/batch", methods=["GET", "POST"])
@organizer_required
def batch() -> str | Response | tuple[str, int]:
    """Batch letters: a template, the sender (typed or ORG.json) and the countries; a ZIP."""
    from dataclasses import asdict  # noqa: PLC0415

    from flask import redirect, url_for  # noqa: PLC0415
    from flask_login import current_user  # noqa: PLC0415
    from werkzeug.datastructures import MultiDict  # noqa: PLC0415

    from toolkit.accounts.audit import record  # noqa: PLC0415
    from toolkit.jobs import JobError, start_job  # noqa: PLC0415
    from toolkit.letters.batch import BatchError, known_regions, select_countries  # noqa: PLC0415

    targets = _batch_targets()
    slug = request.values.get("template", "")
    if not slug:
        return render_template("letters/batch.html", targets=targets, template=None)
    template = _template_or_404(slug)
    if template.recipient != "government":
        abort(404, description=_("This letter is written to the ITU, not to governments."))
    choices = [("all", _("Every member state")),
               *((name, name) for name in known_regions(db.session)),
               ("codes", _("A list of countries (codes below)"))]  # fmt: skip
    choice = request.form.get("countries", "all")[:100]
    codes = request.form.get("codes", "")[:2000]
    error = ""
    if request.method == "GET":
        form = _form(template, data=dict(session.get("sender", {})))
    else:
        uploaded = _org_upload()
        formdata = MultiDict(request.form)
        if isinstance(uploaded, str):
            error = uploaded
        else:
            for name, value in uploaded.items():
                formdata.setlist(name, [value])
        form = _form(template, formdata=formdata)
    del form.recipient_country  # each letter goes to its own country
    if request.method == "POST" and not error and form.validate():
        try:
            spec = codes if choice == "codes" else choice
            states = select_countries(db.session, spec)
        except BatchError as exc:
            error = str(exc)
        else:
            letter = letter_request(template, form)
            values = {"sender": asdict(letter.sender), "language": letter.language,
                      "event": letter.event, "letter_date": letter.letter_date.isoformat(),
                      "fields": letter.fields, "own_words": letter.own_words}  # fmt: skip
            chosen = [state.iso2 for state in states]
            app = current_app._get_current_object()  # type: ignore[attr-defined]
            try:
                job_id = start_job(app, BATCH_KIND, _batch_job, slug, values, chosen,
                                   owner=str(current_user.id))  # fmt: skip
            except JobError as exc:
                error = _("The letters could not be started: %(error)s", error=str(exc))
            else:
                record(db.session, "letters.batch", actor=current_user,
                       details={"template": slug, "countries": spec, "letters": len(chosen),
                                "job": job_id})  # fmt: skip
                db.session.commit()
                _remember_sender(form)
                return redirect(url_for("letters.batch_job", job_id=job_id))
    page = render_template("letters/batch.html", targets=targets, template=template, form=form,
                           choices=choices, choice=choice, codes=codes, error=error)  # fmt: skip
    return (page, 422) if request.method == "POST" else page


@bp.get("/batch/<job_id>")
@organizer_required
def batch_job(job_id: str) -> str:
    """The batch's progress (the page reloads itself), then the download and any failures."""
    from toolkit.jobs import job_result_path  # noqa: PLC0415
    from toolkit.letters.batch import read_index  # noqa: PLC0415

    job = _batch_job_or_404(job_id)
    path = job_result_path(current_app._get_current_object(), job)  # type: ignore[attr-defined]
    rows = read_index(path) if path is not None else []
    return render_template("letters/batch_job.html", job=job, rows=rows,
                           failed=[r for r in rows if r["status"] != "ok"])  # fmt: skip


@bp.get("/batch/<job_id>/download")
@organizer_required
def batch_download(job_id: str) -> Response:
    """The batch's ZIP, for the organizer who made it."""
    from flask import send_file  # noqa: PLC0415

    from toolkit.jobs import job_result_path  # noqa: PLC0415

    job = _batch_job_or_404(job_id)
    path = job_result_path(current_app._get_current_object(), job)  # type: ignore[attr-defined]
    if path is None:
        abort(404)
    response = send_file(path, mimetype="application/zip", as_attachment=True,
                         download_name="letters.zip")  # fmt: skip
    response.headers["Cache-Control"] = "no-store"
    return response
