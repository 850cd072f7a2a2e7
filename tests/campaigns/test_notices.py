"""Signers' mails are queued by the signing request and written by the sender."""

from __future__ import annotations

from sqlalchemy import select

from tests.campaigns.helpers import make_campaign, sign
from tests.smtp import body_text, mail_config, smtp_server  # noqa: F401
from toolkit.campaigns.models import Signature
from toolkit.campaigns.privacy import erase_signer
from toolkit.extensions import db
from toolkit.mail.models import MessageStatus, OutboxMessage
from toolkit.mail.outbox import deliver_pending


def queued(app) -> list[OutboxMessage]:  # noqa: ANN001
    with app.app_context():
        messages = list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        db.session.expunge_all()
        return messages


def test_the_request_queues_a_row_and_the_sender_writes_it(app, client, smtp_server):  # noqa: F811
    app.config["MAIL_DELIVERY"] = "worker"  # nothing is sent until deliver_pending runs
    make_campaign(app)
    assert sign(client, name="Chloé Martin", email="chloe@example.org").status_code == 302
    [message] = queued(app)
    # The request stored who and which campaign, nothing more: no text, no link, no token.
    assert message.composer == "signature-confirm" and message.text_body == ""
    assert message.compose_args == {"campaign": message.compose_args["campaign"]}
    assert message.to_addresses == "chloe@example.org"

    mail_config(app, smtp_server)
    with app.app_context():
        report = deliver_pending(db.session, app.config)
    assert report.sent == 1
    [mail] = smtp_server.wait_for(1)
    text = body_text(mail)
    assert "Chloé Martin" in text and "/campaigns/let-us-in/confirm/" in text
    assert mail["Subject"].startswith("Please confirm your signature")
    [message] = queued(app)
    assert message.status == MessageStatus.SENT and "/confirm/" in message.text_body


def test_the_mail_is_written_in_the_language_signed_in(app, client, smtp_server):  # noqa: F811
    app.config["MAIL_DELIVERY"] = "worker"
    make_campaign(app)
    client.set_cookie("lang", "fr")
    assert sign(client, email="amina@example.org").status_code == 302
    mail_config(app, smtp_server)
    with app.app_context():
        deliver_pending(db.session, app.config)
    [mail] = smtp_server.wait_for(1)
    assert "Bonjour" in body_text(mail)


def test_an_address_erased_before_sending_gets_nothing(app, client, smtp_server):  # noqa: F811
    app.config["MAIL_DELIVERY"] = "worker"
    make_campaign(app)
    sign(client, email="amina@example.org")
    sign(client, email="bob@example.org", name="Bob Okafor")
    # Amina's queued row goes with her data; were it still there, the composer finds nobody.
    with app.app_context():
        signature = db.session.scalar(
            select(Signature).where(Signature.email_normalized == "amina@example.org")
        )
        signature.email_normalized = None
        signature.email = None
        db.session.commit()
    mail_config(app, smtp_server)
    with app.app_context():
        report = deliver_pending(db.session, app.config)
    assert (report.sent, report.failed) == (1, 1)
    [mail] = smtp_server.wait_for(1)
    assert mail["To"] == "bob@example.org"
    amina = next(m for m in queued(app) if "amina" in m.to_addresses)
    assert amina.status == MessageStatus.FAILED and "no longer exists" in amina.last_error
    assert amina.text_body == ""


def test_erasure_takes_the_queued_row_with_it(app, client):
    app.config["MAIL_DELIVERY"] = "worker"
    make_campaign(app)
    sign(client, email="amina@example.org")
    with app.app_context():
        erase_signer(db.session, "amina@example.org", "test")
        db.session.commit()
    assert not [m for m in queued(app) if "amina" in (m.to_addresses or "")]
