"""Emails to signers, queued in the outbox: confirm, or manage a signature made before.

The signing request only queues a row naming the signature; the sender writes the message
(in the signer's language, with fresh links) just before it goes out. Under a surge, web
processes then spend nothing on composing mail, and SQLite's write lock is held only for
the two inserts (see ``signing.sign``).
"""

from __future__ import annotations

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from toolkit.campaigns.models import Campaign, Signature
from toolkit.campaigns.rules import SigningRules
from toolkit.campaigns.signing import CONFIRM, MANAGE, canonical_email, find_signature, make_token
from toolkit.extensions import db
from toolkit.mail.models import OutboxMessage
from toolkit.mail.outbox import (
    Composed,
    deliver_soon,
    insert_rows,
    message_row,
    register_composer,
)
from toolkit.validation import normalize_email

CONFIRM_KIND = "signature-confirm"
MANAGE_KIND = "signature-manage"
_SUBJECTS = {
    CONFIRM_KIND: ("confirm", "Please confirm your signature: %(title)s"),
    MANAGE_KIND: ("manage", "Your signature on: %(title)s"),
}


def signer_link(signature: Signature, purpose: str) -> str:
    """An absolute link for an email: confirm, or manage (update or withdraw).

    Built from the URL map, not the request, so a worker without a request can build it.
    """
    token = make_token(current_app.config["SECRET_KEY"], signature, purpose)
    endpoint = "campaigns.confirm_view" if purpose == CONFIRM else "campaigns.manage"
    adapter = current_app.url_map.bind("localhost")
    path = adapter.build(endpoint, {"slug": signature.campaign.slug, "token": token})
    return current_app.config["BASE_URL"].rstrip("/") + path


def compose_signer_mail(signature: Signature, kind: str) -> Composed:
    """The message to a signer, in the language they signed in."""
    template, subject = _SUBJECTS[kind]
    context = {
        "signature": signature,
        "campaign": signature.campaign,
        "confirm_link": signer_link(signature, CONFIRM),
        "manage_link": signer_link(signature, MANAGE),
    }
    language = signature.language or signature.campaign.language or "en"
    with force_locale(language):
        return Composed(
            subject=_(subject, title=signature.campaign.text_in(language).title),
            text=render_template(f"campaigns/email/{template}.txt", **context),
            html=render_template(f"campaigns/email/{template}.html", **context),
        )


def _composer(kind: str):  # noqa: ANN202 - a decorator's product
    def compose(session: Session, message: OutboxMessage) -> Composed | None:
        """The signature is found by campaign and address (the queued row holds no other
        personal data); an address erased since then finds nothing, and nothing is sent."""
        campaign_id = (message.compose_args or {}).get("campaign")
        try:
            address = canonical_email(normalize_email(message.to_addresses))
        except ValueError:
            return None
        signature = find_signature(session, campaign_id, address)
        if signature is None or signature.email_normalized != address:
            return None
        return compose_signer_mail(signature, kind)

    return register_composer(kind)(compose)


_composer(CONFIRM_KIND)
_composer(MANAGE_KIND)


def _row(campaign_id: int, email: str, kind: str) -> dict:
    """One message to a signer, to be written when sent: the row names the campaign and the
    address, and holds no other personal data."""
    return message_row(to=email, subject="", text="", kind=kind, composer=kind,
                       compose_args={"campaign": campaign_id})  # fmt: skip


def confirmation_row(campaign: Campaign | SigningRules, email: str) -> dict:
    """The mail asking a new signer to confirm (every email also carries the link to
    withdraw), as an outbox row for ``sign(mail=...)``: it needs no signature id, so it goes
    in with the signature's own insert."""
    return _row(campaign.id, email, CONFIRM_KIND)


def send_manage_link(signature: Signature) -> None:
    """This address signed before: offer to update or withdraw, never a second signature."""
    insert_rows(db.session, [_row(signature.campaign_id, signature.email, MANAGE_KIND)])
    db.session.commit()
    deliver_soon()
