"""Organizer pages for campaigns: set up, open and close, moderate, fight fraud, export, print."""

from __future__ import annotations

from datetime import UTC

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from toolkit.accounts.access import organizer_required
from toolkit.accounts.audit import record
from toolkit.accounts.views import safe_next
from toolkit.campaigns import documents
from toolkit.campaigns.exports import ExportError, ExportRequest, columns, export_rows
from toolkit.campaigns.forms import (
    CampaignForm,
    CorrectSignatureForm,
    InvalidateForm,
    RejectSignaturesForm,
)
from toolkit.campaigns.models import Campaign, Signature
from toolkit.campaigns.moderation import (
    PAGE_SIZE,
    Condition,
    Filters,
    ModerationError,
    approve,
    correct,
    count_matching,
    filtered,
    hourly_patterns,
    invalidate,
    reject,
    status_counts,
)
from toolkit.campaigns.service import (
    CampaignError,
    NewCampaign,
    campaigns_managed_by,
    close_campaign,
    create_campaign,
    get_campaign,
    may_manage,
    open_campaign,
    parse_questions,
    template_text,
)
from toolkit.exports.writers import FORMATS, export_chunks
from toolkit.extensions import db
from toolkit.i18n import own_name
from toolkit.letters.catalog import LETTER_LANGUAGES, get_catalog

bp = Blueprint("admin", __name__, url_prefix="/admin/campaigns")


def _managed_or_403(slug: str) -> Campaign:
    campaign = get_campaign(db.session, slug)
    if campaign is None:
        abort(404)
    if not may_manage(current_user, campaign):
        abort(403)
    return campaign


@bp.get("/")
@organizer_required
def index() -> str:
    """The campaigns this organizer runs (every campaign, for admins)."""
    campaigns = campaigns_managed_by(db.session, current_user)
    return render_template("campaigns/admin/index.html", campaigns=campaigns)


def _campaign_form(**kwargs: object) -> CampaignForm:
    form = CampaignForm(**kwargs)
    catalog = get_catalog(current_app.config["LETTER_TEMPLATES_DIR"])
    form.template.choices = [SelectChoice("", _("No template: my own text"))] + [
        SelectChoice(t.slug, t.title) for t in catalog.templates.values()
    ]
    form.language.choices = [SelectChoice(code, code) for code in LETTER_LANGUAGES]
    return form


@bp.route("/new", methods=["GET", "POST"])
@organizer_required
def new() -> str | Response | tuple[str, int]:
    """Set up a sign-on letter or a petition (it starts as a draft)."""
    form = _campaign_form()
    if not form.validate_on_submit():
        return render_template("campaigns/admin/new.html", form=form), 422 if form.errors else 200
    text = form.text.data or ""
    if not text.strip() and form.template.data:
        text = template_text(current_app.config["LETTER_TEMPLATES_DIR"], form.template.data,
                             form.language.data, current_app.config["DEFAULT_EVENT"])  # fmt: skip
    rules = {
        name: form[f"rule_{name}"].data for name in ("organization", "role", "city", "country")
    }
    try:
        questions = parse_questions(form.questions.data or "")
    except CampaignError as exc:
        form.questions.errors = [*form.questions.errors, _(str(exc))]
        return render_template("campaigns/admin/new.html", form=form), 422
    new_campaign = NewCampaign(
        custom_fields=questions,
        kind=form.kind.data, slug=form.slug.data, title=form.title.data, text=text,
        introduction=form.introduction.data or "", addressee=form.addressee.data,
        addressee_text=form.addressee_text.data or "", language=form.language.data,
        template=form.template.data or "", deadline=form.deadline.data, goal=form.goal.data,
        allow_organizations=form.allow_organizations.data,
        allow_individuals=form.allow_individuals.data, field_rules=rules,
        list_publicly=form.list_publicly.data,
        require_confirmation=form.require_confirmation.data,
        require_moderation=form.require_moderation.data,
        retention_days=form.retention_days.data,
    )  # fmt: skip
    try:
        campaign = create_campaign(db.session, new_campaign, current_user)
    except CampaignError as exc:
        db.session.rollback()
        target = form[exc.field] if exc.field in form else form.title
        target.errors = [*target.errors, _(str(exc))]
        return render_template("campaigns/admin/new.html", form=form), 422
    record(db.session, "campaigns.create", actor=current_user, target=campaign,
           details={"slug": campaign.slug, "kind": campaign.kind})  # fmt: skip
    db.session.commit()
    flash(_("The campaign is saved as a draft. Read it, then open it for signatures."))
    return redirect(url_for("campaigns.admin.show", slug=campaign.slug))


