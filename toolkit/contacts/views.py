"""The member-state directory: public pages, corrections, and the organizers' import and export."""

from __future__ import annotations

import base64
import binascii

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from toolkit.accounts.access import organizer_required
from toolkit.accounts.audit import record
from toolkit.contacts.corrections import (
    CorrectionError,
    NewCorrection,
    approve_correction,
    pending_corrections,
    reject_correction,
    suggest_correction,
)
from toolkit.contacts.directory import (
    countries_with_verified_contact,
    get_member_state,
    search_member_states,
)
from toolkit.contacts.forms import ContactPointForm, CorrectionForm, ImportForm, RejectForm
from toolkit.contacts.models import ContactCorrection, ContactStatus, MemberState
from toolkit.contacts.spreadsheet import apply_import, export_contacts_csv, plan_import
from toolkit.extensions import db, limiter
from toolkit.i18n import current_language
from toolkit.letters.catalog import get_catalog
from toolkit.mail.outbox import deliver_soon, queue_message

bp = Blueprint("contacts", __name__)


def _state_or_404(code: str) -> MemberState:
    state = get_member_state(db.session, code)
    if state is None:
        abort(404, description=_("There is no member state with the code “%(code)s”.", code=code))
    return state


@bp.get("/countries")
def index() -> str:
    """Every member state by region, searchable in the six UN languages and by ISO code."""
    query = (request.args.get("q") or "").strip()[:100]
    states = search_member_states(db.session, query, current_language())
    verified = countries_with_verified_contact(db.session)
    regions: dict[str, list[MemberState]] = {}
    for state in states:
        regions.setdefault(state.m49_region, []).append(state)
    return render_template(
        "contacts/index.html",
        regions=sorted(regions.items()),
        query=query,
        count=len(states),
        verified=verified,
        language=current_language(),
    )


def _correction_form(state: MemberState, **kwargs: object) -> CorrectionForm:
    form = CorrectionForm(**kwargs)
    form.contact_point.choices = [SelectChoice("", _("A contact point that is missing"))] + [
        SelectChoice(str(p.id), f"{p.organization} ({p.role})") for p in state.contact_points
    ]
    return form


def _show(state: MemberState, form: CorrectionForm, status: int = 200) -> tuple[str, int]:
    catalog = get_catalog(current_app.config["LETTER_TEMPLATES_DIR"]).in_language(
        current_language()
    )
    letters = [t for t in catalog.templates.values() if t.recipient == "government"]
    points = sorted(
        state.contact_points,
        key=lambda p: (p.status != ContactStatus.VERIFIED.value, p.role, p.organization),
    )
    page = render_template(
        "contacts/show.html", state=state, points=points, letters=letters, form=form,
        language=current_language(),
    )  # fmt: skip
    return page, status


@bp.get("/countries/<code>")
def show(code: str) -> tuple[str, int]:
    """One member state: its contact points with source and date, and letters to it."""
    state = _state_or_404(code)
    return _show(state, _correction_form(state))


@bp.post("/countries/<code>/corrections")
@limiter.limit("5 per hour;20 per day")
def suggest(code: str) -> Response | tuple[str, int]:
    """Take a suggested correction into the organizers' queue."""
    state = _state_or_404(code)
    form = _correction_form(state)
    if form.nickname.data:
        message = _("This looked like an automated submission, so it was not accepted.")
        return render_template("errors/error.html", code=400, title=_("Not accepted"),
                               message=message), 400  # fmt: skip
    if not form.validate():
        return _show(state, form, 422)
    point_id = int(form.contact_point.data) if form.contact_point.data else None
    try:
        suggest_correction(
            db.session, state,
            NewCorrection(form.what_is_wrong.data, form.correct_detail.data, form.source.data,
                          point_id, form.email.data or ""),
        )  # fmt: skip
    except CorrectionError as exc:
        form.source.errors.append(str(exc))
        return _show(state, form, 422)
    db.session.commit()
    flash(_("Thank you. Organizers will check your correction against its source."))
    return redirect(url_for("contacts.show", code=state.iso2))


# Organizers


@bp.get("/admin/corrections")
@organizer_required
def admin_corrections() -> str:
    """Suggested corrections waiting for a decision."""
    return render_template("contacts/admin_corrections.html",
                           corrections=pending_corrections(db.session))  # fmt: skip


def _correction_or_404(correction_id: int) -> ContactCorrection:
    correction = db.session.get(ContactCorrection, correction_id)
    if correction is None:
        abort(404)
    return correction


