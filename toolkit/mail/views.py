"""Admin pages for the outbox: what was sent, what waits, what failed; send a failed one again."""

from __future__ import annotations

from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from toolkit.accounts.access import admin_required
from toolkit.accounts.audit import record
from toolkit.extensions import db
from toolkit.mail.delivery import message_headers
from toolkit.mail.models import MessageStatus, OutboxMessage
from toolkit.mail.outbox import (
    OutboxError,
    count_by_status,
    deliver_soon,
    list_messages,
    requeue_message,
)

bp = Blueprint("mail", __name__, url_prefix="/admin/outbox")

PAGE_SIZE = 50
FILTERS = (MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.SENT, MessageStatus.FAILED)


def _message_or_404(message_id: int) -> OutboxMessage:
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        abort(404)
    return message


@bp.get("/")
@admin_required
def index() -> str:
    """Messages newest first, with how many are in each state."""
    status = request.args.get("status") or None
    if status not in {s.value for s in MessageStatus}:
        status = None
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    messages = list_messages(
        db.session, status=status, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE
    )
    return render_template(
        "mail/index.html",
        messages=messages[:PAGE_SIZE],
        has_more=len(messages) > PAGE_SIZE,
        page=page,
        status=status,
        statuses=FILTERS,
        counts=count_by_status(db.session),
    )


@bp.get("/<int:message_id>")
@admin_required
def show(message_id: int) -> str:
    """One message: its headers as sent, its text, its history."""
    message = _message_or_404(message_id)
    try:
        headers = message_headers(message, current_app.config)
    except Exception:  # noqa: BLE001 - a malformed row is still worth looking at
        current_app.logger.exception("outbox: cannot rebuild message %s", message_id)
        headers = []
    return render_template(
        "mail/show.html",
        message=message,
        headers=headers,
        has_eml=_eml_file(message) is not None,
        failed=message.status == MessageStatus.FAILED.value,
    )


def _eml_file(message: OutboxMessage) -> Path | None:
    """The message's .eml file, only if it exists and lies inside OUTBOX_DIR."""
    if not message.eml_path:
        return None
    outbox = Path(current_app.config["OUTBOX_DIR"]).resolve()
    path = Path(message.eml_path).resolve()
    if not path.is_relative_to(outbox) or not path.is_file():
        return None
    return path


@bp.get("/<int:message_id>/eml")
@admin_required
def eml(message_id: int) -> Response:
    """Download the .eml file written for a message (when no SMTP server was set)."""
    path = _eml_file(_message_or_404(message_id))
    if path is None:
        abort(404)
    return send_file(path, mimetype="message/rfc822", as_attachment=True, download_name=path.name)


@bp.post("/<int:message_id>/retry")
@admin_required
def retry(message_id: int) -> Response:
    """Send a failed message again, with a fresh set of attempts (recorded in the audit log)."""
    message = _message_or_404(message_id)
    try:
        requeue_message(db.session, message)
    except OutboxError:
        flash(_("Only a message that failed can be sent again."))
        return redirect(url_for("mail.show", message_id=message.id))
    record(db.session, "mail.requeue", actor=current_user, target=message,
           details={"kind": message.kind})  # fmt: skip
    db.session.commit()
    deliver_soon()
    flash(_("The message is queued again and will be sent shortly."))
    return redirect(url_for("mail.show", message_id=message.id))