@bp.get("/<slug>")
@organizer_required
def show(slug: str) -> str:
    """One campaign: its state, its counts, and what can be done."""
    campaign = _managed_or_403(slug)
    return render_template("campaigns/admin/show.html", campaign=campaign,
                           counts=status_counts(db.session, campaign), formats=FORMATS)  # fmt: skip


@bp.post("/<slug>/state")
@organizer_required
def change_state(slug: str) -> Response:
    """Open (or reopen) or close a campaign."""
    campaign = _managed_or_403(slug)
    action = request.form.get("action")
    try:
        if action == "open":
            open_campaign(campaign)
        elif action == "close":
            close_campaign(campaign)
        else:
            abort(400)
    except CampaignError as exc:
        flash(_(str(exc)))
        return redirect(url_for("campaigns.admin.show", slug=slug))
    record(db.session, f"campaigns.{action}", actor=current_user, target=campaign)
    db.session.commit()
    return redirect(url_for("campaigns.admin.show", slug=slug))


@bp.post("/<slug>/signing")
@organizer_required
def pause_signing(slug: str) -> Response:
    """Pause signing (a surge, a problem to look into) or resume it; the public page says so."""
    campaign = _managed_or_403(slug)
    action = request.form.get("action")
    if action not in ("pause", "resume"):
        abort(400)
    paused = action == "pause"
    if campaign.signing_paused != paused:
        campaign.signing_paused = paused
        record(db.session, f"campaigns.{action}", actor=current_user, target=campaign)
        db.session.commit()
    if paused:
        flash(_("Signing is paused: the public page says so, and no signature is taken until "
                "you resume it."))  # fmt: skip
    else:
        flash(_("Signing is resumed: people can sign again."))
    return redirect(url_for("campaigns.admin.show", slug=slug))


def _filters() -> Filters:
    return Filters(
        status=request.args.get("status", "")[:16],
        country=request.args.get("country", "")[:2],
        kind=request.args.get("kind", "")[:16],
    )


@bp.get("/<slug>/signatures")
@organizer_required
def signatures(slug: str) -> str:
    """The moderation queue, filtered by status, country and kind."""
    campaign = _managed_or_403(slug)
    filters = _filters()
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    query = filtered(campaign, filters).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    return render_template(
        "campaigns/admin/signatures.html", campaign=campaign, filters=filters, page=page,
        signatures=list(db.session.scalars(query)), counts=status_counts(db.session, campaign),
        reject_form=RejectSignaturesForm(),
    )  # fmt: skip


@bp.post("/<slug>/signatures/decide")
@organizer_required
def decide(slug: str) -> Response:
    """Approve or reject the selected signatures at once."""
    campaign = _managed_or_403(slug)
    ids = [int(value) for value in request.form.getlist("ids") if value.isdigit()]
    try:
        if request.form.get("action") == "approve":
            done = approve(db.session, campaign, ids, current_user)
            flash(_("%(n)s signature(s) approved.", n=done))
        elif request.form.get("action") == "reject":
            done = reject(db.session, campaign, ids, current_user, request.form.get("reason", ""))
            flash(_("%(n)s signature(s) rejected.", n=done))
        else:
            abort(400)
    except ModerationError as exc:
        db.session.rollback()
        flash(_(str(exc)))
    else:
        db.session.commit()
    return redirect(request.referrer if _same_site(request.referrer) else
                    url_for("campaigns.admin.signatures", slug=slug))  # fmt: skip