def _review(correction: ContactCorrection, form: ContactPointForm, reject: RejectForm,
            status: int = 200) -> tuple[str, int]:  # fmt: skip
    return render_template("contacts/admin_review.html", correction=correction, form=form,
                           reject_form=reject), status  # fmt: skip


@bp.get("/admin/corrections/<int:correction_id>")
@organizer_required
def admin_review(correction_id: int) -> tuple[str, int]:
    """One correction beside the contact point it would change."""
    correction = _correction_or_404(correction_id)
    form = ContactPointForm(obj=correction.contact_point)
    return _review(correction, form, RejectForm())


def _notify(correction: ContactCorrection, approved: bool) -> None:
    if not correction.suggester_email:
        return

    state = correction.member_state
    text = render_template("contacts/email/outcome.txt", correction=correction, state=state,
                           approved=approved)  # fmt: skip
    queue_message(db.session, to=correction.suggester_email, text=text,
                  subject=_("Your correction for %(country)s", country=state.name_en),
                  kind="correction-outcome")  # fmt: skip


def _after_decision() -> None:

    deliver_soon()


@bp.post("/admin/corrections/<int:correction_id>/approve")
@organizer_required
def admin_approve(correction_id: int) -> Response | tuple[str, int]:
    """Apply the checked details to the directory."""
    correction = _correction_or_404(correction_id)
    form = ContactPointForm()
    if not form.validate():
        return _review(correction, form, RejectForm(), 422)
    values = {name: form[name].data or "" for name in form.data if name != "csrf_token"}
    try:
        approve_correction(db.session, correction, current_user, values)
    except CorrectionError as exc:
        flash(str(exc))
        return redirect(url_for("contacts.admin_corrections"))
    _notify(correction, approved=True)
    db.session.commit()
    _after_decision()
    flash(_("The directory is updated."))
    return redirect(url_for("contacts.admin_corrections"))


@bp.post("/admin/corrections/<int:correction_id>/reject")
@organizer_required
def admin_reject(correction_id: int) -> Response | tuple[str, int]:
    """Refuse a correction with a reason (kept in the audit log)."""
    correction = _correction_or_404(correction_id)
    reject = RejectForm()
    if not reject.validate():
        return _review(correction, ContactPointForm(obj=correction.contact_point), reject, 422)
    try:
        reject_correction(db.session, correction, current_user, reject.reason.data)
    except CorrectionError as exc:
        flash(str(exc))
        return redirect(url_for("contacts.admin_corrections"))
    _notify(correction, approved=False)
    db.session.commit()
    _after_decision()
    flash(_("The correction was rejected."))
    return redirect(url_for("contacts.admin_corrections"))


@bp.route("/admin/contacts/import", methods=["GET", "POST"])
@organizer_required
def admin_import() -> Response | tuple[str, int]:
    """Upload a CSV, see every change it would make, then apply it all or nothing."""
    form = ImportForm()
    if request.method == "GET":
        return render_template("contacts/admin_import.html", form=form, plan=None), 200
    encoded = request.form.get("content", "")
    if encoded:  # the confirmation of a preview: the same bytes come back (CSRF-checked globally)
        try:
            data = base64.b64decode(encoded.encode(), validate=True)
        except (binascii.Error, ValueError):
            abort(400, description=_("The uploaded file was damaged; upload it again."))
    elif form.validate_on_submit():
        data = form.file.data.read()
    else:
        return render_template("contacts/admin_import.html", form=form, plan=None), 422
    plan = plan_import(db.session, data)
    if plan.ok and request.form.get("confirm") == "1":
        apply_import(db.session, plan)
        record(db.session, "contacts.import", actor=current_user,
               details={"added": len(plan.added), "changed": len(plan.changed)})  # fmt: skip
        db.session.commit()
        flash(_("Imported: %(summary)s.", summary=plan.summary()))
        return redirect(url_for("contacts.admin_import"))
    status = 200 if plan.ok else 422
    return render_template(
        "contacts/admin_import.html", form=form, plan=plan,
        content=base64.b64encode(data).decode(),
    ), status  # fmt: skip


@bp.get("/admin/contacts/export")
@organizer_required
def admin_export() -> Response:
    """Every contact point as CSV, in the import format."""
    record(db.session, "contacts.export", actor=current_user)
    db.session.commit()
    response = make_response(export_contacts_csv(db.session))
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = 'attachment; filename="contact_points.csv"'
    return response
