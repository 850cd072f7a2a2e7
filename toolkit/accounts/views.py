"""Log in, log out, reset a forgotten password."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from toolkit.accounts.audit import record
from toolkit.accounts.forms import LoginForm, NewPasswordForm, ResetRequestForm
from toolkit.accounts.models import User
from toolkit.accounts.service import (
    AccountError,
    authenticate,
    check_reset_token,
    find_user,
    make_reset_token,
    set_password,
)
from toolkit.extensions import db, limiter, login_manager
from toolkit.mail.outbox import deliver_soon, queue_message
from toolkit.validation import safe_next

bp = Blueprint("accounts", __name__)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The logged-in organizer, from the id kept in the session."""
    if not user_id.isdigit():
        return None
    return db.session.get(User, int(user_id))


def _client_ip() -> str:
    return request.remote_addr or ""


def _login_email_key() -> str:
    """Rate-limit key: the email being tried, so one account cannot be guessed at from many IPs."""
    return "login:" + (request.form.get("email") or "").strip().lower()[:254]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute;100 per day", methods=["POST"])
@limiter.limit("5 per minute;30 per hour", methods=["POST"], key_func=_login_email_key)
def login() -> str | Response | tuple[str, int]:
    """The organizers' login."""
    if current_user.is_authenticated:
        return redirect(url_for("admin.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(db.session, form.email.data, form.password.data)
        if user is None:
            record(db.session, "auth.login_failed", actor=form.email.data[:254], ip=_client_ip())
            db.session.commit()
            form.password.errors.append(_("Email or password is incorrect."))
            return render_template("accounts/login.html", form=form), 401
        login_user(user)
        record(db.session, "auth.login", actor=user, target=user, ip=_client_ip())
        db.session.commit()
        return redirect(safe_next(request.args.get("next")) or url_for("admin.index"))
    status = 422 if form.errors else 200
    return render_template("accounts/login.html", form=form), status


@bp.post("/logout")
def logout() -> Response:
    """Log out (a POST with the CSRF token, so no link can log someone out)."""
    if current_user.is_authenticated:
        record(db.session, "auth.logout", actor=current_user, ip=_client_ip())
        db.session.commit()
    logout_user()
    flash(_("You are logged out."))
    return redirect(url_for("main.index"))


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit("5 per minute;20 per hour", methods=["POST"])
def reset_request() -> str | tuple[str, int]:
    """Ask for a reset link; the answer is the same whether or not the account exists."""
    form = ResetRequestForm()
    if form.validate_on_submit():
        user = find_user(db.session, form.email.data)
        if user is not None and user.active:
            send_password_link(user, purpose="reset")
            record(db.session, "auth.reset_requested", actor=user, target=user, ip=_client_ip())
            db.session.commit()

            deliver_soon()
        return render_template("accounts/reset_sent.html", email=form.email.data)
    return render_template("accounts/reset_request.html", form=form), 422 if form.errors else 200


def send_password_link(user: User, *, purpose: str) -> None:
    """Queue the email with a single-use link to set a password (the caller commits)."""

    token = make_reset_token(current_app.config["SECRET_KEY"], user)
    link = current_app.config["BASE_URL"].rstrip("/") + url_for("accounts.reset", token=token)
    hours = current_app.config["PASSWORD_RESET_MAX_AGE"] // 3600 or 1
    template = "accounts/email/invite" if purpose == "invite" else "accounts/email/reset"
    context = {"user": user, "link": link, "hours": hours}
    queue_message(
        db.session,
        to=user.email,
        subject=_("Set your password") if purpose == "invite" else _("Reset your password"),
        text=render_template(template + ".txt", **context),
        html=render_template(template + ".html", **context),
        kind=f"password-{purpose}",
    )


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def reset(token: str) -> str | Response | tuple[str, int]:
    """Choose a new password from an emailed link. Opening the link changes nothing."""
    if len(token) > 500:
        abort(404)
    try:
        user = check_reset_token(
            db.session,
            current_app.config["SECRET_KEY"],
            token,
            current_app.config["PASSWORD_RESET_MAX_AGE"],
        )
    except AccountError as exc:
        return render_template("accounts/reset_invalid.html", message=str(exc)), 400
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            set_password(user, form.password.data)
        except AccountError as exc:
            form.password.errors.append(str(exc))
        else:
            record(db.session, "auth.password_reset", actor=user, target=user, ip=_client_ip())
            db.session.commit()
            flash(_("Your password is set. You can log in now."))
            return redirect(url_for("accounts.login"))
    return render_template("accounts/reset.html", form=form, user=user), (
        422 if form.errors else 200
    )