def _same_site(url: str | None) -> bool:

    if not url:
        return False
    host = request.host_url.rstrip("/")
    return url.startswith(host + "/") and safe_next(url[len(host) :]) is not None


@bp.route("/<slug>/signatures/<int:signature_id>", methods=["GET", "POST"])
@organizer_required
def edit_signature(slug: str, signature_id: int) -> str | Response | tuple[str, int]:
    """Correct a typo in a name or organization (audited)."""
    campaign = _managed_or_403(slug)
    signature = db.session.get(Signature, signature_id)
    if signature is None or signature.campaign_id != campaign.id:
        abort(404)
    form = CorrectSignatureForm(obj=signature)
    if form.validate_on_submit():
        correct(db.session, signature, current_user, name=form.name.data,
                organization=form.organization.data or "")  # fmt: skip
        db.session.commit()
        flash(_("The signature is corrected."))
        return redirect(url_for("campaigns.admin.signatures", slug=slug))
    status = 422 if form.errors else 200
    return render_template("campaigns/admin/edit_signature.html", campaign=campaign,
                           signature=signature, form=form), status  # fmt: skip


@bp.route("/<slug>/fraud", methods=["GET", "POST"])
@organizer_required
def fraud(slug: str) -> str | Response | tuple[str, int]:
    """Unusual patterns by hour, and invalidation by condition after seeing its count."""
    campaign = _managed_or_403(slug)
    form = InvalidateForm()
    preview = None
    if form.validate_on_submit():
        condition = Condition(
            ip=(form.ip.data or "").strip(),
            domain=(form.domain.data or "").strip(),
            start=form.start.data.replace(tzinfo=UTC) if form.start.data else None,
            end=form.end.data.replace(tzinfo=UTC) if form.end.data else None,
        )
        try:
            if request.form.get("confirm") == "1":
                done = invalidate(db.session, campaign, condition, current_user)
                db.session.commit()
                flash(_("%(n)s signature(s) invalidated.", n=done))
                return redirect(url_for("campaigns.admin.fraud", slug=slug))
            preview = count_matching(db.session, campaign, condition)
        except ModerationError as exc:
            form.ip.errors = [*form.ip.errors, _(str(exc))]
    status = 422 if form.errors else 200
    return render_template(
        "campaigns/admin/fraud.html", campaign=campaign, form=form, preview=preview,
        patterns=hourly_patterns(db.session, campaign),
    ), status  # fmt: skip


@bp.get("/<slug>/export")
@organizer_required
def export(slug: str) -> Response:
    """A signature list as CSV, XLSX or JSON, streamed; every export is in the audit log."""
    campaign = _managed_or_403(slug)
    fmt = request.args.get("format", "csv")
    if fmt not in FORMATS:
        abort(400, description=_("The format must be csv, xlsx or json."))
    export_request = ExportRequest(
        shape=request.args.get("shape", "full"),
        status=request.args.get("status", "")[:16],
        kind=request.args.get("kind", "")[:16],
        country=request.args.get("country", "")[:2],
    )
    try:
        header = columns(export_request, campaign)
    except ExportError as exc:
        abort(400, description=_(str(exc)))
    record(db.session, "signatures.export", actor=current_user, target=campaign,
           details={"format": fmt, **export_request.__dict__})  # fmt: skip
    db.session.commit()
    mimetype, extension = FORMATS[fmt]
    rows = export_rows(db.session, campaign, export_request)
    body = stream_with_context(export_chunks(fmt, header, rows))
    response = Response(body, mimetype=mimetype.split(";")[0])
    response.headers["Content-Type"] = mimetype
    filename = f"{campaign.slug}-{export_request.shape}.{extension}"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _document_language(campaign: Campaign) -> str:
    """The language asked for (?lang=), which must be one the campaign's text is in."""
    language = request.args.get("lang") or campaign.language
    if language not in campaign.languages:
        offered = ", ".join(own_name(code) for code in campaign.languages)
        message = _("This campaign's text is not in “%(lang)s”. It is in: %(langs)s.",
                    lang=language[:20], langs=offered)  # fmt: skip
        abort(Response(render_template("errors/error.html", code=404, title=_("Not found"),
                                       message=message), 404))  # fmt: skip
    return language


