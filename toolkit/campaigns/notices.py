"""Emails to signers, queued in the outbox: confirm, or manage a signature made before."""

from __future__ import annotations

from flask import current_app, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _

from toolkit.campaigns.models import Signature
from toolkit.campaigns.signing import CONFIRM, MANAGE, make_token
from toolkit.extensions import db
from toolkit.mail.outbox import deliver_soon, queue_message


def signer_link(signature: Signature, purpose: str) -> str:
    """An absolute link for an email: confirm, or manage (update or withdraw)."""
    token = make_token(current_app.config["SECRET_KEY"], signature, purpose)
    endpoint = "campaigns.confirm_view" if purpose == CONFIRM else "campaigns.manage"
    path = url_for(endpoint, slug=signature.campaign.slug, token=token)
    return current_app.config["BASE_URL"].rstrip("/") + path


def _queue(signature: Signature, template: str, subject: str, kind: str) -> None:
    """Queue one message to the signer; the caller commits."""

    context = {
        "signature": signature,
        "campaign": signature.campaign,
        "confirm_link": signer_link(signature, CONFIRM),
        "manage_link": signer_link(signature, MANAGE),
    }
    language = signature.language or signature.campaign.language or "en"
    with force_locale(language):  # the language they signed in
        queue_message(
            db.session,
            to=signature.email,
            subject=_(subject, title=signature.campaign.text_in(language).title),
            text=render_template(f"campaigns/email/{template}.txt", **context),
            html=render_template(f"campaigns/email/{template}.html", **context),
            kind=kind,
        )


def queue_confirmation(signature: Signature) -> None:
    """Ask the signer to confirm (every email also carries the link to withdraw)."""
    _queue(signature, "confirm", "Please confirm your signature: %(title)s", "signature-confirm")


def send_manage_link(signature: Signature) -> None:
    """This address signed before: offer to update or withdraw, never a second signature."""

    _queue(signature, "manage", "Your signature on: %(title)s", "signature-manage")
    db.session.commit()
    deliver_soon()
