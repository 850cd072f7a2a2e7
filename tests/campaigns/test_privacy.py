"""Signers' data: erasure on request (CLI and admin page) and the purge after retention."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.campaigns.helpers import LINK_RE, make_campaign, path_of, sign
from tests.conftest import csrf_token, login, make_user
from toolkit.accounts.models import AuditEvent
from toolkit.campaigns.models import Campaign, Signature
from toolkit.campaigns.privacy import (
    PrivacyError,
    erase_signer,
    fingerprint,
    plan_erasure,
    purge_campaign,
)
from toolkit.campaigns.service import close_campaign, get_campaign
from toolkit.campaigns.signing import count_signatures
from toolkit.db import utcnow
from toolkit.extensions import db
from toolkit.mail.models import MessageStatus, OutboxMessage
from toolkit.mail.outbox import compose, queue_message, wait_for_deliveries

GONE = "This signature no longer exists."


# --- builders ----------------------------------------------------------------------------


def signer_links(app: Flask, address: str, slug: str) -> tuple[str, str]:
    """The confirm and manage paths from the mail a signer got about one campaign."""
    with app.app_context():
        for message in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)):
            compose(db.session, message)  # signers' mails are written when sent
            found = [path_of(link) for link in LINK_RE.findall(message.text_body)]
            found = [path for path in found if path.startswith(f"/campaigns/{slug}/")]
            if address.lower() in message.to_addresses.lower() and found:
                confirm = next(p for p in found if "/confirm/" in p)
                manage = next(p for p in found if "/manage/" in p)
                return confirm, manage
    raise AssertionError(f"no mail to {address} about {slug}")


def confirm_through_link(client: FlaskClient, path: str) -> None:
    token = csrf_token(client, path)
    assert client.post(path, data={"csrf_token": token}).status_code == 302


def setup_signers(app: Flask, client: FlaskClient) -> dict[str, tuple[str, str]]:
    """Amina signs two campaigns (confirmed), Bob one (confirmed), Chloé one (pending)."""
    make_campaign(app, "let-us-in")
    make_campaign(app, "second-letter")
    sign(client, "let-us-in", name="Amina Diallo", email="amina@example.org", country="SN")
    sign(client, "second-letter", name="Amina Diallo", email="Amina@Example.org", country="SN")
    sign(client, "let-us-in", name="Bob Okafor", email="bob@example.org", country="NG",
         organization="Paradigm")  # fmt: skip
    sign(client, "let-us-in", name="Chloé Martin", email="chloe@example.org", country="FR")
    wait_for_deliveries()
    links = {
        "amina-1": signer_links(app, "amina@example.org", "let-us-in"),
        "amina-2": signer_links(app, "amina@example.org", "second-letter"),
        "bob": signer_links(app, "bob@example.org", "let-us-in"),
    }
    for key in ("amina-1", "amina-2", "bob"):
        confirm_through_link(client, links[key][0])
    with app.app_context():
        # Mail that must survive: to someone else whose address contains hers, to her and
        # another person at once (only she is taken off), to a look-alike domain.
        for to in ("xamina@example.org", "amina@example.org.example.net", "bob@example.org"):
            queue_message(db.session, to=to, subject="Hello", text="t", kind="test")
        queue_message(db.session, to=["Amina Diallo <AMINA@example.org>", "dan@example.org"],
                      subject="Shared", text="t", kind="test")  # fmt: skip
        db.session.commit()
    return links


def counts(app: Flask) -> dict[str, int]:
    with app.app_context():
        return {
            slug: count_signatures(db.session, get_campaign(db.session, slug))
            for slug in ("let-us-in", "second-letter")
        }


def counts_by_country(app: Flask) -> list[tuple]:
    with app.app_context():
        query = (
            select(Signature.campaign_id, Signature.country, Signature.status, func.count())
            .group_by(Signature.campaign_id, Signature.country, Signature.status)
            .order_by(Signature.campaign_id, Signature.country, Signature.status)
        )
        return [tuple(row) for row in db.session.execute(query)]


def recipients(app: Flask) -> list[str]:
    with app.app_context():
        return sorted(db.session.scalars(select(OutboxMessage.to_addresses)))


def erase_events(app: Flask) -> list[AuditEvent]:
    with app.app_context():
        query = select(AuditEvent).where(AuditEvent.action == "signatures.erase")
        events = list(db.session.scalars(query.order_by(AuditEvent.id)))
        db.session.expunge_all()
        return events


def eml_paths(app: Flask, address: str) -> list[Path]:
    with app.app_context():
        messages = db.session.scalars(select(OutboxMessage))
        return [Path(m.eml_path) for m in messages if m.eml_path and address in m.to_addresses]


def assert_erased_everywhere(app: Flask, client: FlaskClient, links: dict, before: dict) -> None:
    """What every way of erasing Amina must leave behind."""
    assert counts(app) == before["counts"] == {"let-us-in": 2, "second-letter": 1}
    assert counts_by_country(app) == before["by_country"]
    with app.app_context():
        rows = list(db.session.scalars(select(Signature).order_by(Signature.id)))
        amina = [row for row in rows if row.erased_at is not None]
        assert len(amina) == 2 and {row.status for row in amina} == {"confirmed"}
        for row in amina:
            assert (row.name, row.email, row.email_normalized, row.email_domain) == ("", None,
                                                                                       None, "")  # fmt: skip
            assert (row.organization, row.role, row.city, row.ip, row.extra) == ("", "", "", "", {})
            assert row.list_publicly is False and row.receive_updates is False
            assert row.country == "SN" and row.confirmed_at is not None and row.source == "web"
        others = [row for row in rows if row.erased_at is None]
        assert sorted(row.email for row in others) == ["bob@example.org", "chloe@example.org"]
        assert all(row.name for row in others)
    assert recipients(app) == [
        "amina@example.org.example.net",
        "bob@example.org",
        "bob@example.org",  # Bob's own confirmation
        "chloe@example.org",
        "dan@example.org",  # the shared message, with only Amina taken off
        "xamina@example.org",
    ]
    assert not any(path.exists() for path in before["eml"])  # her .eml copies are gone too
    for confirm, manage in (links["amina-1"], links["amina-2"]):
        for path in (confirm, manage):
            page = client.get(path)
            assert page.status_code == 400 and GONE in page.get_data(as_text=True), path
            token = csrf_token(client, "/letters/delegation-request")  # any form of this session
            post = client.post(path, data={"csrf_token": token, "action": "withdraw"})
            assert post.status_code == 400 and GONE in post.get_data(as_text=True)
    assert client.get(links["bob"][1]).status_code == 200  # others' links still work
    (event,) = erase_events(app)
    assert event.details["signatures"] == 2
    assert event.details["campaigns"] == ["let-us-in", "second-letter"]
    assert event.details["messages_deleted"] == 2 and event.details["messages_redacted"] == 1
    assert event.details["fingerprint"] == fingerprint("amina@example.org")
    assert "amina" not in repr((event.details, event.actor, event.target_id, event.target_type))


def before_erasure(app: Flask) -> dict:
    paths = eml_paths(app, "amina@example.org")
    assert paths and all(path.exists() for path in paths)
    return {"counts": counts(app), "by_country": counts_by_country(app), "eml": paths}


# --- erasure -----------------------------------------------------------------------------


def test_erase_through_the_cli(app, client, runner):
    links = setup_signers(app, client)
    before = before_erasure(app)
    result = runner.invoke(args=["signatures", "erase", "--email", " AMINA@example.org ", "--yes"])
    assert result.exit_code == 0, result.output
    assert "Erased 2 signature(s) on 2 campaign(s) (let-us-in, second-letter)" in result.output
    assert "amina" not in result.output.lower()
    assert_erased_everywhere(app, client, links, before)


def test_the_cli_asks_first_and_stops_on_no(app, client, runner):
    links = setup_signers(app, client)
    before = before_erasure(app)
    result = runner.invoke(
        args=["signatures", "erase", "--email", "amina@example.org"], input="n\n"
    )
    assert result.exit_code == 1
    assert "2 signature(s) on 2 campaign(s) (let-us-in, second-letter)" in result.output
    assert "3 outbox message(s) would be erased" in result.output
    assert "Aborted" in result.output and erase_events(app) == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(Signature.erased_at.is_not(None))) == 0
    result = runner.invoke(
        args=["signatures", "erase", "--email", "amina@example.org"], input="y\n"
    )
    assert result.exit_code == 0, result.output
    assert_erased_everywhere(app, client, links, before)


def test_the_cli_refuses_an_invalid_address_in_one_line(app, runner):
    result = runner.invoke(args=["signatures", "erase", "--email", "not-an-address", "--yes"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.output.startswith("Error: This is not a usable email address:")
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert erase_events(app) == []


def test_erasing_an_address_that_signed_nothing_says_so_and_is_recorded(app, client, runner):
    setup_signers(app, client)
    before = counts(app)
    result = runner.invoke(args=["signatures", "erase", "--email", "nobody@example.org", "--yes"])
    assert result.exit_code == 0, result.output
    assert "Nothing to erase" in result.output
    assert counts(app) == before
    (event,) = erase_events(app)
    assert event.details["signatures"] == 0 and event.details["campaigns"] == []


def test_erasure_redacts_names_copied_into_the_audit_log(app, client):
    setup_signers(app, client)
    admin = make_user(app, "admin@example.org", "admin")
    with app.app_context():
        from toolkit.accounts.models import User
        from toolkit.campaigns.moderation import correct

        signature = db.session.scalar(select(Signature).where(Signature.name == "Amina Diallo"))
        correct(db.session, signature, db.session.get(User, admin), name="Amina Dialo",
                organization="Jonction")  # fmt: skip
        db.session.commit()
        report = erase_signer(db.session, "amina@example.org", db.session.get(User, admin))
        db.session.commit()
        assert report.audit_events_redacted == 1
        edits = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "signatures.edit"))
        assert all("Amina" not in repr(event.details) for event in edits)


def test_plan_and_erase_refuse_an_invalid_address(app):
    with app.app_context():
        for address in ("", "amina@", "two@@example.org"):
            with pytest.raises(PrivacyError):
                plan_erasure(db.session, address)
            with pytest.raises(PrivacyError):
                erase_signer(db.session, address, "test")


def test_mail_being_sent_is_left_and_reported(app, client):
    setup_signers(app, client)
    with app.app_context():
        message = queue_message(db.session, to="amina@example.org", subject="s", text="t")
        message.status = MessageStatus.SENDING.value
        message.next_attempt_at = utcnow() + timedelta(minutes=5)
        db.session.commit()
        report = erase_signer(db.session, "amina@example.org", "test")
        db.session.commit()
        assert report.messages_in_flight == 1 and report.signatures == 2


# --- the admin page ----------------------------------------------------------------------


def test_erase_through_the_admin_page(app, client):
    links = setup_signers(app, client)
    before = before_erasure(app)
    make_user(app, "admin@example.org", "admin")
    login(client, "admin@example.org")
    token = csrf_token(client, "/admin/privacy")

    bad = client.post("/admin/privacy/preview", data={"csrf_token": token, "email": "amina@"})
    assert bad.status_code == 422 and "not a usable email address" in bad.get_data(as_text=True)

    preview = client.post("/admin/privacy/preview",
                          data={"csrf_token": token, "email": "Amina@Example.org"})  # fmt: skip
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and preview.headers["Cache-Control"] == "no-store"
    assert "2 signature(s) on 2 campaign(s)" in page and "3 message(s)" in page
    assert "let-us-in" in page and "second-letter" in page
    assert 'action="/admin/privacy/erase"' in page and 'method="post"' in page
    assert counts_by_country(app) == before["by_country"] and erase_events(app) == []

    done = client.post(
        "/admin/privacy/erase", data={"csrf_token": token, "email": "Amina@Example.org"}
    )
    assert done.status_code == 302 and done.headers["Location"] == "/admin/privacy"
    result = client.get("/admin/privacy").get_data(as_text=True)
    assert "Erased: 2 signature(s) on 2 campaign(s)" in result and "amina" not in result.lower()
    assert_erased_everywhere(app, client, links, before)
    (event,) = erase_events(app)
    assert event.actor == "admin@example.org"


def test_the_admin_page_needs_the_csrf_token(app, client):
    setup_signers(app, client)
    make_user(app, "admin@example.org", "admin")
    login(client, "admin@example.org")
    response = client.post("/admin/privacy/erase", data={"email": "amina@example.org"})
    assert response.status_code == 400 and erase_events(app) == []


def test_only_admins_may_erase(app, client):
    setup_signers(app, client)
    make_user(app, "org@example.org", "organizer")
    anonymous = app.test_client()
    assert anonymous.get("/admin/privacy").status_code == 302
    token = csrf_token(anonymous, "/letters/delegation-request")
    for path in ("/admin/privacy/preview", "/admin/privacy/erase"):
        response = anonymous.post(path, data={"csrf_token": token, "email": "amina@example.org"})
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    login(client, "org@example.org")
    token = csrf_token(client, "/admin/")
    assert client.get("/admin/privacy").status_code == 403
    for path in ("/admin/privacy/preview", "/admin/privacy/erase"):
        response = client.post(path, data={"csrf_token": token, "email": "amina@example.org"})
        assert response.status_code == 403
    assert erase_events(app) == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(Signature.erased_at.is_not(None))) == 0


# --- purge after retention ---------------------------------------------------------------


def close(app: Flask, slug: str, days_ago: float) -> None:
    """Close a campaign as if it had closed some days ago."""
    with app.app_context():
        campaign = get_campaign(db.session, slug)
        close_campaign(campaign)
        campaign.closed_at = utcnow() - timedelta(days=days_ago)
        db.session.commit()


def emails_of(app: Flask, slug: str) -> list:
    with app.app_context():
        campaign = get_campaign(db.session, slug)
        query = select(Signature.email, Signature.ip).where(Signature.campaign_id == campaign.id)
        return sorted(db.session.execute(query).all(), key=repr)


def test_purge_is_refused_before_the_retention_date_and_says_when(app, client, runner):
    setup_signers(app, client)
    result = runner.invoke(args=["signatures", "purge", "--campaign", "let-us-in"])
    assert result.exit_code == 1 and "not closed" in result.output
    result = runner.invoke(args=["signatures", "purge", "--campaign", "no-such-thing"])
    assert result.exit_code == 1 and "no campaign 'no-such-thing'" in result.output
    close(app, "let-us-in", days_ago=10)
    with app.app_context():
        closed_at = get_campaign(db.session, "let-us-in").closed_at
    due = (closed_at.replace(tzinfo=None) + timedelta(days=365)).strftime("%Y-%m-%d %H:%M")
    result = runner.invoke(args=["signatures", "purge", "--campaign", "let-us-in"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"purged from {due} UTC" in result.output and "365 days" in result.output
    assert all(email for email, _ip in emails_of(app, "let-us-in"))
    with app.app_context():
        campaign = get_campaign(db.session, "let-us-in")
        limit = campaign.closed_at.replace(tzinfo=None) + timedelta(days=365)
        from datetime import UTC

        with pytest.raises(PrivacyError, match=due):
            purge_campaign(
                db.session, campaign, "test", now=(limit - timedelta(seconds=1)).replace(tzinfo=UTC)
            )
        report = purge_campaign(db.session, campaign, "test", now=limit.replace(tzinfo=UTC))
        db.session.commit()
        assert report.signatures == 3


def test_purge_after_retention_and_again(app, client, runner):
    links = setup_signers(app, client)
    before = counts(app)
    close(app, "let-us-in", days_ago=366)
    result = runner.invoke(args=["signatures", "purge", "--campaign", "let-us-in"])
    assert result.exit_code == 0, result.output
    assert "let-us-in: emails purged from 3 signature(s); 3 outbox message(s) deleted" in (
        result.output
    )
    assert emails_of(app, "let-us-in") == [(None, "")] * 3
    assert counts(app) == before
    with app.app_context():
        campaign = get_campaign(db.session, "let-us-in")
        assert campaign.emails_purged_at is not None
        names = db.session.scalars(
            select(Signature.name).where(Signature.campaign_id == campaign.id)
        )
        assert sorted(names) == ["Amina Diallo", "Bob Okafor", "Chloé Martin"]
        # Amina's mail about the other campaign, and mail not about signing, stay.
        kept = db.session.scalars(select(OutboxMessage.text_body)
                                  .where(OutboxMessage.kind.like("signature-%")))  # fmt: skip
        assert all("/campaigns/second-letter/" in body for body in kept)
        (event,) = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "signatures.purge")
        )
        assert event.details["signatures"] == 3 and "@" not in repr(event.details)
    for path in (*links["amina-1"], *links["bob"]):
        page = client.get(path)
        assert page.status_code == 400 and GONE in page.get_data(as_text=True)
    assert client.get(links["amina-2"][1]).status_code == 200  # the open campaign is untouched
    assert emails_of(app, "second-letter") != [(None, "")]

    again = runner.invoke(args=["signatures", "purge", "--campaign", "let-us-in"])
    assert again.exit_code == 0, again.output
    assert "emails purged from 0 signature(s); 0 outbox message(s)" in again.output
    with app.app_context():
        query = select(func.count()).where(AuditEvent.action == "signatures.purge")
        assert db.session.scalar(query) == 1


def test_purge_all_due_for_a_cron_job(app, client, runner):
    setup_signers(app, client)
    make_campaign(app, "short-keep", retention_days=30)
    close(app, "let-us-in", days_ago=10)  # within its 365 days
    close(app, "second-letter", days_ago=400)
    close(app, "short-keep", days_ago=31)
    result = runner.invoke(args=["signatures", "purge", "--all-due"])
    assert result.exit_code == 0, result.output
    assert "second-letter: emails purged from 1 signature(s)" in result.output
    assert "short-keep: emails purged from 0 signature(s)" in result.output
    assert "let-us-in" not in result.output
    assert all(email for email, _ip in emails_of(app, "let-us-in"))
    again = runner.invoke(args=["signatures", "purge", "--all-due"])
    assert again.exit_code == 0 and "No campaign is due" in again.output
    usage = runner.invoke(args=["signatures", "purge"])
    assert usage.exit_code == 2 and "--campaign SLUG or --all-due" in usage.output
    with app.app_context():
        purged = db.session.scalars(
            select(Campaign.slug).where(Campaign.emails_purged_at.is_not(None))
        )
        assert sorted(purged) == ["second-letter", "short-keep"]