@bp.get("/<slug>/letter.pdf")
@organizer_required
def letter(slug: str) -> Response | tuple[str, int]:
    """The final letter with its signatories; a long one is built in the background."""
    campaign = _managed_or_403(slug)
    result = documents.final_letter_pdf(campaign, _document_language(campaign))
    if result.path is None:
        return render_template("campaigns/admin/building.html", campaign=campaign,
                               result=result), 202  # fmt: skip
    record(db.session, "campaigns.final_letter", actor=current_user, target=campaign,
           details={"signatories": result.total})  # fmt: skip
    db.session.commit()
    response = Response(result.path.read_bytes(), mimetype="application/pdf")
    filename = f"{campaign.slug}-signed.pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<slug>/letter.docx")
@organizer_required
def letter_docx(slug: str) -> Response:
    """The final letter (or petition delivery document) as an editable DOCX; audited."""
    from toolkit.campaigns.final_letter import PetitionDelivery  # noqa: PLC0415
    from toolkit.documents.docx import MIMETYPE, final_letter_docx, petition_docx  # noqa: PLC0415

    campaign = _managed_or_403(slug)
    document, labels = documents.build_document(campaign, _document_language(campaign))
    if isinstance(document, PetitionDelivery):
        data, total = petition_docx(document, labels), document.signers.total
    else:
        data, total = final_letter_docx(document, labels=labels), document.signatories.total
    record(db.session, "campaigns.final_letter", actor=current_user, target=campaign,
           details={"signatories": total, "format": "docx"})  # fmt: skip
    db.session.commit()
    response = Response(data, mimetype=MIMETYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="{campaign.slug}-signed.docx"'
    response.headers["Cache-Control"] = "no-store"
    return response


# --- batch letters: the final letter, one copy per government, as a ZIP ---------------------


def _country_choices() -> list[tuple[str, str]]:
    """The countries menu: every state, the signatories' countries, each M49 region, a list."""
    from toolkit.letters.batch import known_regions  # noqa: PLC0415

    return [("all", _("Every member state")),
            ("signatories", _("The countries the signatories come from")),
            *((name, name) for name in known_regions(db.session)),
            ("codes", _("A list of countries (codes below)"))]  # fmt: skip


def _letters_job(context, campaign_id: int, codes: list[str], language: str) -> str:  # noqa: ANN001
    """The background part of batch letters: compose, render on every core, zip."""
    from toolkit.campaigns.letters import campaign_letters  # noqa: PLC0415
    from toolkit.contacts.models import MemberState  # noqa: PLC0415
    from toolkit.letters.batch import make_batch  # noqa: PLC0415

    campaign = db.session.get(Campaign, campaign_id)
    states = [db.session.get(MemberState, code) for code in codes]
    context.progress(0, len(states), "composing")
    letters = campaign_letters(db.session, campaign, states, language)
    path = context.result_file(f"{campaign.slug}-letters.zip")
    report = make_batch(
        letters, path, workers=current_app.config.get("BATCH_WORKERS"),
        timeout=float(current_app.config["PDF_TIMEOUT"]),
        progress=lambda done, total: context.progress(done, total, "rendering"),
    )  # fmt: skip
    context.progress(report.total, report.total, f"{len(report.made)} made, "
                     f"{len(report.failures)} failed")  # fmt: skip
    return str(path)


def _letters_job_or_404(campaign: Campaign, job_id: str):  # noqa: ANN202 - a toolkit.jobs.Job
    from toolkit.jobs import get_job  # noqa: PLC0415

    job = get_job(current_app._get_current_object(), job_id)  # type: ignore[attr-defined]
    if job is None or job.kind != f"campaign-letters:{campaign.id}":
        abort(404)
    return job


@bp.route("/<slug>/letters", methods=["GET", "POST"])
@organizer_required
def letters(slug: str) -> str | Response | tuple[str, int]:
    """Batch letters: choose the countries and language, then build them in the background."""
    from toolkit.campaigns.letters import signatory_count, signatory_countries  # noqa: PLC0415
    from toolkit.jobs import JobError, start_job  # noqa: PLC0415
    from toolkit.letters.batch import BatchError, select_countries  # noqa: PLC0415

    campaign = _managed_or_403(slug)
    choice = request.form.get("countries", "all")[:100]
    codes = request.form.get("codes", "")[:2000]
    language = request.form.get("language", campaign.language)[:8]
    error = ""
    if request.method == "POST":
        try:
            if campaign.kind != "sign-on":
                raise BatchError(_("Batch letters are made from sign-on letters, not petitions."))
            if language not in LETTER_LANGUAGES:
                raise BatchError(_("Choose one of the languages offered."))
            spec = codes if choice == "codes" else choice
            states = select_countries(db.session, spec,
                                      signatory_countries(db.session, campaign))  # fmt: skip
        except BatchError as exc:
            error = str(exc)
        else:
            app = current_app._get_current_object()  # type: ignore[attr-defined]
            chosen, campaign_id = [state.iso2 for state in states], campaign.id
            try:
                job_id = start_job(app, f"campaign-letters:{campaign_id}", _letters_job,
                                   campaign_id, chosen, language,
                                   owner=str(current_user.id))  # fmt: skip
            except JobError as exc:
                error = _("The letters could not be started: %(error)s", error=str(exc))
            else:
                record(db.session, "campaigns.letters", actor=current_user, target=campaign,
                       details={"countries": spec, "letters": len(chosen),
                                "language": language, "job": job_id})  # fmt: skip
                db.session.commit()
                return redirect(url_for("campaigns.admin.letters_job", slug=slug, job_id=job_id))
    page = render_template(
        "campaigns/admin/letters.html", campaign=campaign, choices=_country_choices(),
        choice=choice, codes=codes, language=language, languages=LETTER_LANGUAGES,
        error=error, signatories=signatory_count(db.session, campaign),
    )  # fmt: skip
    return (page, 422) if error else page


@bp.get("/<slug>/letters/<job_id>")
@organizer_required
def letters_job(slug: str, job_id: str) -> str:
    """The batch's progress (the page reloads itself), then the download and any failures."""
    from toolkit.jobs import job_result_path  # noqa: PLC0415
    from toolkit.letters.batch import read_index  # noqa: PLC0415

    campaign = _managed_or_403(slug)
    job = _letters_job_or_404(campaign, job_id)
    path = job_result_path(current_app._get_current_object(), job)  # type: ignore[attr-defined]
    rows = read_index(path) if path is not None else []
    return render_template("campaigns/admin/letters_job.html", campaign=campaign, job=job,
                           rows=rows, failed=[r for r in rows if r["status"] != "ok"])  # fmt: skip


@bp.get("/<slug>/letters/<job_id>/download")
@organizer_required
def letters_download(slug: str, job_id: str) -> Response:
    """The batch's ZIP, for the campaign's organizers only."""
    from flask import send_file  # noqa: PLC0415

    from toolkit.jobs import job_result_path  # noqa: PLC0415

    campaign = _managed_or_403(slug)
    job = _letters_job_or_404(campaign, job_id)
    path = job_result_path(current_app._get_current_object(), job)  # type: ignore[attr-defined]
    if path is None:
        abort(404)
    record(db.session, "campaigns.letters_download", actor=current_user, target=campaign,
           details={"job": job.id})  # fmt: skip
    db.session.commit()
    response = send_file(path, mimetype="application/zip", as_attachment=True,
                         download_name=f"{campaign.slug}-letters.zip")  # fmt: skip
    response.headers["Cache-Control"] = "no-store"
    return response
