"""The organizers' pages: the dashboard; accounts, the audit log and signers' data (admins)."""

from __future__ import annotations

import secrets

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
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import EmailField
from wtforms.validators import DataRequired, Length

from toolkit.accounts.access import admin_required, organizer_required
from toolkit.accounts.audit import recent_events, record
from toolkit.accounts.forms import NewUserForm, RoleForm
from toolkit.accounts.models import User
from toolkit.accounts.service import AccountError, create_user, list_users
from toolkit.accounts.views import send_password_link
from toolkit.campaigns.privacy import PrivacyError, erase_signer, plan_erasure
from toolkit.contacts.corrections import count_pending_corrections
from toolkit.extensions import db
from toolkit.mail.outbox import count_failed, deliver_soon
from toolkit.resources.bank import count_pending_suggestions
from toolkit.validation import clean_line

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/")
@organizer_required
def index() -> str:
    """What waits for the organizers: suggestions to moderate, mail that failed."""

    return render_template(
        "admin/index.html",
        pending_suggestions=count_pending_suggestions(db.session),
        pending_corrections=count_pending_corrections(db.session),
        failed_mail=count_failed(db.session) if current_user.is_admin else None,
    )


@bp.get("/users")
@admin_required
def users() -> str:
    """Every account (admins only)."""
    return render_template(
        "admin/users.html", users=list_users(db.session), form=NewUserForm(), role_form=RoleForm()
    )


@bp.post("/users")
@admin_required
def create_user_view() -> Response | tuple[str, int]:
    """Invite an organizer: the account is made and a link to set the password is emailed."""
    form = NewUserForm()
    if form.validate_on_submit():
        try:
            user = create_user(
                db.session, form.email.data, secrets.token_urlsafe(32), form.role.data,
                form.name.data,
            )  # fmt: skip
        except AccountError as exc:
            db.session.rollback()
            form.email.errors.append(str(exc))
        else:
            send_password_link(user, purpose="invite")
            record(db.session, "users.create", actor=current_user, target=user,
                   details={"role": user.role})  # fmt: skip
            db.session.commit()

            deliver_soon()
            flash(_("Account created for %(email)s; they were sent a link to set a password.",
                    email=user.email))  # fmt: skip
            return redirect(url_for("admin.users"))
    page = render_template(
        "admin/users.html", users=list_users(db.session), form=form, role_form=RoleForm()
    )
    return page, 422


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.post("/users/<int:user_id>/role")
@admin_required
def change_role(user_id: int) -> Response:
    """Make an account an admin or an organizer."""
    user = _user_or_404(user_id)
    form = RoleForm()
    if form.validate_on_submit() and form.role.data != user.role:
        if user.id == current_user.id:
            flash(_("You cannot change your own role; ask another admin."))
        else:
            record(db.session, "users.role", actor=current_user, target=user,
                   details={"from": user.role, "to": form.role.data})  # fmt: skip
            user.role = form.role.data
            db.session.commit()
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/active")
@admin_required
def toggle_active(user_id: int) -> Response:
    """Disable an account (it can no longer log in) or enable it again."""
    user = _user_or_404(user_id)
    if user.id == current_user.id:
        flash(_("You cannot disable your own account."))
        return redirect(url_for("admin.users"))
    user.active = not user.active
    record(db.session, "users.enable" if user.active else "users.disable",
           actor=current_user, target=user)  # fmt: skip
    db.session.commit()
    return redirect(url_for("admin.users"))


@bp.get("/audit")
@admin_required
def audit() -> str:
    """The audit log, newest first (admins only)."""
    action = request.args.get("action") or None
    events = recent_events(db.session, limit=500, action=action)
    return render_template("admin/audit.html", events=events, action=action)


# --- signers' data: erasure on request (admins only) -----------------------------------------
# The address travels in POST bodies only: never in a URL, a flash message or the audit log.


class ErasureForm(FlaskForm):
    """The address of a person who asked for their data to be erased."""

    email = EmailField(_l("Email address"), [DataRequired(), Length(max=254)], filters=[clean_line])


def _private(page: str, status: int = 200) -> Response:
    response = make_response(page, status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _privacy_page(form: ErasureForm, status: int = 200) -> Response:
    return _private(render_template("admin/privacy.html", form=form), status)


@bp.get("/privacy")
@admin_required
def privacy() -> Response:
    """Erase a person's data on request: enter their address (admins only)."""
    return _privacy_page(ErasureForm())


@bp.post("/privacy/preview")
@admin_required
def privacy_preview() -> Response:
    """What an erasure would touch, before anything is done."""
    form = ErasureForm()
    if not form.validate_on_submit():
        return _privacy_page(form, 422)
    try:
        plan = plan_erasure(db.session, form.email.data)
    except PrivacyError as exc:
        form.email.errors.append(_("This is not a usable email address: %(reason)s",
                                   reason=exc.reason))  # fmt: skip
        return _privacy_page(form, 422)
    return _private(render_template("admin/privacy_preview.html", form=form, plan=plan))


@bp.post("/privacy/erase")
@admin_required
def privacy_erase() -> Response:
    """Erase the person's data (after the preview), then say what was done."""
    form = ErasureForm()
    if not form.validate_on_submit():
        return _privacy_page(form, 422)
    try:
        report = erase_signer(db.session, form.email.data, current_user,
                              outbox_dir=current_app.config["OUTBOX_DIR"])  # fmt: skip
    except PrivacyError as exc:
        db.session.rollback()
        form.email.errors.append(_("This is not a usable email address: %(reason)s",
                                   reason=exc.reason))  # fmt: skip
        return _privacy_page(form, 422)
    db.session.commit()
    if report.nothing_found:
        flash(_("Nothing to erase: no signature and no waiting mail used that address. "
                "The request is recorded in the audit log (fingerprint %(fp)s).",
                fp=report.fingerprint))  # fmt: skip
    else:
        flash(_("Erased: %(signatures)s signature(s) on %(campaigns)s campaign(s), "
                "%(messages)s message(s) deleted from the outbox. Counts are unchanged. "
                "Audit log fingerprint: %(fp)s.",
                signatures=report.signatures, campaigns=len(report.campaigns),
                messages=report.messages_deleted + report.messages_redacted,
                fp=report.fingerprint))  # fmt: skip
    if report.messages_in_flight:
        flash(_("%(n)s message(s) to that address were being sent and were left: erase the "
                "address again in a few minutes.", n=report.messages_in_flight))  # fmt: skip
    return redirect(url_for("admin.privacy"))
